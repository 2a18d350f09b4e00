package twitchtest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestHelixAuthErrors(t *testing.T) {
	f, user, _, _ := setup(t)
	tests := []struct {
		name, auth, clientID, wantMsg string
	}{
		{"no token", "", f.ClientID, "OAuth token is missing"},
		{"OAuth scheme", "OAuth " + user.AccessToken, f.ClientID, "OAuth token is missing"},
		{"no client id", "Bearer " + user.AccessToken, "", "Client ID is missing"},
		{"unknown token", "Bearer nope", f.ClientID, "Invalid OAuth token"},
		{"refresh token", "Bearer " + user.RefreshToken, f.ClientID, "Invalid OAuth token"},
		{"other client", "Bearer " + user.AccessToken, "other", "Client ID and OAuth token do not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, f.APIURL+"/users", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.clientID != "" {
				req.Header.Set("Client-Id", tt.clientID)
			}
			resp, body := call(t, req)
			if resp.StatusCode != 401 || body["error"] != "Unauthorized" || body["status"] != 401.0 || body["message"] != tt.wantMsg {
				t.Errorf("= %d %v, want 401 %q", resp.StatusCode, body, tt.wantMsg)
			}
			if resp.Header.Get("Ratelimit-Limit") == "" || resp.Header.Get("Ratelimit-Reset") == "" {
				t.Errorf("no Ratelimit headers: %v", resp.Header)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	f, user, app, _ := setup(t)
	f.AddUser(twitchtest.User{ID: "42", Login: "viewer"})
	resp, body := helix(t, f, "GET", "/users", user.AccessToken, nil)
	data := body["data"].([]any)
	if resp.StatusCode != 200 || len(data) != 1 {
		t.Fatalf("users = %d %v", resp.StatusCode, body)
	}
	me := data[0].(map[string]any)
	if me["id"] != streamer.ID || me["login"] != streamer.Login || me["display_name"] != streamer.DisplayName ||
		me["email"] != streamer.Email || me["profile_image_url"] != streamer.ProfileImageURL {
		t.Errorf("me = %v", me)
	}
	if _, err := time.Parse(time.RFC3339, me["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}
	if resp.Header.Get("Ratelimit-Remaining") != "799" {
		t.Errorf("Ratelimit-Remaining = %q", resp.Header.Get("Ratelimit-Remaining"))
	}

	resp, body = helix(t, f, "GET", "/users?id=1337&login=viewer&login=nobody", app, nil)
	if data := body["data"].([]any); resp.StatusCode != 200 || len(data) != 2 || data[0].(map[string]any)["email"] != nil {
		t.Errorf("lookup with app token = %d %v, want two users without email", resp.StatusCode, body)
	}
	if resp, body := helix(t, f, "GET", "/users", app, nil); resp.StatusCode != 400 {
		t.Errorf("app token without id or login = %d %v", resp.StatusCode, body)
	}
}

func TestFollowersPagination(t *testing.T) {
	f, user, _, _ := setup(t)
	base := time.Date(2022, 5, 24, 22, 22, 8, 123456789, time.UTC)
	for i := range 45 {
		f.AddFollower(streamer.ID, twitchtest.User{ID: strconv.Itoa(100 + i), Login: fmt.Sprintf("fan%d", i)},
			base.Add(time.Duration(i)*time.Minute))
	}
	var got []string
	after, pages := "", 0
	for {
		resp, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337&first=20&after="+after, user.AccessToken, nil)
		if resp.StatusCode != 200 || body["total"] != 45.0 {
			t.Fatalf("page %d = %d %v", pages, resp.StatusCode, body)
		}
		pages++
		for _, d := range body["data"].([]any) {
			got = append(got, d.(map[string]any)["user_id"].(string))
			if d.(map[string]any)["user_login"] == "" || d.(map[string]any)["user_name"] == "" {
				t.Errorf("follower without login or name: %v", d)
			}
		}
		cursor, _ := body["pagination"].(map[string]any)["cursor"].(string)
		if cursor == "" {
			if len(body["pagination"].(map[string]any)) != 0 {
				t.Errorf("last pagination = %v, want {}", body["pagination"])
			}
			break
		}
		after = cursor
	}
	if pages != 3 || len(got) != 45 || got[0] != "144" || got[44] != "100" {
		t.Errorf("pages = %d, followers = %v, want 3 pages newest first", pages, got)
	}

	_, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337&first=1", user.AccessToken, nil)
	newest := body["data"].([]any)[0].(map[string]any)
	if newest["followed_at"] != "2022-05-24T23:06:08Z" {
		t.Errorf("followed_at = %v, want second precision", newest["followed_at"])
	}
	_, body = helix(t, f, "GET", "/channels/followers?broadcaster_id=1337", user.AccessToken, nil)
	if n := len(body["data"].([]any)); n != 20 {
		t.Errorf("default page = %d, want 20", n)
	}
	_, body = helix(t, f, "GET", "/channels/followers?broadcaster_id=1337&user_id=120", user.AccessToken, nil)
	if data := body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["user_id"] != "120" {
		t.Errorf("user_id=120 = %v", body)
	}
	for _, q := range []string{"first=0", "first=101", "first=x", "after=garbage!", ""} {
		path := "/channels/followers?broadcaster_id=1337&" + q
		if q == "" {
			path = "/channels/followers"
		}
		if resp, body := helix(t, f, "GET", path, user.AccessToken, nil); resp.StatusCode != 400 || body["error"] != "Bad Request" {
			t.Errorf("%s = %d %v, want 400", path, resp.StatusCode, body)
		}
	}
}

// Without the broadcaster's own token and scope, Twitch answers 200 with the total only; asking
// about one user_id that way is refused.
func TestFollowersPermissions(t *testing.T) {
	f, _, app, _ := setup(t)
	other := twitchtest.User{ID: "7", Login: "other"}
	f.AddUser(other)
	noScope := login(t, f, streamer.ID, "user:read:email")
	otherTok := login(t, f, other.ID, "moderator:read:followers")
	f.AddFollower(streamer.ID, twitchtest.User{ID: "9", Login: "fan"}, time.Now())

	for name, tok := range map[string]string{"no scope": noScope.AccessToken, "other user": otherTok.AccessToken, "app": app} {
		resp, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337", tok, nil)
		if resp.StatusCode != 200 || body["total"] != 1.0 || len(body["data"].([]any)) != 0 {
			t.Errorf("%s = %d %v, want total only", name, resp.StatusCode, body)
		}
	}
	resp, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337&user_id=9", noScope.AccessToken, nil)
	if resp.StatusCode != 401 || body["message"] != "Missing scope: moderator:read:followers" {
		t.Errorf("user_id without scope = %d %v", resp.StatusCode, body)
	}
	if resp, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337&user_id=9", otherTok.AccessToken, nil); resp.StatusCode != 403 {
		t.Errorf("user_id on another channel = %d %v", resp.StatusCode, body)
	}
}

func TestRateLimit(t *testing.T) {
	f, user, _, _ := setup(t)
	f.RateLimitNext(2, 3*time.Second)
	for i := range 2 {
		resp, body := helix(t, f, "GET", "/users", user.AccessToken, nil)
		reset, _ := strconv.ParseInt(resp.Header.Get("Ratelimit-Reset"), 10, 64)
		wait := time.Until(time.Unix(reset, 0))
		if resp.StatusCode != 429 || body["error"] != "Too Many Requests" || resp.Header.Get("Ratelimit-Limit") != "800" ||
			resp.Header.Get("Ratelimit-Remaining") != "0" || wait < 2*time.Second || wait > 4*time.Second {
			t.Errorf("call %d = %d %v %v", i, resp.StatusCode, body, resp.Header)
		}
	}
	if resp, _ := helix(t, f, "GET", "/users", user.AccessToken, nil); resp.StatusCode != 200 {
		t.Errorf("after the limited calls = %d", resp.StatusCode)
	}
}

// Run with -race: the fake's state is shared by the server, callbacks and the test.
func TestConcurrentUse(t *testing.T) {
	f, user, app, cb := setup(t)
	subscribe(t, f, app, followSub(cb.URL, cb.secret))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			fan := twitchtest.User{ID: strconv.Itoa(1000 + i), Login: "fan" + strconv.Itoa(i)}
			if status, err := f.SendFollow(t.Context(), streamer.ID, fan); err != nil || status != 204 {
				t.Errorf("SendFollow = %d %v", status, err)
			}
			helix(t, f, "GET", "/channels/followers?broadcaster_id=1337", user.AccessToken, nil)
			f.Subscriptions()
			f.Requests()
		})
	}
	wg.Wait()
	if _, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337", user.AccessToken, nil); body["total"] != 20.0 {
		t.Errorf("total = %v, want 20", body["total"])
	}
	if n := len(cb.received()); n != 21 {
		t.Errorf("callback got %d messages, want the challenge and 20 follows", n)
	}
}

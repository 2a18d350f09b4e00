package twitch

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetUser(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter)
		want    User
		wantErr error // errAny: some error that is none of the sentinels
	}{
		{name: "ok", handle: func(w http.ResponseWriter) { writeJSON(w, 200, userJSON()) },
			want: User{ID: "1337", Login: "streamer", DisplayName: "Streamer", ProfileImageURL: "https://static-cdn.jtvnw.net/p.png", Email: "s@example.com"}},
		{name: "expired token", wantErr: ErrUnauthorized, handle: func(w http.ResponseWriter) {
			helixError(w, 401, "Invalid OAuth token "+userToken)
		}},
		{name: "no user", wantErr: errAny, handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"data": []any{}})
		}},
		{name: "garbage", wantErr: errAny, handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"data": "nope"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodGet, "/helix/users")
				if helixAuth(t, w, r, userToken) {
					tt.handle(w)
				}
			}))
			got, err := h.c.GetUser(context.Background(), userToken)
			checkErr(t, err, tt.wantErr, userToken)
			if got != tt.want {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// errAny stands for "an error, but none of the sentinels" in test tables.
var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error, secrets ...string) {
	t.Helper()
	assertNoSecrets(t, err, secrets...)
	switch {
	case want == nil && err != nil:
		t.Fatalf("err = %v", err)
	case want == errAny && err == nil:
		t.Fatal("no error")
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestFollowers(t *testing.T) {
	at := time.Date(2026, 2, 28, 22, 22, 8, 0, time.UTC)
	tests := []struct {
		name      string
		first     int
		after     string
		wantQuery string
		handle    func(w http.ResponseWriter)
		want      FollowersPage
		wantErr   error
	}{
		{name: "a middle page", first: 2, after: "c1", wantQuery: "after=c1&broadcaster_id=1337&first=2",
			handle: func(w http.ResponseWriter) {
				writeJSON(w, 200, map[string]any{"total": 8, "data": []map[string]string{
					{"user_id": "11", "user_login": "new_fan", "user_name": "New_Fan", "followed_at": "2026-02-28T22:22:08Z"},
					{"user_id": "12", "user_login": "old_fan", "user_name": "Old_Fan", "followed_at": "2026-02-28T22:22:08Z"},
				}, "pagination": map[string]string{"cursor": "c2"}})
			},
			want: FollowersPage{Total: 8, Cursor: "c2", Followers: []Follower{
				{UserID: "11", UserLogin: "new_fan", UserName: "New_Fan", FollowedAt: at},
				{UserID: "12", UserLogin: "old_fan", UserName: "Old_Fan", FollowedAt: at},
			}}},
		{name: "last page with default size", wantQuery: "broadcaster_id=1337",
			handle: func(w http.ResponseWriter) {
				writeJSON(w, 200, map[string]any{"total": 1, "data": []map[string]string{
					{"user_id": "11", "user_login": "new_fan", "user_name": "New_Fan", "followed_at": "2026-02-28T22:22:08Z"},
				}, "pagination": map[string]string{}})
			},
			want: FollowersPage{Total: 1, Followers: []Follower{{UserID: "11", UserLogin: "new_fan", UserName: "New_Fan", FollowedAt: at}}}},
		{name: "total only (not a moderator)", first: 100, wantQuery: "broadcaster_id=1337&first=100",
			handle: func(w http.ResponseWriter) {
				writeJSON(w, 200, map[string]any{"total": 42, "data": []any{}, "pagination": map[string]string{}})
			},
			want: FollowersPage{Total: 42, Followers: []Follower{}}},
		{name: "expired token", wantQuery: "broadcaster_id=1337", wantErr: ErrUnauthorized,
			handle: func(w http.ResponseWriter) { helixError(w, 401, "Invalid OAuth token") }},
		{name: "missing scope", wantQuery: "broadcaster_id=1337", wantErr: ErrForbidden,
			handle: func(w http.ResponseWriter) { helixError(w, 403, "Missing scope: moderator:read:followers") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodGet, "/helix/channels/followers")
				if r.URL.RawQuery != tt.wantQuery {
					t.Errorf("query = %q, want %q", r.URL.RawQuery, tt.wantQuery)
				}
				if helixAuth(t, w, r, userToken) {
					tt.handle(w)
				}
			}))
			got, err := h.c.Followers(context.Background(), userToken, "1337", tt.first, tt.after)
			checkErr(t, err, tt.wantErr, userToken)
			if !equalPages(got, tt.want) {
				t.Errorf("page = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func equalPages(a, b FollowersPage) bool {
	if a.Total != b.Total || a.Cursor != b.Cursor || len(a.Followers) != len(b.Followers) {
		return false
	}
	for i := range a.Followers {
		x, y := a.Followers[i], b.Followers[i]
		if x.UserID != y.UserID || x.UserLogin != y.UserLogin || x.UserName != y.UserName || !x.FollowedAt.Equal(y.FollowedAt) {
			return false
		}
	}
	return true
}

func TestFollowersRejectsBadInputLocally(t *testing.T) {
	var requests atomic.Int32
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	for _, tt := range []struct {
		broadcaster string
		first       int
	}{{"", 20}, {"1337", -1}, {"1337", 101}} {
		if _, err := h.c.Followers(context.Background(), userToken, tt.broadcaster, tt.first, ""); err == nil {
			t.Errorf("Followers(%q, %d) succeeded", tt.broadcaster, tt.first)
		}
	}
	if requests.Load() != 0 {
		t.Errorf("%d requests reached Twitch", requests.Load())
	}
}

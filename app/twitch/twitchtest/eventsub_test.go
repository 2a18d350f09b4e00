package twitchtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestCreateSubscriptionVerifiesCallback(t *testing.T) {
	f, _, app, cb := setup(t)
	resp, body := helix(t, f, "POST", "/eventsub/subscriptions", app, followSub(cb.URL, cb.secret))
	if resp.StatusCode != 202 || body["total"] != 1.0 || body["total_cost"] != 0.0 || body["max_total_cost"] != 10000.0 {
		t.Fatalf("create = %d %v", resp.StatusCode, body)
	}
	sub := body["data"].([]any)[0].(map[string]any)
	transport := sub["transport"].(map[string]any)
	if sub["status"] != "webhook_callback_verification_pending" || sub["type"] != "channel.follow" || sub["version"] != "2" ||
		transport["callback"] != cb.URL || transport["method"] != "webhook" || transport["secret"] != nil || sub["cost"] != 0.0 {
		t.Errorf("created subscription = %v", sub)
	}
	if _, err := time.Parse(time.RFC3339Nano, sub["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}

	s, err := f.AwaitVerification(t.Context(), sub["id"].(string))
	if err != nil || s.Status != twitchtest.StatusEnabled || s.Secret != cb.secret {
		t.Fatalf("after verification: %+v %v", s, err)
	}
	msgs := cb.received()
	if len(msgs) != 1 {
		t.Fatalf("callback got %d messages", len(msgs))
	}
	h := msgs[0].Header
	if h.Get(eventsub.HeaderMessageType) != "webhook_callback_verification" || h.Get(eventsub.HeaderMessageRetry) != "0" ||
		h.Get(eventsub.HeaderSubscriptionType) != "channel.follow" || h.Get(eventsub.HeaderSubscriptionVersion) != "2" ||
		msgs[0].Msg.Subscription.Status != twitchtest.StatusPending || strings.Contains(string(msgs[0].Body), cb.secret) {
		t.Errorf("challenge = %v %s", h, msgs[0].Body)
	}
	if d := f.Deliveries(); len(d) != 1 || d[0].Status != 200 || d[0].ContentType != "text/plain" {
		t.Errorf("deliveries = %+v", d)
	}
}

func TestVerificationFails(t *testing.T) {
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, string, *eventsub.Message)
	}{
		{"wrong body", func(w http.ResponseWriter, _ string, m *eventsub.Message) { io.WriteString(w, m.Challenge+"\n") }},
		{"json body", func(w http.ResponseWriter, _ string, m *eventsub.Message) { json.NewEncoder(w).Encode(m.Challenge) }},
		{"500 with challenge", func(w http.ResponseWriter, _ string, m *eventsub.Message) {
			w.WriteHeader(500)
			io.WriteString(w, m.Challenge)
		}},
		{"redirect", func(w http.ResponseWriter, _ string, m *eventsub.Message) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusFound)
			io.WriteString(w, m.Challenge)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, app, _ := setup(t)
			cb := newCallback(t, "s3cre7-s3cre7-s3cre7", tt.answer)
			if s := subscribe(t, f, app, followSub(cb.URL, cb.secret)); s.Status != twitchtest.StatusVerificationFailed {
				t.Errorf("status = %s", s.Status)
			}
			// A failed subscription does not block a new attempt.
			good := newCallback(t, "s3cre7-s3cre7-s3cre7", echo)
			if s := subscribe(t, f, app, followSub(good.URL, good.secret)); s.Status != twitchtest.StatusEnabled {
				t.Errorf("second attempt = %s", s.Status)
			}
		})
	}
}

func TestCreateSubscriptionErrors(t *testing.T) {
	f, user, app, cb := setup(t)
	subscribe(t, f, app, followSub(cb.URL, cb.secret))
	edit := func(change func(*subRequest)) subRequest {
		r := followSub(cb.URL, cb.secret)
		r.Condition = map[string]string{"broadcaster_user_id": "1337", "moderator_user_id": "1337"}
		r.Transport = map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}
		change(&r)
		return r
	}
	tests := []struct {
		name       string
		token      string
		req        subRequest
		wantStatus int
		wantMsg    string
	}{
		{"duplicate", app, edit(func(*subRequest) {}), 409, "subscription already exists"},
		{"user token", user.AccessToken, edit(func(*subRequest) {}), 400, "auth must use app access token to create webhook subscription"},
		{"missing scope", app, edit(func(r *subRequest) {
			r.Type = "channel.cheer"
			r.Version = "1"
			delete(r.Condition, "moderator_user_id")
		}), 403, "subscription missing proper authorization"},
		{"moderator not broadcaster", app, edit(func(r *subRequest) { r.Condition["moderator_user_id"] = "7" }), 403, ""},
		{"shoutout moderator not broadcaster", app, edit(func(r *subRequest) {
			r.Type, r.Version = "channel.shoutout.receive", "1"
			r.Condition["moderator_user_id"] = "7"
		}), 403, ""},
		{"shoutout missing moderator", app, edit(func(r *subRequest) {
			r.Type, r.Version = "channel.shoutout.receive", "1"
			delete(r.Condition, "moderator_user_id")
		}), 400, ""},
		{"follow v1", app, edit(func(r *subRequest) { r.Version = "1" }), 400, ""},
		{"unknown type", app, edit(func(r *subRequest) { r.Type = "channel.unfollow" }), 400, ""},
		{"missing moderator", app, edit(func(r *subRequest) { delete(r.Condition, "moderator_user_id") }), 400, ""},
		{"unknown condition field", app, edit(func(r *subRequest) { r.Condition["user_id"] = "1337" }), 400, ""},
		{"websocket", app, edit(func(r *subRequest) { r.Transport["method"] = "websocket" }), 400, "invalid transport and auth combination"},
		{"callback not http", app, edit(func(r *subRequest) { r.Transport["callback"] = "ftp://example.com/cb" }), 400, ""},
		{"short secret", app, edit(func(r *subRequest) { r.Transport["secret"] = "123456789" }), 400, ""},
		{"long secret", app, edit(func(r *subRequest) { r.Transport["secret"] = strings.Repeat("x", 101) }), 400, ""},
		{"raid with both", app, subRequest{Type: "channel.raid", Version: "1", Transport: edit(func(*subRequest) {}).Transport,
			Condition: map[string]string{"from_broadcaster_user_id": "1", "to_broadcaster_user_id": "2"}}, 400, ""},
		{"revoke other client", app, subRequest{Type: "user.authorization.revoke", Version: "1", Transport: edit(func(*subRequest) {}).Transport,
			Condition: map[string]string{"client_id": "other"}}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := helix(t, f, "POST", "/eventsub/subscriptions", tt.token, tt.req)
			if resp.StatusCode != tt.wantStatus || body["status"] != float64(tt.wantStatus) ||
				body["error"] != http.StatusText(tt.wantStatus) || (tt.wantMsg != "" && body["message"] != tt.wantMsg) {
				t.Errorf("= %d %v, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantMsg)
			}
		})
	}
	if n := len(f.Subscriptions()); n != 1 {
		t.Errorf("%d subscriptions, want 1", n)
	}
}

func TestListAndDeleteSubscriptions(t *testing.T) {
	f, user, app, cb := setup(t)
	follow := subscribe(t, f, app, followSub(cb.URL, cb.secret))
	var online []twitchtest.Subscription
	for _, id := range []string{"1", "2", "3", "1337"} {
		online = append(online, subscribe(t, f, app, subRequest{Type: "stream.online", Version: "1",
			Condition: map[string]string{"broadcaster_user_id": id},
			Transport: map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}}))
	}
	bad := newCallback(t, "s3cre7-s3cre7-s3cre7", func(w http.ResponseWriter, _ string, _ *eventsub.Message) {})
	failed := subscribe(t, f, app, subRequest{Type: "stream.offline", Version: "1", Condition: map[string]string{"broadcaster_user_id": "1"},
		Transport: map[string]string{"method": "webhook", "callback": bad.URL, "secret": bad.secret}})

	ids := func(body map[string]any) []string {
		var out []string
		for _, d := range body["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{follow.ID, online[0].ID, online[1].ID, online[2].ID, online[3].ID, failed.ID}},
		{"status=webhook_callback_verification_failed", []string{failed.ID}},
		{"type=stream.online", []string{online[0].ID, online[1].ID, online[2].ID, online[3].ID}},
		{"user_id=1337", []string{follow.ID, online[3].ID}},
		{"subscription_id=" + online[1].ID, []string{online[1].ID}},
	}
	for _, tt := range tests {
		resp, body := helix(t, f, "GET", "/eventsub/subscriptions?"+tt.query, app, nil)
		if got := ids(body); resp.StatusCode != 200 || strings.Join(got, ",") != strings.Join(tt.want, ",") ||
			body["total"] != 6.0 || body["total_cost"] != 3.0 || len(body["pagination"].(map[string]any)) != 0 {
			t.Errorf("?%s = %d %v, want %v", tt.query, resp.StatusCode, body, tt.want)
		}
		if strings.Contains(toJSON(body), cb.secret) {
			t.Errorf("?%s shows the secret", tt.query)
		}
	}

	var paged []string
	for after := ""; ; {
		_, body := helix(t, f, "GET", "/eventsub/subscriptions?first=4&after="+after, app, nil)
		paged = append(paged, ids(body)...)
		after, _ = body["pagination"].(map[string]any)["cursor"].(string)
		if after == "" {
			break
		}
	}
	if len(paged) != 6 || paged[5] != failed.ID {
		t.Errorf("pages = %v", paged)
	}
	for _, q := range []string{"status=enabled&type=stream.online", "status=bogus", "first=0", "after=bm9wZQ"} {
		if resp, body := helix(t, f, "GET", "/eventsub/subscriptions?"+q, app, nil); resp.StatusCode != 400 {
			t.Errorf("?%s = %d %v, want 400", q, resp.StatusCode, body)
		}
	}
	// A user token lists the websocket subscriptions it made: never the app's webhooks.
	if resp, body := helix(t, f, "GET", "/eventsub/subscriptions", user.AccessToken, nil); resp.StatusCode != 200 || len(body["data"].([]any)) != 0 {
		t.Errorf("list with a user token = %d %v, want 200 without webhook subscriptions", resp.StatusCode, body)
	}

	if resp, _ := helix(t, f, "DELETE", "/eventsub/subscriptions?id="+online[0].ID, app, nil); resp.StatusCode != 204 {
		t.Errorf("delete = %d", resp.StatusCode)
	}
	if resp, body := helix(t, f, "DELETE", "/eventsub/subscriptions?id="+online[0].ID, app, nil); resp.StatusCode != 404 || body["error"] != "Not Found" {
		t.Errorf("delete again = %d %v", resp.StatusCode, body)
	}
	if resp, _ := helix(t, f, "DELETE", "/eventsub/subscriptions", app, nil); resp.StatusCode != 400 {
		t.Errorf("delete without id = %d", resp.StatusCode)
	}
	if n := len(f.Subscriptions()); n != 5 {
		t.Errorf("%d subscriptions after delete, want 5", n)
	}
}

func toJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// Twitch lists a condition with every key of its type, "" for those not set, and takes "" as
// unset: the same subscription asked for with or without the empty keys is a duplicate.
func TestConditionListsEveryKey(t *testing.T) {
	f, _, app, cb := setup(t)
	login(t, f, streamer.ID, "moderator:read:followers channel:read:redemptions")
	transport := map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}
	raid := subscribe(t, f, app, subRequest{Type: "channel.raid", Version: "1",
		Condition: map[string]string{"to_broadcaster_user_id": streamer.ID}, Transport: transport})
	points := subscribe(t, f, app, subRequest{Type: "channel.channel_points_custom_reward_redemption.add", Version: "1",
		Condition: map[string]string{"broadcaster_user_id": streamer.ID}, Transport: transport})
	want := map[string]map[string]any{
		raid.ID:   {"from_broadcaster_user_id": "", "to_broadcaster_user_id": streamer.ID},
		points.ID: {"broadcaster_user_id": streamer.ID, "reward_id": ""},
	}
	_, body := helix(t, f, "GET", "/eventsub/subscriptions", app, nil)
	for _, d := range body["data"].([]any) {
		sub := d.(map[string]any)
		if got := sub["condition"].(map[string]any); toJSON(got) != toJSON(want[sub["id"].(string)]) {
			t.Errorf("%s listed with condition %v, want %v", sub["type"], got, want[sub["id"].(string)])
		}
	}
	for _, m := range cb.received() { // the challenges show the subscription the same way
		if got := toJSON(m.Msg.Subscription.Condition); got != toJSON(want[m.Msg.Subscription.ID]) {
			t.Errorf("challenge of %s: condition %s", m.Msg.Subscription.Type, got)
		}
	}

	for _, req := range []subRequest{
		{Type: "channel.raid", Version: "1", Transport: transport,
			Condition: map[string]string{"from_broadcaster_user_id": "", "to_broadcaster_user_id": streamer.ID}},
		{Type: "channel.channel_points_custom_reward_redemption.add", Version: "1", Transport: transport,
			Condition: map[string]string{"broadcaster_user_id": streamer.ID, "reward_id": ""}},
	} {
		if resp, body := helix(t, f, "POST", "/eventsub/subscriptions", app, req); resp.StatusCode != 409 {
			t.Errorf("%s again with the empty keys = %d %v, want 409", req.Type, resp.StatusCode, body)
		}
	}
}

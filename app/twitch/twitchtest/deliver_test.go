package twitchtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSendFollow(t *testing.T) {
	f, user, app, cb := setup(t)
	fan := twitchtest.User{ID: "1234", Login: "cool_user", DisplayName: "Cool_User"}
	if _, err := f.SendFollow(t.Context(), streamer.ID, fan); err == nil {
		t.Error("SendFollow without a subscription succeeded")
	}
	sub := subscribe(t, f, app, followSub(cb.URL, cb.secret))

	status, err := f.SendFollow(t.Context(), streamer.ID, fan)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("SendFollow = %d %v", status, err)
	}
	msgs := cb.received()
	got := msgs[len(msgs)-1]
	h := got.Header
	if err := eventsub.Verify(cb.secret, h, got.Body, time.Now()); err != nil {
		t.Errorf("signature: %v", err)
	}
	ts, err := time.Parse(time.RFC3339Nano, h.Get(eventsub.HeaderMessageTimestamp))
	if h.Get(eventsub.HeaderMessageType) != "notification" || !uuid.MatchString(h.Get(eventsub.HeaderMessageID)) ||
		h.Get(eventsub.HeaderMessageRetry) != "0" || h.Get(eventsub.HeaderSubscriptionType) != "channel.follow" ||
		h.Get(eventsub.HeaderSubscriptionVersion) != "2" || err != nil || ts.Location() != time.UTC {
		t.Errorf("headers = %v", h)
	}
	if got.Msg.Subscription.ID != sub.ID || got.Msg.Subscription.Status != "enabled" || got.Msg.Subscription.Transport.Secret != "" {
		t.Errorf("subscription = %+v", got.Msg.Subscription)
	}
	var event map[string]string
	if err := json.Unmarshal(got.Msg.Event, &event); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range event {
			yield(k)
		}
	})
	wantKeys := []string{"broadcaster_user_id", "broadcaster_user_login", "broadcaster_user_name", "followed_at",
		"user_id", "user_login", "user_name"}
	if !slices.Equal(keys, wantKeys) || event["user_id"] != "1234" || event["user_login"] != "cool_user" ||
		event["user_name"] != "Cool_User" || event["broadcaster_user_login"] != "cooler_user" {
		t.Errorf("event = %v", event)
	}
	if facts, err := eventsub.Describe(got.Msg.Subscription, got.Msg.Event); err != nil || facts.UserID != "1234" {
		t.Errorf("Describe = %+v %v", facts, err)
	}

	_, body := helix(t, f, "GET", "/channels/followers?broadcaster_id=1337", user.AccessToken, nil)
	if data := body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["user_id"] != "1234" {
		t.Errorf("followers after SendFollow = %v", body)
	}

	id := h.Get(eventsub.HeaderMessageID)
	if status, err := f.Resend(t.Context(), id); err != nil || status != http.StatusNoContent {
		t.Fatalf("Resend = %d %v", status, err)
	}
	msgs = cb.received()
	again := msgs[len(msgs)-1]
	if again.Header.Get(eventsub.HeaderMessageID) != id || again.Header.Get(eventsub.HeaderMessageRetry) != "1" ||
		string(again.Body) != string(got.Body) {
		t.Errorf("resent = %v %s", again.Header, again.Body)
	}
	if _, err := f.Resend(t.Context(), "no-such-message"); err == nil {
		t.Error("Resend of an unknown message succeeded")
	}
}

func TestRevokeSubscription(t *testing.T) {
	f, _, app, cb := setup(t)
	sub := subscribe(t, f, app, followSub(cb.URL, cb.secret))
	status, err := f.Revoke(t.Context(), sub.ID, "user_removed")
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("Revoke = %d %v", status, err)
	}
	msgs := cb.received()
	last := msgs[len(msgs)-1]
	if last.Header.Get(eventsub.HeaderMessageType) != "revocation" || last.Msg.Subscription.Status != "user_removed" ||
		len(last.Msg.Event) != 0 {
		t.Errorf("revocation = %v %s", last.Header, last.Body)
	}
	if s := f.Subscriptions(); len(s) != 1 || s[0].Status != "user_removed" {
		t.Errorf("subscriptions = %+v", s)
	}
	if _, err := f.SendFollow(t.Context(), streamer.ID, twitchtest.User{ID: "9", Login: "fan"}); err == nil {
		t.Error("SendFollow to a revoked subscription succeeded")
	}
	// A revoked subscription does not block subscribing again.
	if s := subscribe(t, f, app, followSub(cb.URL, cb.secret)); s.Status != twitchtest.StatusEnabled {
		t.Errorf("resubscribe = %s", s.Status)
	}
}

// A subscription revoked with authorization_revoked means its user took back the app's
// access: creating it again is refused, as Twitch does, until they authorize the app again.
func TestRevokeAuthorizationRevoked(t *testing.T) {
	f, user, app, cb := setup(t)
	sub := subscribe(t, f, app, followSub(cb.URL, cb.secret))
	if status, err := f.Revoke(t.Context(), sub.ID, "authorization_revoked"); err != nil || status != http.StatusNoContent {
		t.Fatalf("Revoke = %d %v", status, err)
	}
	resp, body := helix(t, f, "POST", "/eventsub/subscriptions", app, followSub(cb.URL, cb.secret))
	if resp.StatusCode != 403 || body["message"] != "subscription missing proper authorization" {
		t.Errorf("subscribe after the revocation = %d %v, want 403", resp.StatusCode, body)
	}
	if status, _ := validate(t, f, "OAuth", user.AccessToken); status != 401 {
		t.Errorf("validate after the revocation = %d, want 401", status)
	}
	login(t, f, streamer.ID, "moderator:read:followers")
	if s := subscribe(t, f, app, followSub(cb.URL, cb.secret)); s.Status != twitchtest.StatusEnabled {
		t.Errorf("subscribe after authorizing again = %s", s.Status)
	}
}

func TestSendAuthorizationRevoke(t *testing.T) {
	f, user, app, cb := setup(t)
	follow := subscribe(t, f, app, followSub(cb.URL, cb.secret))
	online := subscribe(t, f, app, subRequest{Type: "stream.online", Version: "1",
		Condition: map[string]string{"broadcaster_user_id": streamer.ID},
		Transport: map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}})
	if _, err := f.SendAuthorizationRevoke(t.Context(), streamer.ID); err == nil {
		t.Error("SendAuthorizationRevoke without a user.authorization.revoke subscription succeeded")
	}
	revokeSub := subscribe(t, f, app, subRequest{Type: "user.authorization.revoke", Version: "1",
		Condition: map[string]string{"client_id": f.ClientID},
		Transport: map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}})
	if revokeSub.Status != twitchtest.StatusEnabled {
		t.Fatalf("user.authorization.revoke subscription = %s", revokeSub.Status)
	}
	before := len(cb.received())

	status, err := f.SendAuthorizationRevoke(t.Context(), streamer.ID)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("SendAuthorizationRevoke = %d %v", status, err)
	}
	msgs := cb.received()[before:]
	if len(msgs) != 2 {
		t.Fatalf("callback got %d messages, want a notification and a revocation", len(msgs))
	}
	var event map[string]string
	_ = json.Unmarshal(msgs[0].Msg.Event, &event)
	if msgs[0].Header.Get(eventsub.HeaderSubscriptionType) != "user.authorization.revoke" ||
		event["client_id"] != f.ClientID || event["user_id"] != streamer.ID || event["user_login"] != streamer.Login {
		t.Errorf("notification = %s", msgs[0].Body)
	}
	if msgs[1].Header.Get(eventsub.HeaderMessageType) != "revocation" || msgs[1].Msg.Subscription.ID != follow.ID ||
		msgs[1].Msg.Subscription.Status != "authorization_revoked" {
		t.Errorf("revocation = %s", msgs[1].Body)
	}
	for _, s := range f.Subscriptions() {
		if s.ID == online.ID && s.Status != twitchtest.StatusEnabled {
			t.Errorf("stream.online needs no authorization but is %s", s.Status)
		}
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {user.RefreshToken}}
	if status, _ := postToken(t, f, refresh, true); status != 400 {
		t.Errorf("refresh after the revoke = %d, want 400", status)
	}
	if status, _ := validate(t, f, "OAuth", user.AccessToken); status != 401 {
		t.Errorf("validate after the revoke = %d, want 401", status)
	}
	resp, body := helix(t, f, "POST", "/eventsub/subscriptions", app, followSub(cb.URL, cb.secret))
	if resp.StatusCode != 403 {
		t.Errorf("subscribe after the revoke = %d %v, want 403", resp.StatusCode, body)
	}
}

func TestSendEvent(t *testing.T) {
	f, _, app, cb := setup(t)
	login(t, f, streamer.ID, "bits:read")
	sub := subscribe(t, f, app, subRequest{Type: "channel.cheer", Version: "1",
		Condition: map[string]string{"broadcaster_user_id": streamer.ID},
		Transport: map[string]string{"method": "webhook", "callback": cb.URL, "secret": cb.secret}})
	if sub.Cost != 0 {
		t.Errorf("cost of an authorized subscription = %d", sub.Cost)
	}
	event := map[string]any{"is_anonymous": true, "user_id": nil, "broadcaster_user_id": streamer.ID, "bits": 100, "message": "hi"}
	if status, err := f.SendEvent(t.Context(), sub.ID, event); err != nil || status != http.StatusNoContent {
		t.Fatalf("SendEvent = %d %v", status, err)
	}
	msgs := cb.received()
	if last := msgs[len(msgs)-1]; last.Header.Get(eventsub.HeaderSubscriptionType) != "channel.cheer" {
		t.Errorf("cheer = %v", last.Header)
	}
}

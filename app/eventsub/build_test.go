package eventsub_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// Every sample is a valid, signed notification of its type, with the app's condition for it
// and the fields Twitch documents.
func TestNewSampleEveryKind(t *testing.T) {
	const secret = "sample-secret-0123456789"
	now := time.Now()
	b := eventsub.Follower{ID: "1337", Login: "streamer", Name: "Streamer"}
	u := eventsub.Follower{ID: "42", Login: "viewer", Name: "Viewer"}
	fields := map[string][]string{
		eventsub.ChannelFollow:            {"user_id", "broadcaster_user_id", "followed_at"},
		eventsub.ChannelSubscribe:         {"user_id", "broadcaster_user_id", "tier", "is_gift"},
		eventsub.ChannelSubscriptionGift:  {"user_id", "broadcaster_user_id", "total", "tier", "cumulative_total", "is_anonymous"},
		eventsub.ChannelSubscriptionMsg:   {"user_id", "broadcaster_user_id", "tier", "message", "cumulative_months", "streak_months", "duration_months"},
		eventsub.ChannelCheer:             {"user_id", "broadcaster_user_id", "is_anonymous", "message", "bits"},
		eventsub.ChannelRaid:              {"from_broadcaster_user_id", "to_broadcaster_user_id", "viewers"},
		eventsub.ChannelAdBreakBegin:      {"broadcaster_user_id", "requester_user_id", "duration_seconds", "started_at", "is_automatic"},
		eventsub.ChannelShoutoutReceive:   {"broadcaster_user_id", "from_broadcaster_user_id", "viewer_count", "started_at"},
		eventsub.ChannelHypeTrainBegin:    {"id", "broadcaster_user_id", "type", "level", "total", "progress", "goal", "top_contributions", "started_at", "expires_at"},
		eventsub.ChannelHypeTrainProgress: {"id", "broadcaster_user_id", "type", "level", "total", "progress", "goal", "top_contributions", "started_at", "expires_at"},
		eventsub.ChannelHypeTrainEnd:      {"id", "broadcaster_user_id", "type", "level", "total", "top_contributions", "started_at", "ended_at", "cooldown_ends_at"},
		eventsub.StreamOnline:             {"id", "type", "started_at", "broadcaster_user_id"},
		eventsub.StreamOffline:            {"broadcaster_user_id", "broadcaster_user_login", "broadcaster_user_name"},
		eventsub.ChannelPointsRedemption:  {"id", "user_id", "user_input", "status", "reward", "redeemed_at"},
	}
	for _, k := range eventsub.Kinds {
		t.Run(k.Type, func(t *testing.T) {
			out, err := eventsub.NewSample(secret, "https://example.com/webhooks/twitch", k.Type, b, u, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := eventsub.Verify(secret, out.Header, out.Body, now); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			msg, err := eventsub.Parse(eventsub.TypeNotification, out.Body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if msg.Subscription.Type != k.Type || msg.Subscription.Version != k.Version || !maps.Equal(msg.Subscription.Condition, k.Condition(b.ID)) {
				t.Fatalf("subscription %+v", msg.Subscription)
			}
			facts, err := eventsub.Describe(msg.Subscription, msg.Event)
			if err != nil || facts.BroadcasterID != b.ID {
				t.Fatalf("Describe = %+v, %v", facts, err)
			}
			var ev map[string]any
			if err := json.Unmarshal(msg.Event, &ev); err != nil {
				t.Fatal(err)
			}
			for _, f := range fields[k.Type] {
				if _, ok := ev[f]; !ok {
					t.Errorf("event lacks %s", f)
				}
			}
		})
	}
	if c := (eventsub.Kind{Type: eventsub.ChannelRaid}).Condition("9"); !maps.Equal(c, map[string]string{"to_broadcaster_user_id": "9"}) {
		t.Errorf("raid condition %v, want raids into the channel", c)
	}
}

// A gifted sub is marked so that the gift, not each sub, is the row.
func TestDescribeGiftedSub(t *testing.T) {
	sub := eventsub.Subscription{Type: eventsub.ChannelSubscribe, Version: "1"}
	for _, tc := range []struct {
		event string
		want  bool
	}{
		{`{"user_id":"1","broadcaster_user_id":"1337","tier":"1000","is_gift":true}`, true},
		{`{"user_id":"1","broadcaster_user_id":"1337","tier":"1000","is_gift":false}`, false},
	} {
		facts, err := eventsub.Describe(sub, json.RawMessage(tc.event))
		if err != nil || facts.Gifted != tc.want {
			t.Errorf("Describe(%s) = %+v, %v; want Gifted %v", tc.event, facts, err, tc.want)
		}
	}
}

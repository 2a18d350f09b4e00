package eventsub_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// Every type a streamer can choose is complete: a sample that parses, wording, and, if it can
// alert, a hint; the app's own types are hidden from the streamer.
func TestCatalogComplete(t *testing.T) {
	b := eventsub.Follower{ID: "1337", Login: "streamer", Name: "Streamer"}
	u := eventsub.Follower{ID: "42", Login: "viewer", Name: "Viewer"}
	for _, k := range eventsub.Kinds {
		t.Run(k.Type, func(t *testing.T) {
			if k.Hidden || k.Version == "" || k.Label == "" {
				t.Fatalf("kind %+v", k)
			}
			if _, err := eventsub.SampleEvent(k.Type, b, u, time.Now()); err != nil {
				t.Fatal(err)
			}
			if w := eventsub.Word(k.Type, k.Version, "Viewer", eventsub.Payload{}); w.Kind == "" || w.Icon == "" || w.Action == "" || w.Kind == "other" {
				t.Errorf("wording %+v", w)
			}
			if k.Alert == eventsub.AlertOn && k.Hint == "" {
				t.Error("an alert that plays by default has no template hint")
			}
			if eventsub.Alertable(k.Type) != (k.Alert != eventsub.NoAlert) {
				t.Error("Alertable disagrees with the entry")
			}
		})
	}
	if _, ok := eventsub.KindOf(eventsub.UserAuthorizationRevoke); ok {
		t.Error("the app's own subscription is offered to the streamer")
	}
	if k, ok := eventsub.Lookup(eventsub.UserAuthorizationRevoke); !ok || !k.Hidden || eventsub.Alertable(k.Type) {
		t.Errorf("Lookup(revoke) = %+v, %v", k, ok)
	}
	if w := eventsub.Word("channel.unknown", "3", "X", eventsub.Payload{}); w.Action != "channel.unknown (v3)" || w.Kind != "other" {
		t.Errorf("unknown type worded %+v", w)
	}
}

// {amount} and {message} come from the field each type names.
func TestCatalogAmountMessage(t *testing.T) {
	var p eventsub.Payload
	p.Bits, p.Viewers, p.Total, p.Reward.Cost, p.Message, p.UserInput = 1, 2, 3, 4, "msg", "input"
	for typ, want := range map[string]struct {
		amount  int
		message string
	}{
		eventsub.ChannelCheer: {1, "msg"}, eventsub.ChannelRaid: {2, ""}, eventsub.ChannelSubscriptionGift: {3, ""},
		eventsub.ChannelPointsRedemption: {4, "input"}, eventsub.ChannelFollow: {0, ""},
	} {
		k, _ := eventsub.Lookup(typ)
		if k.Amount(p) != want.amount || k.Message(p) != want.message {
			t.Errorf("%s: amount %d message %q, want %+v", typ, k.Amount(p), k.Message(p), want)
		}
	}
}

// A resub always names its viewer, and its message is an object with the text.
func TestDescribeResub(t *testing.T) {
	sub := eventsub.Subscription{Type: eventsub.ChannelSubscriptionMsg, Version: "1"}
	if _, err := eventsub.Describe(sub, json.RawMessage(`{"broadcaster_user_id":"1337","cumulative_months":3}`)); !errors.Is(err, eventsub.ErrMalformed) {
		t.Fatalf("resub without a user: %v, want ErrMalformed", err)
	}
	ev := `{"broadcaster_user_id":"1337","user_id":"42","user_login":"v","user_name":"V","tier":"2000","cumulative_months":3,` +
		`"streak_months":null,"duration_months":1,"message":{"text":"hi Kappa","emotes":[{"begin":3,"end":7,"id":"25"}]}}`
	facts, err := eventsub.Describe(sub, json.RawMessage(ev))
	if err != nil || facts.UserID != "42" || facts.BroadcasterID != "1337" {
		t.Fatalf("Describe = %+v, %v", facts, err)
	}
	var p eventsub.Payload
	if err := json.Unmarshal([]byte(ev), &p); err != nil {
		t.Fatal(err)
	}
	w := eventsub.Word(sub.Type, "1", "V", p)
	if w.Action != "resubscribed at Tier 2 for 3 months" || w.Detail != "hi Kappa" {
		t.Fatalf("wording %+v", w)
	}
}

// Every kind with an amount names its unit, one of Units, and every unit counts some kind's
// amount: the export's columns come from these. Tiers and rewards come from the kinds that
// carry them.
func TestCatalogUnits(t *testing.T) {
	b := eventsub.Follower{ID: "1337", Login: "streamer", Name: "Streamer"}
	u := eventsub.Follower{ID: "42", Login: "viewer", Name: "Viewer"}
	used := map[eventsub.Unit]bool{}
	for _, k := range eventsub.Kinds {
		ev, err := eventsub.SampleEvent(k.Type, b, u, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(ev)
		var p eventsub.Payload
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if (k.Amount(p) != 0) != (k.Unit != "") || (k.Unit != "" && !slices.Contains(eventsub.Units, k.Unit)) {
			t.Errorf("%s: amount %d in unit %q (units %v)", k.Type, k.Amount(p), k.Unit, eventsub.Units)
		}
		used[k.Unit] = true
		if k.Tiered != (k.Tier(p) == 1) {
			t.Errorf("%s: tiered %v, tier %d of the sample's %q", k.Type, k.Tiered, k.Tier(p), p.Tier)
		}
	}
	for _, unit := range eventsub.Units {
		if !used[unit] {
			t.Errorf("unit %q counts no kind's amount", unit)
		}
	}
	for tier, want := range map[string]int{"1000": 1, "2000": 2, "3000": 3} {
		k, _ := eventsub.Lookup(eventsub.ChannelSubscriptionMsg)
		if got := k.Tier(eventsub.Payload{Tier: tier}); got != want {
			t.Errorf("tier %q read as %d, want %d", tier, got, want)
		}
	}
	var p eventsub.Payload
	p.Reward.Title, p.Tier = "Hydrate", "2000"
	if k, _ := eventsub.Lookup(eventsub.ChannelPointsRedemption); k.Reward(p) != "Hydrate" || k.Tier(p) != 0 {
		t.Errorf("redemption: reward %q tier %d", k.Reward(p), k.Tier(p))
	}
	if k, _ := eventsub.Lookup(eventsub.ChannelCheer); k.Reward(p) != "" || k.Tier(p) != 0 {
		t.Errorf("cheer: reward %q tier %d", k.Reward(p), k.Tier(p))
	}
}

func TestGrouped(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -2500: "-2,500"} {
		if got := eventsub.Grouped(n); got != want {
			t.Errorf("Grouped(%d) = %q, want %q", n, got, want)
		}
	}
}

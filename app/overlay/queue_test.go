package overlay_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		max, busy string
		combine   bool
		want      store.QueueRules
		ok        bool
	}{
		{"", "", false, store.QueueRules{}, true},
		{" ", "0", false, store.QueueRules{}, true},
		{"0", "", true, store.QueueRules{Combine: true}, true},
		{"1", "1", false, store.QueueRules{Max: 1, BusySeconds: 1}, true},
		{" 100 ", "60", true, store.QueueRules{Max: 100, BusySeconds: 60, Combine: true}, true},
		{"101", "", false, store.QueueRules{}, false},
		{"-1", "", false, store.QueueRules{}, false},
		{"ten", "", false, store.QueueRules{}, false},
		{"", "61", false, store.QueueRules{}, false},
		{"", "2.5", false, store.QueueRules{}, false},
	} {
		got, err := overlay.ParseRules(tc.max, tc.busy, tc.combine)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRules(%q, %q, %v) = %+v, %v; want %+v, ok %v", tc.max, tc.busy, tc.combine, got, err, tc.want, tc.ok)
		}
	}
}

func TestCombinable(t *testing.T) {
	for _, tc := range []struct {
		typ, message string
		want         bool
	}{
		{eventsub.ChannelFollow, "", true},
		{eventsub.ChannelSubscribe, "", true},
		{eventsub.ChannelCheer, "", true},
		{eventsub.ChannelCheer, "  ", true},
		{eventsub.ChannelCheer, "GG, what a play!", false}, // the viewer paid to be read
		{eventsub.ChannelSubscriptionMsg, "", false},       // a resub is one viewer's moment
		{eventsub.ChannelSubscriptionGift, "", false},
		{eventsub.ChannelRaid, "", false},
		{eventsub.ChannelPointsRedemption, "", false},
	} {
		if got := overlay.Combinable(tc.typ, tc.message); got != tc.want {
			t.Errorf("Combinable(%s, %q) = %v, want %v", tc.typ, tc.message, got, tc.want)
		}
	}
}

func TestForPage(t *testing.T) {
	off, _ := json.Marshal(overlay.ForPage(store.QueueRules{}))
	if string(off) != `{"max":0,"busy_ms":0}` {
		t.Errorf("every rule off: %s", off)
	}
	p := overlay.ForPage(store.QueueRules{Max: 5, BusySeconds: 3, Combine: true})
	if p.Max != 5 || p.BusyMs != 3000 || len(p.Combine) != 3 {
		t.Fatalf("rules for the page: %+v", p)
	}
	for typ, text := range p.Combine {
		if !overlay.Combinable(typ, "") {
			t.Errorf("the page may combine %s, which never combines", typ)
		}
		n, amount := strings.Contains(text, "{n}"), strings.Contains(text, "{amount}")
		if !n || typ == eventsub.ChannelCheer && !amount {
			t.Errorf("%s's combined wording %q lacks {n} (or, for cheers, {amount})", typ, text)
		}
	}
}

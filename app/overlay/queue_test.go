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
		in     string
		max    int
		maxOK  bool
		busy   int
		busyOK bool
	}{
		{"", 0, true, 0, true},
		{" ", 0, true, 0, true},
		{"0", 0, true, 0, true},
		{"1", 1, true, 1, true},
		{" 60 ", 60, true, 60, true},
		{"61", 61, true, 0, false},
		{"100", 100, true, 0, false},
		{"101", 0, false, 0, false},
		{"-1", 0, false, 0, false},
		{"ten", 0, false, 0, false},
		{"2.5", 0, false, 0, false},
	} {
		if n, err := overlay.ParseMax(tc.in); (err == nil) != tc.maxOK || tc.maxOK && n != tc.max {
			t.Errorf("ParseMax(%q) = %d, %v; want %d, ok %v", tc.in, n, err, tc.max, tc.maxOK)
		}
		if n, err := overlay.ParseBusy(tc.in); (err == nil) != tc.busyOK || tc.busyOK && n != tc.busy {
			t.Errorf("ParseBusy(%q) = %d, %v; want %d, ok %v", tc.in, n, err, tc.busy, tc.busyOK)
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

package overlay_test

import (
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

func TestStripCheermotes(t *testing.T) {
	for in, want := range map[string]string{
		"Cheer100 great stream!":                                   "great stream!",
		"great Cheer100 stream Cheer1":                             "great stream",
		"Cheer10000":                                               "",
		"cheer5 CHEER5 Kappa100 4Head1 uni10":                      "",
		"Cheer1 Cheer1 Cheer1 hi":                                  "hi",
		"DoodleCheer500 BibleThump1 PJSalt2 RIPCheer3 Charity4 ok": "ok",
		// Not cheermotes: no bits, letters after the bits, part of a word, an unknown prefix.
		"Cheer Cheer100x xCheer100 Cheers100 Pogchamp100": "Cheer Cheer100x xCheer100 Cheers100 Pogchamp100",
		"I have 100 bits":       "I have 100 bits",
		"  spaced   out  ":      "spaced out",
		"unicorn100 university": "unicorn100 university",
	} {
		if got := overlay.StripCheermotes(in); got != want {
			t.Errorf("StripCheermotes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha…"},
		{"ends at a space here", 8, "ends at…"},
		{"ééééééééééé", 3, "ééé…"},
	} {
		if got := overlay.Clamp(tc.in, tc.max); got != tc.want {
			t.Errorf("Clamp(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestBursts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var follows []store.Event
	at := func(id int64, d time.Duration) { follows = append(follows, store.Event{ID: id, OccurredAt: t0.Add(d)}) }
	for i := range 5 { // 1..5, half a second apart: past the threshold of 3
		at(int64(i+1), time.Duration(i)*500*time.Millisecond)
	}
	at(6, 10*time.Second) // alone
	for i := range 3 {    // 7..9: the threshold, not a flood
		at(int64(7+i), time.Minute+time.Duration(i)*time.Second)
	}
	got := rule.Bursts(follows)
	if len(got) != 3 || len(got[0]) != 5 || len(got[1]) != 1 || len(got[2]) != 3 {
		t.Fatalf("bursts %v", got)
	}
	floods := rule.Floods(follows)
	for id := int64(1); id <= 9; id++ {
		want := 0
		if id <= 5 {
			want = 5
		}
		if floods[id] != want {
			t.Errorf("follow %d: flood of %d, want %d", id, floods[id], want)
		}
	}
}

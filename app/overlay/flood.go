package overlay

import (
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
)

// FloodRule collapses a burst of follows (a follow bot, a raid's viewers) into one alert.
type FloodRule struct {
	Threshold int           // more follows than this in one burst play as one "N new followers"
	Quiet     time.Duration // a burst ends when no follow came for this long
	Window    time.Duration // and at the latest this long after its first follow
}

// DefaultFlood is the rule unless OVERLAY_FLOOD_FOLLOWS or OVERLAY_FLOOD_WINDOW say otherwise.
var DefaultFlood = FloodRule{Threshold: 20, Quiet: time.Second, Window: 10 * time.Second}

// ends reports whether a follow at t starts a new burst after one that began at first and whose
// newest follow came at last.
func (r FloodRule) ends(first, last, t time.Time) bool {
	return t.Sub(last) > r.Quiet || t.Sub(first) > r.Window
}

// Bursts splits follows (oldest first) into bursts by the rule's gaps and length, by when each
// follow happened.
func (r FloodRule) Bursts(follows []store.Event) [][]store.Event {
	var out [][]store.Event
	var cur []store.Event
	for _, ev := range follows {
		if len(cur) > 0 && r.ends(cur[0].OccurredAt, cur[len(cur)-1].OccurredAt, ev.OccurredAt) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, ev)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Floods maps each follow of a burst larger than the threshold to its burst's size.
func (r FloodRule) Floods(follows []store.Event) map[int64]int {
	size := map[int64]int{}
	for _, b := range r.Bursts(follows) {
		if len(b) > r.Threshold {
			for _, ev := range b {
				size[ev.ID] = len(b)
			}
		}
	}
	return size
}

package overlay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// The overlay's queue lives in the page (assets/overlay.js): alerts wait there while one plays or
// while the streamer has paused. The rules below are stored with the overlay, sent to the page
// and applied by it; this file decides what they may be and what the page is told.

// Bounds of the queue rules a streamer may set.
const (
	MaxQueueLimit  = 100 // the largest "at most N waiting"
	MaxBusySeconds = 60  // the longest "while others wait, at most N seconds"
)

// combineText is the wording of a combined alert per type that combines: {n} alerts, {amount}
// their amounts summed. Types left out never combine: a raid, a gift bomb, a redemption or a
// resub is one viewer's moment and plays on its own.
var combineText = map[string]string{
	eventsub.ChannelFollow:    "{n} new followers",
	eventsub.ChannelSubscribe: "{n} new subscribers",
	eventsub.ChannelCheer:     "{n} cheers: {amount} bits",
}

// Combinable reports whether an alert of typ with the viewer's message may be combined with
// others of its type while it waits. An alert that carries a message never is: the viewer
// (who may have paid for it) wrote it to be read on stream.
func Combinable(typ, message string) bool {
	_, ok := combineText[typ]
	return ok && strings.TrimSpace(message) == ""
}

// PageRules are the queue rules as the overlay page reads them (JSON).
type PageRules struct {
	Max    int `json:"max"`     // 0: no limit
	BusyMs int `json:"busy_ms"` // 0: each alert its own duration
	// Combine is the wording of a combined alert by type; empty: alerts never combine.
	Combine map[string]string `json:"combine,omitempty"`
}

// ForPage is what the page applies for rules r.
func ForPage(r store.QueueRules) PageRules {
	p := PageRules{Max: r.Max, BusyMs: r.BusySeconds * 1000}
	if r.Combine {
		p.Combine = combineText
	}
	return p
}

// ParseMax reads the longest queue ("" or "0": no limit). The error is a sentence for the streamer.
func ParseMax(v string) (int, error) {
	n, ok := bounded(v, MaxQueueLimit)
	if !ok {
		return 0, fmt.Errorf("The longest queue must be a whole number from 1 to %d (empty: no limit).", MaxQueueLimit)
	}
	return n, nil
}

// ParseBusy reads the shortened duration in seconds ("" or "0": off). The error is a sentence
// for the streamer.
func ParseBusy(v string) (int, error) {
	n, ok := bounded(v, MaxBusySeconds)
	if !ok {
		return 0, fmt.Errorf("The shortened duration must be 1 to %d seconds (empty: off).", MaxBusySeconds)
	}
	return n, nil
}

// bounded reads a whole number from 0 to hi; "" is 0.
func bounded(v string, hi int) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0 && n <= hi
}

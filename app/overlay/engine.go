package overlay

import (
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Options configure an Engine. Zero Flood and Now take defaults.
type Options struct {
	Cursor int64         // the newest event id already dealt with: older ones never play
	MaxAge time.Duration // older events are skipped, not played late
	Flood  FloodRule
	Policy Policy
	Now    func() time.Time
	Play   func(Alert) // writes an alert to the overlay
	// Skip, if set, is told the id of an event that will never play (its type is off, it is too
	// old or not an alert) when no earlier follow is held: the page resumes after it.
	Skip func(id int64)
}

// Engine turns one overlay stream's events, in id order, into alerts. Follows are held until
// their burst ends, then played one by one or, past the flood threshold, as one alert carrying
// the newest id, so that a resumed stream never plays any of them again.
//
// The engine keeps no timer: Due says when the held burst ends, and the stream calls Tick then.
// It is not safe for concurrent use: one stream's goroutine drives it.
type Engine struct {
	o      Options
	cursor int64

	held  []store.Event // the burst's first follows, up to the threshold + 1
	heldN int           // every follow of the burst
	last  int64         // the burst's newest follow's id
	first time.Time     // when the burst's first follow came
	quiet time.Time     // when its newest came
}

// NewEngine makes an engine that plays through o.Play.
func NewEngine(o Options) *Engine {
	if o.Flood == (FloodRule{}) {
		o.Flood = DefaultFlood
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{o: o, cursor: o.Cursor}
}

// Cursor is the newest event id seen, played or not.
func (e *Engine) Cursor() int64 { return e.cursor }

// Add takes the next stored event; one at or before the cursor was dealt with already.
func (e *Engine) Add(ev store.Event) {
	if ev.ID <= e.cursor {
		return
	}
	e.cursor = ev.ID
	now := e.o.Now()
	if !Alertable(ev, now, e.o.MaxAge) || !e.o.Policy.Plays(ev.Type) {
		if e.o.Skip != nil && e.heldN == 0 {
			e.o.Skip(ev.ID)
		}
		return
	}
	if ev.Type != eventsub.ChannelFollow {
		e.Flush() // the held follows came first
		e.o.Play(e.o.Policy.Alert(ev))
		return
	}
	if e.heldN > 0 && e.o.Flood.ends(e.first, e.quiet, now) {
		e.Flush()
	}
	if e.heldN == 0 {
		e.first = now
	}
	e.heldN++
	e.last, e.quiet = ev.ID, now
	if len(e.held) <= e.o.Flood.Threshold {
		e.held = append(e.held, ev)
	}
}

// Test plays an unstored sample, unless its type is off. It reports whether it played.
func (e *Engine) Test(ev store.Event) bool {
	if !e.o.Policy.Plays(ev.Type) {
		return false
	}
	e.o.Play(e.o.Policy.Alert(ev))
	return true
}

// SetPolicy applies changed settings; turning follows off (safe mode) drops the follows held.
func (e *Engine) SetPolicy(p Policy) {
	e.o.Policy = p
	if !p.Plays(eventsub.ChannelFollow) {
		e.held, e.heldN = nil, 0
	}
}

// Due is when the held burst ends and must be played (Tick); false when nothing is held.
func (e *Engine) Due() (time.Time, bool) {
	if e.heldN == 0 {
		return time.Time{}, false
	}
	quiet, window := e.quiet.Add(e.o.Flood.Quiet), e.first.Add(e.o.Flood.Window)
	if window.Before(quiet) {
		return window, true
	}
	return quiet, true
}

// Tick plays the held burst if it has ended.
func (e *Engine) Tick() {
	if due, ok := e.Due(); ok && !e.o.Now().Before(due) {
		e.Flush()
	}
}

// Flush plays the held follows now.
func (e *Engine) Flush() {
	held, n, last := e.held, e.heldN, e.last
	e.held, e.heldN = nil, 0
	if n > e.o.Flood.Threshold {
		e.o.Play(e.o.Policy.flood(n, last))
		return
	}
	for _, ev := range held {
		e.o.Play(e.o.Policy.Alert(ev))
	}
}

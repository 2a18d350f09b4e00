package overlay_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

// clock is a time the test moves by hand: no test here waits or measures.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// rig is an engine with a hand-moved clock that records what it plays.
type rig struct {
	t       *testing.T
	clock   *clock
	e       *overlay.Engine
	played  []overlay.Alert
	skipped []int64
	nextID  int64
}

// safeMode is follow alerts off.
var safeMode = overlay.Policy{Settings: map[string]store.AlertSetting{eventsub.ChannelFollow: {Type: eventsub.ChannelFollow}}}

var rule = overlay.FloodRule{Threshold: 3, Quiet: time.Second, Window: 10 * time.Second}

func newRig(t *testing.T, p overlay.Policy) *rig {
	r := &rig{t: t, clock: &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}}
	r.e = overlay.NewEngine(overlay.Options{MaxAge: 2 * time.Minute, Flood: rule, Policy: p, Now: r.clock.now,
		Play: func(a overlay.Alert) { r.played = append(r.played, a) },
		Skip: func(id int64) { r.skipped = append(r.skipped, id) }})
	return r
}

// add stores (in the test's mind) a new event of typ, happened now, and hands it to the engine.
func (r *rig) add(typ string) store.Event {
	r.nextID++
	ev := store.Event{ID: r.nextID, Type: typ, UserName: fmt.Sprintf("Viewer%d", r.nextID), OccurredAt: r.clock.now(), Payload: `{"bits": 100}`}
	r.e.Add(ev)
	return ev
}

func (r *rig) follows(n int, gap time.Duration) {
	for range n {
		r.add(eventsub.ChannelFollow)
		r.clock.advance(gap)
	}
}

// take returns what played since the last take.
func (r *rig) take() []overlay.Alert {
	p := r.played
	r.played = nil
	return p
}

func texts(as []overlay.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.User+" "+a.Text)
	}
	return out
}

func TestFloodThreshold(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	r.follows(3, 100*time.Millisecond) // the threshold: not a flood
	if got := r.take(); len(got) != 0 {
		t.Fatalf("follows played before their burst ended: %v", texts(got))
	}
	if due, ok := r.e.Due(); !ok || !due.Equal(r.clock.now().Add(-100*time.Millisecond).Add(time.Second)) {
		t.Fatalf("due %v %v, want a second after the last follow", due, ok)
	}
	r.clock.advance(time.Second)
	r.e.Tick()
	if got := texts(r.take()); !slices.Equal(got, []string{"Viewer1 followed", "Viewer2 followed", "Viewer3 followed"}) {
		t.Fatalf("a burst of 3 played %q, want each follow", got)
	}
	if _, ok := r.e.Due(); ok {
		t.Fatal("due with nothing held")
	}

	r.follows(4, 100*time.Millisecond) // past the threshold: one alert with the newest id
	r.clock.advance(time.Second)
	r.e.Tick()
	got := r.take()
	if len(got) != 1 || got[0].Text != "4 new followers" || got[0].ID != r.nextID || got[0].Amount != 4 {
		t.Fatalf("a burst of 4 played %+v, want one \"4 new followers\" with id %d", got, r.nextID)
	}
}

func TestFloodQuietEndsBurst(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	r.follows(2, 100*time.Millisecond)
	r.clock.advance(901 * time.Millisecond) // more than Quiet since the last follow
	r.follows(2, 100*time.Millisecond)      // the first of these ends the first burst
	if got := texts(r.take()); !slices.Equal(got, []string{"Viewer1 followed", "Viewer2 followed"}) {
		t.Fatalf("after a quiet gap played %q, want the first burst", got)
	}
	r.e.Tick() // not due yet
	if got := r.take(); len(got) != 0 {
		t.Fatalf("played before due: %v", texts(got))
	}
	r.clock.advance(time.Second)
	r.e.Tick()
	if got := texts(r.take()); !slices.Equal(got, []string{"Viewer3 followed", "Viewer4 followed"}) {
		t.Fatalf("second burst played %q", got)
	}
}

func TestFloodWindowEndsBurst(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	// A follow every half second never leaves a quiet second: the window ends the burst. The
	// 22nd follow comes 10.5 s after the first, past the 10 s window: it starts the next burst.
	r.follows(25, 500*time.Millisecond)
	got := r.take()
	if len(got) != 1 || got[0].Text != "21 new followers" || got[0].ID != 21 {
		t.Fatalf("played %v, want the window's 21 follows as one alert", texts(got))
	}
}

func TestFloodWindowDue(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	start := r.clock.now()
	for range 25 {
		r.add(eventsub.ChannelFollow)
		r.clock.advance(400 * time.Millisecond)
		r.e.Tick()
		if due, _ := r.e.Due(); due.After(start.Add(rule.Window)) {
			t.Fatalf("due %v, past the window's end %v", due, start.Add(rule.Window))
		}
	}
	got := r.take()
	if len(got) == 0 || got[0].Text != fmt.Sprintf("%d new followers", got[0].Amount) || got[0].Amount != 25 {
		t.Fatalf("played %v, want the window's follows as one alert", texts(got))
	}
}

func TestOtherAlertFlushesHeldFollows(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	r.follows(2, 0)
	cheer := r.add(eventsub.ChannelCheer)
	got := r.take()
	if len(got) != 3 || got[2].ID != cheer.ID || got[0].ID != 1 {
		t.Fatalf("played %+v, want the held follows, then the cheer", got)
	}
}

func TestSafeModeDropsFollows(t *testing.T) {
	r := newRig(t, overlay.Policy{})
	r.follows(2, 0) // held
	r.e.SetPolicy(safeMode)
	r.follows(30, 0)
	r.clock.advance(time.Minute)
	r.e.Tick()
	r.add(eventsub.ChannelCheer)
	if got := r.take(); len(got) != 1 || got[0].Type != eventsub.ChannelCheer {
		t.Fatalf("in safe mode played %v, want only the cheer", texts(got))
	}
	if !r.e.Test(store.Event{Type: eventsub.ChannelCheer}) || r.e.Test(store.Event{Type: eventsub.ChannelFollow}) {
		t.Fatal("in safe mode, a test cheer must play and a test follow must not")
	}
	r.e.SetPolicy(overlay.Policy{})
	r.follows(1, 0)
	r.clock.advance(time.Second)
	r.e.Tick()
	if got := r.take(); len(got) != 2 || got[1].Type != eventsub.ChannelFollow {
		t.Fatalf("after safe mode played %v, want the test cheer and the new follow", texts(got))
	}
}

func TestEngineSkipsOldSeenAndOff(t *testing.T) {
	r := newRig(t, overlay.Policy{Settings: map[string]store.AlertSetting{eventsub.ChannelRaid: {Type: eventsub.ChannelRaid}}})
	r.e.Add(store.Event{ID: 5, Type: eventsub.ChannelCheer, OccurredAt: r.clock.now().Add(-3 * time.Minute)}) // too old
	r.e.Add(store.Event{ID: 4, Type: eventsub.ChannelCheer, OccurredAt: r.clock.now()})                       // before the cursor
	r.e.Add(store.Event{ID: 6, Type: eventsub.ChannelRaid, OccurredAt: r.clock.now()})                        // switched off
	r.e.Add(store.Event{ID: 7, Type: eventsub.StreamOnline, OccurredAt: r.clock.now()})                       // off by default
	r.e.Add(store.Event{ID: 8, Type: eventsub.ChannelCheer, OccurredAt: r.clock.now(), Hidden: true})         // hidden
	r.e.Add(store.Event{ID: 9, Type: eventsub.ChannelCheer, OccurredAt: r.clock.now(), Source: store.SourceBackfill})
	r.e.Add(store.Event{ID: 10, Type: eventsub.ChannelCheer, OccurredAt: r.clock.now()})
	if got := r.take(); len(got) != 1 || got[0].ID != 10 || r.e.Cursor() != 10 {
		t.Fatalf("played %+v (cursor %d), want only event 10", got, r.e.Cursor())
	}
}

// TestEngineSkips: an event that will never play is told to the page (it resumes after it on a
// reload), a follow in safe mode and a type that is off alike; but not while follows of a burst
// are held, which come before it and have not played yet.
func TestEngineSkips(t *testing.T) {
	r := newRig(t, safeMode)
	follow := r.add(eventsub.ChannelFollow)
	cheer := r.add(eventsub.ChannelCheer)
	progress := r.add(eventsub.ChannelHypeTrainProgress) // off by default
	if len(r.take()) != 1 || !slices.Equal(r.skipped, []int64{follow.ID, progress.ID}) {
		t.Fatalf("skipped %v, want the follow %d and the hype train progress %d (the cheer %d played)", r.skipped, follow.ID, progress.ID, cheer.ID)
	}

	r = newRig(t, overlay.Policy{})
	r.follows(2, 0) // held: the burst may grow
	r.add(eventsub.ChannelHypeTrainProgress)
	if len(r.skipped) != 0 {
		t.Fatalf("skipped %v while two follows are held", r.skipped)
	}
	r.clock.advance(2 * time.Second)
	r.e.Tick()
	if len(r.take()) != 2 {
		t.Fatal("the held follows did not play")
	}
	late := r.add(eventsub.ChannelHypeTrainProgress)
	if !slices.Equal(r.skipped, []int64{late.ID}) {
		t.Fatalf("skipped %v, want %d once nothing is held", r.skipped, late.ID)
	}
}

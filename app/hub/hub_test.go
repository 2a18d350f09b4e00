package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// memLog is an event log in memory: the hub's only view of the database is Read and Newest.
type memLog struct {
	mu  sync.Mutex
	evs []store.Event
}

func (l *memLog) add(b string, hidden bool) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := int64(len(l.evs) + 1)
	l.evs = append(l.evs, store.Event{ID: id, BroadcasterID: b, Hidden: hidden})
	return id
}

func (l *memLog) read(_ context.Context, b string, after int64, limit int) ([]store.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Event
	for _, ev := range l.evs {
		if ev.BroadcasterID == b && ev.ID > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *memLog) newest(_ context.Context, b string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, ev := range l.evs {
		if ev.BroadcasterID == b {
			n = ev.ID
		}
	}
	return n, nil
}

type sink struct {
	mu      sync.Mutex
	ids     []int64
	signals []any
}

func (s *sink) Kind() string { return "dashboard" }
func (s *sink) Deliver(ds []*hub.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.ids = append(s.ids, d.Event.ID)
	}
}
func (s *sink) Signal(v any) { s.mu.Lock(); s.signals = append(s.signals, v); s.mu.Unlock() }
func (s *sink) got() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.ids...)
}

func newHub(t *testing.T, l *memLog, counts func(string, string, int)) *hub.Hub {
	h := hub.New(hub.Options{Read: l.read, Newest: l.newest, Window: 8, OnCount: counts})
	t.Cleanup(h.Close)
	return h
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Events written concurrently and rung in any order reach every viewer once, in id order: for a
// small audience and for one large enough to be delivered on every processor at once.
func TestFanOutInOrderOnce(t *testing.T) {
	for _, viewers := range []int{5, 600} {
		t.Run(fmt.Sprint(viewers), func(t *testing.T) { fanOutInOrderOnce(t, viewers) })
	}
}

func fanOutInOrderOnce(t *testing.T, viewers int) {
	l := &memLog{}
	h := newHub(t, l, nil)
	sinks := make([]*sink, viewers)
	for i := range sinks {
		sinks[i] = &sink{}
		if _, _, _, _, err := h.Join(context.Background(), "b", sinks[i], -1); err != nil {
			t.Fatal(err)
		}
	}
	var want []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				mu.Lock()
				id := l.add("b", false)
				want = append(want, id)
				mu.Unlock()
				h.Ring("b", id)
			}
		})
	}
	wg.Wait()
	l.add("other", false)
	h.Ring("other", 0)
	for i, s := range sinks {
		waitFor(t, "all deliveries", func() bool { return len(s.got()) >= len(want) })
		got := s.got()
		if len(got) != len(want) {
			t.Fatalf("sink %d got %d events, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != int64(j+1) {
				t.Fatalf("sink %d: event %d is id %d, want %d (in order, once)", i, j, got[j], j+1)
			}
		}
	}
}

// A reconnect within the window gets what it missed from memory; an older one must go to the log.
func TestJoinWindow(t *testing.T) {
	l := &memLog{}
	h := newHub(t, l, nil)
	first := &sink{}
	if _, _, _, _, err := h.Join(context.Background(), "b", first, -1); err != nil {
		t.Fatal(err)
	}
	for range 12 {
		h.Ring("b", l.add("b", false))
	}
	hidden := l.add("b", true)
	h.Ring("b", hidden)
	newest := l.add("b", false)
	h.Ring("b", newest)
	waitFor(t, "13 events", func() bool { return len(first.got()) == 13 })

	_, missed, cursor, ok, err := h.Join(context.Background(), "b", &sink{}, 9)
	if err != nil || !ok {
		t.Fatalf("join after 9: ok %v err %v", ok, err)
	}
	if cursor != newest {
		t.Errorf("cursor %d, want %d", cursor, newest)
	}
	var ids []int64
	for _, d := range missed {
		ids = append(ids, d.Event.ID)
	}
	if len(ids) != 4 || ids[0] != 10 || ids[2] != 12 || ids[3] != newest {
		t.Errorf("missed %v, want [10 11 12 %d] (the hidden %d is never a live row)", ids, newest, hidden)
	}
	if _, _, _, ok, _ := h.Join(context.Background(), "b", &sink{}, 2); ok {
		t.Error("join after 2 is older than the window of 8, yet ok")
	}
}

// Counts, signals and leaving.
func TestCountsAndSignals(t *testing.T) {
	l := &memLog{}
	var mu sync.Mutex
	last := -1
	h := newHub(t, l, func(b, kind string, n int) { mu.Lock(); last = n; mu.Unlock() })
	a, b := &sink{}, &sink{}
	ma, _, _, _, _ := h.Join(context.Background(), "x", a, -1)
	mb, _, _, _, _ := h.Join(context.Background(), "x", b, -1)
	if n := h.Count("x", "dashboard"); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
	h.Signal("x", "pause")
	if len(a.signals) != 1 || len(b.signals) != 1 {
		t.Fatalf("signals %v %v", a.signals, b.signals)
	}
	ma.Leave()
	ma.Leave()
	mb.Leave()
	mu.Lock()
	defer mu.Unlock()
	if last != 0 || h.Viewers() != 0 {
		t.Errorf("after leaving: OnCount %d, viewers %d", last, h.Viewers())
	}
}

// Memo computes once per cursor.
func TestMemo(t *testing.T) {
	l := &memLog{}
	h := newHub(t, l, nil)
	m, _, cursor, _, _ := h.Join(context.Background(), "b", &sink{}, -1)
	calls := 0
	for range 3 {
		v, err := m.Memo("list", cursor, func() (any, error) { calls++; return calls, nil })
		if err != nil || v.(int) != 1 {
			t.Fatalf("memo = %v, %v", v, err)
		}
	}
	if v, _ := m.Memo("list", cursor+1, func() (any, error) { calls++; return calls, nil }); v.(int) != 2 {
		t.Errorf("a new cursor must recompute, got %v", v)
	}
}

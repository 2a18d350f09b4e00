// Package hub fans stored events out to the live viewers on this instance. The database is the
// log: when the doorbell rings for a broadcaster, the hub reads what is new once, with one query
// per broadcaster however many viewers watch, and hands the same deliveries (rendered at most
// once per kind of viewer) to each of them. A viewer the hub drops reconnects and resumes from
// its Last-Event-ID, from the hub's recent window or from the database.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Reader reads a broadcaster's events with ids above after, oldest first (store.EventsAfter).
type Reader func(ctx context.Context, broadcasterID string, after int64, limit int) ([]store.Event, error)

// Newest is the highest stored event id of a broadcaster, 0 for none (store.NewestEventID).
type Newest func(ctx context.Context, broadcasterID string) (int64, error)

// Sink is one live viewer. Deliver and Signal must not block: a sink that cannot keep up drops
// itself (its viewer reconnects and catches up).
type Sink interface {
	Kind() string           // "dashboard", "overlay": what OnCount counts
	Deliver(ds []*Delivery) // new events, in id order, none at or below the sink's own cursor
	Signal(v any)           // a broadcaster-wide signal (overlay control, session ended, ...)
}

// Options configure a Hub. Zero values take the defaults.
type Options struct {
	Read    Reader
	Newest  Newest
	Window  int                                   // recent deliveries kept per broadcaster for reconnects; default 256
	Linger  time.Duration                         // an unwatched broadcaster's window is kept this long; default 30s
	OnCount func(broadcaster, kind string, n int) // viewers of a kind changed (presence)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// ErrClosed is returned by Join after Close.
var ErrClosed = errors.New("hub: closed")

// readBatch is how many events one query reads.
const readBatch = 256

// Hub holds one topic per watched broadcaster.
type Hub struct {
	o      Options
	ctx    context.Context // ends at Close: stops reads
	cancel context.CancelFunc

	mu     sync.Mutex
	topics map[string]*topic
	closed bool
}

// New makes a Hub.
func New(o Options) *Hub {
	if o.Window <= 0 {
		o.Window = 256
	}
	if o.Linger <= 0 {
		o.Linger = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{o: o, ctx: ctx, cancel: cancel, topics: map[string]*topic{}}
}

// Join adds a sink to a broadcaster's viewers. It returns the hub's cursor for that broadcaster
// (every event up to it was read; every later one will be delivered to the sink) and, when the
// recent window covers everything after after (after >= 0), the deliveries the sink missed, with
// ok true. With ok false the caller catches up from the database: ids up to the cursor at least.
func (h *Hub) Join(ctx context.Context, broadcaster string, s Sink, after int64) (m *Member, missed []*Delivery, cursor int64, ok bool, err error) {
	var t *topic
	for {
		if t, err = h.topic(ctx, broadcaster); err != nil {
			return nil, nil, 0, false, err
		}
		t.mu.Lock()
		if !t.retired {
			break
		}
		t.mu.Unlock() // retired meanwhile: a fresh topic takes its place
	}
	m = &Member{t: t, sink: s}
	t.members[m] = struct{}{}
	n := t.countLocked(s.Kind())
	cursor = t.cursor
	if after >= 0 && after >= t.windowFrom && after <= t.cursor {
		missed, ok = t.since(after), true
	}
	t.mu.Unlock()
	h.o.Metrics.ViewerJoined(s.Kind())
	h.count(broadcaster, s.Kind(), n)
	return m, missed, cursor, ok, nil
}

// topic finds or starts a broadcaster's topic, whose cursor starts at the newest stored id.
func (h *Hub) topic(ctx context.Context, broadcaster string) (*topic, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if t := h.topics[broadcaster]; t != nil {
		h.mu.Unlock()
		<-t.ready
		if t.err != nil {
			return nil, t.err
		}
		return t, nil
	}
	t := &topic{h: h, broadcaster: broadcaster, members: map[*Member]struct{}{}, ready: make(chan struct{}), memo: map[string]*memo{}}
	h.topics[broadcaster] = t
	h.mu.Unlock()

	newest, err := h.o.Newest(ctx, broadcaster)
	t.mu.Lock()
	t.cursor, t.windowFrom, t.err = newest, newest, err
	t.mu.Unlock()
	close(t.ready)
	if err != nil {
		h.mu.Lock()
		if h.topics[broadcaster] == t {
			delete(h.topics, broadcaster)
		}
		h.mu.Unlock()
		return nil, err
	}
	// Anything stored while the cursor was being read is fetched now.
	t.ring()
	return t, nil
}

// Ring tells the hub that a broadcaster has new events (up to newest, when known). Only a
// watched broadcaster is read; ringing is cheap and coalesces.
func (h *Hub) Ring(broadcaster string, newest int64) {
	h.mu.Lock()
	t := h.topics[broadcaster]
	h.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	behind := newest == 0 || newest > t.cursor
	t.mu.Unlock()
	if behind {
		t.ring()
	}
}

// Resync re-reads every watched broadcaster from its cursor: the doorbell may have missed rings.
func (h *Hub) Resync() {
	for _, t := range h.snapshot() {
		t.ring()
	}
}

// Signal hands v to every sink of a broadcaster on this instance.
func (h *Hub) Signal(broadcaster string, v any) {
	h.mu.Lock()
	t := h.topics[broadcaster]
	h.mu.Unlock()
	if t == nil {
		return
	}
	for _, m := range t.membersNow() {
		m.sink.Signal(v)
	}
}

// Each calls fn for every sink of every broadcaster (keep-alives, shutdown).
func (h *Hub) Each(fn func(Sink)) {
	for _, t := range h.snapshot() {
		for _, m := range t.membersNow() {
			fn(m.sink)
		}
	}
}

// Count is the number of sinks of a kind watching a broadcaster on this instance.
func (h *Hub) Count(broadcaster, kind string) int {
	h.mu.Lock()
	t := h.topics[broadcaster]
	h.mu.Unlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.countLocked(kind)
}

// Viewers is the number of sinks on this instance.
func (h *Hub) Viewers() int {
	n := 0
	for _, t := range h.snapshot() {
		t.mu.Lock()
		n += len(t.members)
		t.mu.Unlock()
	}
	return n
}

// Sweep forgets the broadcasters nobody has watched for the linger time.
func (h *Hub) Sweep() {
	for _, t := range h.snapshot() {
		t.retire()
	}
}

// Close stops reading; sinks are left to their owners, which end them.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
}

func (h *Hub) snapshot() []*topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	ts := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		ts = append(ts, t)
	}
	return ts
}

func (h *Hub) count(broadcaster, kind string, n int) {
	if h.o.OnCount != nil {
		h.o.OnCount(broadcaster, kind, n)
	}
}

// Member is one sink's place in a topic.
type Member struct {
	t    *topic
	sink Sink
	once sync.Once
}

// Leave removes the sink; it is safe to call more than once.
func (m *Member) Leave() {
	m.once.Do(func() {
		t := m.t
		t.mu.Lock()
		delete(t.members, m)
		n := t.countLocked(m.sink.Kind())
		if len(t.members) == 0 {
			t.idleSince = time.Now()
		}
		t.mu.Unlock()
		t.h.o.Metrics.ViewerLeft(m.sink.Kind())
		t.h.count(t.broadcaster, m.sink.Kind(), n)
	})
}

// Memo returns fn's result, computed once per key for as long as the broadcaster's cursor stays
// at cursor: a connect storm renders the current list once, not once per viewer.
func (m *Member) Memo(key string, cursor int64, fn func() (any, error)) (any, error) {
	return m.t.memoize(key, cursor, fn)
}

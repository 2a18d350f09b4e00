// Package doorbell tells every instance that something happened: new events were committed, an
// overlay's settings changed, a session ended. It carries no data anyone depends on: the
// database is the source of truth, and a receiver reads it when the bell rings.
//
// On PostgreSQL a ring is a NOTIFY on the channel tev_doorbell_<schema>, which every instance
// LISTENs on (Run); on SQLite, or without a store, there is one instance and a ring only reaches
// this process's handlers. Either way a ring reaches the local handlers at once, without waiting
// for the database's round trip.
package doorbell

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Signal kinds.
const (
	Events       = "events"        // a broadcaster's events up to NewestID were committed
	Overlay      = "overlay"       // Overlay is for the broadcaster's open overlays
	SessionEnded = "session-ended" // the session with TokenHash (all, if empty) ended
	// Resync is never sent: it is rung locally whenever this instance may have missed signals
	// (the LISTEN connection was made or made again), so that readers catch up from the log.
	Resync = "resync"
)

// Signal is one ring. Its JSON is kept short: it travels in NOTIFY payloads.
type Signal struct {
	Kind          string         `json:"k"`
	BroadcasterID string         `json:"b,omitempty"`
	NewestID      int64          `json:"n,omitempty"`
	Overlay       overlay.Signal `json:"o,omitzero"`
	TokenHash     string         `json:"t,omitempty"`
}

// Options configure a Bell.
type Options struct {
	// Store is the database whose instances the bell reaches. Nil or SQLite: this process only.
	Store   *store.Store
	Metrics *metrics.Metrics // may be nil
	Logger  *slog.Logger     // nil: log nothing
}

// Bell sends and receives signals. It is safe for concurrent use.
type Bell struct {
	st       *store.Store // nil: in-process only
	met      *metrics.Metrics
	log      *slog.Logger
	instance string // tells this bell's own notifications from other instances'

	mu       sync.Mutex
	handlers []func(Signal)
	channel  string // the NOTIFY channel, once known

	pid       atomic.Uint32 // the LISTEN connection's backend process id; 0 while there is none
	pingEvery time.Duration // pingEvery, shorter in tests
}

// New makes a bell; on PostgreSQL, Run receives the other instances' signals.
func New(o Options) *Bell {
	b := &Bell{met: o.Metrics, log: o.Logger, instance: randomID(), pingEvery: pingEvery}
	if o.Store != nil && o.Store.Dialect() == store.Postgres {
		b.st = o.Store
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return b
}

func randomID() string {
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	return hex.EncodeToString(id[:])
}

// OnSignal adds a handler. Handlers run on the ringing goroutine (local rings) or on Run's (rings
// from other instances), one signal at a time per goroutine: they must not block.
func (b *Bell) OnSignal(fn func(Signal)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers = append(b.handlers, fn)
}

// Ring hands sigs to this instance's handlers, then sends them to every other instance. An error
// means the other instances may not have heard them.
func (b *Bell) Ring(ctx context.Context, sigs ...Signal) error {
	b.dispatch(sigs)
	if b.st == nil || len(sigs) == 0 {
		return nil
	}
	return b.notify(ctx, sigs)
}

// Committed announces newly committed events (ingest's Committed hook): one Events signal per
// broadcaster, with its newest id, in as few notifications as fit. A failure is logged: the
// other instances catch up at their next ring or resync.
func (b *Bell) Committed(ctx context.Context, inserted []*store.Event) {
	newest := map[string]int64{}
	for _, ev := range inserted {
		newest[ev.BroadcasterID] = max(newest[ev.BroadcasterID], ev.ID)
	}
	sigs := make([]Signal, 0, len(newest))
	for bid, id := range newest {
		sigs = append(sigs, Signal{Kind: Events, BroadcasterID: bid, NewestID: id})
	}
	slices.SortFunc(sigs, func(x, y Signal) int { return cmp.Compare(x.BroadcasterID, y.BroadcasterID) })
	if err := b.Ring(ctx, sigs...); err != nil {
		b.log.Warn("doorbell: new events not announced to other instances", "broadcasters", len(sigs), "err", err)
	}
}

func (b *Bell) dispatch(sigs []Signal) {
	b.mu.Lock()
	hs := b.handlers
	b.mu.Unlock()
	for _, s := range sigs {
		for _, h := range hs {
			h(s)
		}
	}
}

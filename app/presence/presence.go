// Package presence counts a broadcaster's open streams (dashboards, overlays) on every instance
// sharing one PostgreSQL database. Each instance keeps its own counts in memory and writes them
// as heartbeat rows (store.SetPresence); a row whose instance stopped touching it stops counting
// after the TTL, so an instance that dies without cleaning up is forgotten. On SQLite there is
// only one instance: its counts are the whole truth and nothing is written.
package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
)

// Options configure a Presence. Zero values take defaults.
type Options struct {
	Store    *store.Store
	Instance string        // this instance's name in the table; "" a random one
	TTL      time.Duration // rows older than this do not count; default 30s
	Every    time.Duration // how often this instance touches its rows; default 10s
	Logger   *slog.Logger
}

// Presence is this instance's stream counts, shared through the store.
type Presence struct {
	st       *store.Store
	instance string
	ttl      time.Duration
	every    time.Duration
	log      *slog.Logger
	shared   bool // PostgreSQL: other instances may share the database

	mu    sync.Mutex
	local map[key]int      // the counts on this instance, zero ones left out
	dirty map[key]struct{} // counts not written yet
	wake  chan struct{}    // one slot: the writer has something to write
}

type key struct{ broadcaster, kind string }

// New makes a Presence; call Run to share its counts.
func New(o Options) *Presence {
	p := &Presence{st: o.Store, instance: o.Instance, ttl: o.TTL, every: o.Every, log: o.Logger,
		shared: o.Store != nil && o.Store.Dialect() == store.Postgres,
		local:  map[key]int{}, dirty: map[key]struct{}{}, wake: make(chan struct{}, 1)}
	if p.instance == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // never fails
		p.instance = hex.EncodeToString(b)
	}
	if p.ttl <= 0 {
		p.ttl = 30 * time.Second
	}
	if p.every <= 0 {
		p.every = 10 * time.Second
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Instance is this instance's name in the presence table.
func (p *Presence) Instance() string { return p.instance }

// Set records that this instance has n streams of kind open for broadcaster. It never blocks
// (the hub calls it while it holds its locks): the writer stores the latest count soon after.
func (p *Presence) Set(broadcaster, kind string, n int) {
	k := key{broadcaster, kind}
	p.mu.Lock()
	if n > 0 {
		p.local[k] = n
	} else {
		delete(p.local, k)
	}
	p.dirty[k] = struct{}{}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Count is the number of streams of kind open for broadcaster: this instance's, plus on
// PostgreSQL those of the other instances whose rows are fresh.
func (p *Presence) Count(ctx context.Context, broadcaster, kind string) (int, error) {
	p.mu.Lock()
	n := p.local[key{broadcaster, kind}]
	p.mu.Unlock()
	if !p.shared {
		return n, nil
	}
	others, err := p.st.CountPresence(ctx, broadcaster, kind, p.instance, time.Now().Add(-p.ttl))
	if err != nil {
		return n, err
	}
	return n + others, nil
}

// Run writes this instance's counts until ctx ends, then deletes its rows. Changed counts are
// written as they come (coalesced: the latest wins), the rows are touched every Every so that
// they stay fresh, and rows of instances dead for twice the TTL are deleted now and then. On
// SQLite it only waits for ctx.
func (p *Presence) Run(ctx context.Context) error {
	if !p.shared {
		<-ctx.Done()
		return nil
	}
	defer p.leave()
	touch := time.NewTicker(p.every)
	defer touch.Stop()
	sweep := time.NewTicker(p.ttl)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
			p.flush(ctx)
		case <-touch.C:
			p.flush(ctx)
			p.touch(ctx)
		case <-sweep.C:
			p.sweep(ctx)
		}
	}
}

// flush writes the counts changed since the last flush. A count that fails stays dirty and is
// tried again at the next touch.
func (p *Presence) flush(ctx context.Context) {
	p.mu.Lock()
	keys := make([]key, 0, len(p.dirty))
	for k := range p.dirty {
		keys = append(keys, k)
	}
	clear(p.dirty)
	p.mu.Unlock()
	for i, k := range keys {
		p.mu.Lock()
		n := p.local[k] // the latest count, even if it changed since the snapshot
		p.mu.Unlock()
		if err := p.st.SetPresence(ctx, p.instance, k.broadcaster, k.kind, n, time.Now()); err != nil {
			p.log.Warn("presence: write count", "broadcaster_id", k.broadcaster, "kind", k.kind, "err", err)
			p.markDirty(keys[i:])
			return
		}
	}
}

// touch keeps this instance's rows fresh. When fewer rows exist than counts (another instance
// took this one for dead and deleted them, say after a long pause), every count is written again.
func (p *Presence) touch(ctx context.Context) {
	n, err := p.st.TouchPresence(ctx, p.instance, time.Now())
	if err != nil {
		p.log.Warn("presence: touch", "err", err)
		return
	}
	p.mu.Lock()
	missing := int(n) < len(p.local)
	p.mu.Unlock()
	if missing {
		p.markAll()
		p.flush(ctx)
	}
}

// sweep deletes the rows of instances that stopped without deleting them.
func (p *Presence) sweep(ctx context.Context) {
	if n, err := p.st.DeleteStalePresence(ctx, time.Now().Add(-2*p.ttl)); err != nil {
		p.log.Warn("presence: delete stale rows", "err", err)
	} else if n > 0 {
		p.log.Info("presence: stale rows deleted", "count", n)
	}
}

// leave deletes this instance's rows, with a context of its own: Run's has ended.
func (p *Presence) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.st.DeletePresence(ctx, p.instance); err != nil {
		p.log.Warn("presence: delete own rows; they stop counting after the TTL", "err", err)
	}
}

func (p *Presence) markDirty(keys []key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		p.dirty[k] = struct{}{}
	}
}

func (p *Presence) markAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.local {
		p.dirty[k] = struct{}{}
	}
}

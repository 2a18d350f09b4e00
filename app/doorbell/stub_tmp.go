// Package doorbell tells every instance that something happened. This in-process version serves
// one instance; the PostgreSQL LISTEN/NOTIFY one replaces it.
package doorbell

import (
	"context"
	"sync"

	"github.com/twitch-event-viewer/tev/app/store"
)

const (
	Events          = "events"
	OverlayRotated  = "overlay-rotated"
	OverlaySettings = "overlay-settings"
	OverlayControl  = "overlay-control"
	TestAlert       = "test-alert"
	SessionEnded    = "session-ended"
	Resync          = "resync"
)

var Controls = map[string]bool{"pause": true, "resume": true, "skip": true, "clear": true}

type Signal struct {
	Kind          string       `json:"k"`
	BroadcasterID string       `json:"b,omitempty"`
	NewestID      int64        `json:"n,omitempty"`
	Control       string       `json:"c,omitempty"`
	Event         *store.Event `json:"e,omitempty"`
	TokenHash     string       `json:"t,omitempty"`
}

type Options struct{ Store *store.Store }

type Bell struct {
	mu sync.Mutex
	fs []func(Signal)
}

func New(o Options) *Bell { return &Bell{} }

func (b *Bell) OnSignal(fn func(Signal)) { b.mu.Lock(); b.fs = append(b.fs, fn); b.mu.Unlock() }

func (b *Bell) Ring(ctx context.Context, sigs ...Signal) error {
	b.mu.Lock()
	fs := b.fs
	b.mu.Unlock()
	for _, s := range sigs {
		for _, f := range fs {
			f(s)
		}
	}
	return nil
}

func (b *Bell) Committed(ctx context.Context, inserted []*store.Event) {
	newest := map[string]int64{}
	for _, ev := range inserted {
		newest[ev.BroadcasterID] = max(newest[ev.BroadcasterID], ev.ID)
	}
	for bid, id := range newest {
		_ = b.Ring(ctx, Signal{Kind: Events, BroadcasterID: bid, NewestID: id})
	}
}

func (b *Bell) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Package feed is the single write path for events: store, then ring the doorbell.
package feed

import (
	"context"

	"github.com/twitch-event-viewer/tev/app/store"
)

// Recorder stores events and announces the new ones.
type Recorder struct {
	store     *store.Store
	committed func(ctx context.Context, inserted []*store.Event)
}

// New makes a Recorder; committed hears of every newly stored event.
func New(s *store.Store, committed func(ctx context.Context, inserted []*store.Event)) *Recorder {
	return &Recorder{store: s, committed: committed}
}

// Record stores ev (setting ev.ID) and reports false for a duplicate.
func (r *Recorder) Record(ctx context.Context, ev *store.Event) (bool, error) {
	inserted, err := r.store.InsertEvent(ctx, ev)
	if err != nil || !inserted {
		return inserted, err
	}
	r.committed(ctx, []*store.Event{ev})
	return true, nil
}

// Package feed is the single write path for events: store, then ring the live hub.
package feed

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Renderer turns a stored event into the HTML a live viewer receives.
type Renderer func(ctx context.Context, ev store.Event) (string, error)

// Recorder stores events and announces the new ones to live viewers.
type Recorder struct {
	store  *store.Store
	hub    *hub.Hub
	render Renderer
	log    *slog.Logger

	// One broadcaster's events are stored and published under one lock, so viewers receive them
	// in id order and "everything after id N" never skips one. Striped to bound memory.
	locks [64]sync.Mutex
}

// New makes a Recorder.
func New(s *store.Store, h *hub.Hub, render Renderer, log *slog.Logger) *Recorder {
	return &Recorder{store: s, hub: h, render: render, log: log}
}

// Record stores ev (setting ev.ID) and, when it was new, publishes it to the broadcaster's
// viewers, rendered once. It reports false for a duplicate message, which is not published
// again; a hidden event is stored but never published. When it returns nil the event is committed.
func (r *Recorder) Record(ctx context.Context, ev *store.Event) (bool, error) {
	l := r.lockFor(ev.BroadcasterID)
	l.Lock()
	defer l.Unlock()
	inserted, err := r.store.InsertEvent(ctx, ev)
	if err != nil || !inserted {
		return inserted, err
	}
	if ev.Hidden || !r.hub.Watched(ev.BroadcasterID) {
		return true, nil
	}
	html, err := r.render(ctx, *ev)
	if err != nil {
		// Stored all the same: viewers get it from the database when they reconnect.
		r.log.Error("render live event", "event_id", ev.ID, "type", ev.Type, "err", err)
		return true, nil
	}
	r.hub.Publish(hub.Message{BroadcasterID: ev.BroadcasterID, EventID: ev.ID, Type: ev.Type, HTML: html, Event: *ev})
	return true, nil
}

func (r *Recorder) lockFor(broadcasterID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(broadcasterID))
	return &r.locks[h.Sum32()%uint32(len(r.locks))]
}

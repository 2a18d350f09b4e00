package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

// overlayKind is what the hub and presence call overlay streams.
const overlayKind = "overlay"

// Counter counts a broadcaster's open streams of a kind on every instance (app/presence).
type Counter interface {
	Count(ctx context.Context, broadcaster, kind string) (int, error)
}

// NewHub makes the live hub over the store's event log. onCount (may be nil) hears every change
// in the number of a broadcaster's streams on this instance.
func NewHub(st *store.Store, onCount func(broadcaster, kind string, n int), m *metrics.Metrics, log *slog.Logger) *hub.Hub {
	return hub.New(hub.Options{
		Read: func(ctx context.Context, b string, after int64, limit int) ([]store.Event, error) {
			return st.EventsAfter(ctx, b, after, limit)
		},
		Newest:  st.NewestEventID,
		OnCount: onCount,
		Metrics: m,
		Logger:  log,
	})
}

// onSignal is the doorbell's handler: new events are read by the hub, the rest goes to the
// broadcaster's open streams on this instance.
func (s *Server) onSignal(sig doorbell.Signal) {
	switch sig.Kind {
	case doorbell.Events:
		s.hub.Ring(sig.BroadcasterID, sig.NewestID)
	case doorbell.SessionEnded:
		s.sessionEnded(sig)
	case doorbell.Overlay:
		s.hub.Signal(sig.BroadcasterID, sig.Overlay)
	case doorbell.Resync:
		s.hub.Resync()
		s.hub.Each(func(k hub.Sink) { k.Signal(overlay.Signal{Kind: overlay.Missed}) })
	}
}

// tellOverlays sends sig to the broadcaster's open overlays on every instance.
func (s *Server) tellOverlays(ctx context.Context, broadcaster string, sig overlay.Signal) error {
	return s.bell.Ring(ctx, doorbell.Signal{Kind: doorbell.Overlay, BroadcasterID: broadcaster, Overlay: sig})
}

// tellOverlaysLogged sends a signal whose loss only delays its effect: overlays re-read their
// settings at every keep-alive.
func (s *Server) tellOverlaysLogged(c *gin.Context, broadcaster string, sig overlay.Signal) {
	if err := s.tellOverlays(c.Request.Context(), broadcaster, sig); err != nil {
		s.log.Warn("doorbell", "overlay", sig.Kind, "broadcaster_id", broadcaster, "err", err)
	}
}

// keepAlive writes a comment to every dashboard stream each heartbeat, and forgets broadcasters
// nobody watches any more.
func (s *Server) keepAlive() {
	t := time.NewTicker(s.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			s.hub.Each(func(k hub.Sink) {
				if l, ok := k.(*liveStream); ok {
					l.keepAlive()
				}
			})
			s.hub.Sweep()
			s.sessions.sweep()
		}
	}
}

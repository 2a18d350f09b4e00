package web

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// overlayStream is the overlay's SSE stream: one "alert" per new event, with the event id as
// the SSE id. A reconnect resumes after Last-Event-ID (the browser's own reconnect) or ?after=
// (the page's last shown alert, kept across OBS reloads); a first connect starts from now.
// Alerts older than the max age are skipped, so an outage does not dump a backlog on stream.
func (s *Server) overlayStream(c *gin.Context) error {
	slot := s.admitStream(c, "overlay:"+tokenHash(c.Param("token")),
		"too many open live streams for this overlay URL (%d); remove duplicate browser sources")
	if slot == nil {
		return nil
	}
	defer slot.release()
	ctx := c.Request.Context()
	connected, ok := s.admission.connecting(ctx)
	if !ok {
		s.streamBusy(c)
		return nil
	}
	o, err := s.overlayConnect(c)
	connected()
	if o == nil {
		return err
	}
	defer o.m.Leave()
	ov, sink, a, w := o.ov, o.sink, o.a, c.Writer

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-beat.C:
			// Another instance may have rotated the URL or changed a setting: its hub cannot tell this one.
			if !s.overlayReload(c, ov.TokenHash, a) {
				return nil
			}
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-a.quiet():
			a.flush()
		case item, ok := <-sink.c:
			if !ok {
				return nil // dropped as too slow, or the server is closing: the browser reconnects and catches up
			}
			if !s.overlayItem(c, ov.TokenHash, a, w, item) {
				return nil
			}
		}
		w.Flush()
	}
}

// overlayConn is an overlay stream that has joined the hub and sent its start.
type overlayConn struct {
	ov   *store.Overlay
	sink *overlaySink
	m    *hub.Member
	a    *alerter
}

// overlayConnect starts an overlay's stream: the ready frame, then what it missed. Nil without
// error: the catch-up failed after the stream started, and the browser reconnects.
func (s *Server) overlayConnect(c *gin.Context) (*overlayConn, error) {
	ov, err := s.overlayOf(c)
	if err != nil {
		return nil, err
	}
	b := ov.BroadcasterID
	// Join before reading the database: the cursor drops what both deliver.
	sink := newOverlaySink(ov.TokenHash)
	m, _, _, _, err := s.hub.Join(c.Request.Context(), b, sink, -1)
	if err != nil {
		return nil, unavailable("The live stream is not available right now.", err)
	}
	a, err := s.overlayStartStream(c, ov)
	if a == nil {
		m.Leave()
		return nil, err
	}
	return &overlayConn{ov: ov, sink: sink, m: m, a: a}, nil
}

// overlayStartStream sends the start of the stream and the alerts missed.
func (s *Server) overlayStartStream(c *gin.Context, ov *store.Overlay) (*alerter, error) {
	b := ov.BroadcasterID
	after, replay, err := s.overlayStart(c, b)
	if err != nil {
		return nil, unavailable("The database is not answering.", err)
	}
	settings, err := s.store.AlertSettings(c.Request.Context(), b)
	if err != nil {
		return nil, unavailable("The database is not answering.", err)
	}
	w := startSSE(c)
	// The start as an id, so that the browser's reconnect resumes here even before any alert.
	fmt.Fprintf(w, "retry: 2000\nid: %d\nevent: ready\ndata: \n\n", after)

	a := &alerter{w: w, cursor: after, maxAge: s.cfg.OverlayMaxAge, now: s.now, flood: s.flood, safeMode: ov.SafeMode, settings: settings}
	if replay {
		if err := a.catchUp(c, s.store, b); err != nil {
			s.log.Error("overlay catch-up", "broadcaster_id", b, "err", err)
			return nil, nil // the browser reconnects and tries again
		}
	}
	w.Flush()
	return a, nil
}

// overlayItem applies one event or signal to an overlay stream; false ends the stream.
func (s *Server) overlayItem(c *gin.Context, hash string, a *alerter, w io.Writer, item any) bool {
	switch v := item.(type) {
	case *store.Event:
		a.add(*v) // in id order; what the catch-up sent is dropped
	case doorbell.Signal:
		switch v.Kind {
		case doorbell.OverlayRotated, doorbell.OverlaySettings, doorbell.Resync:
			return s.overlayReload(c, hash, a)
		case doorbell.TestAlert:
			if v.Event != nil && !a.off(v.Event.Type) {
				a.play(*v.Event)
			}
		case doorbell.OverlayControl:
			// No id: a command is for the overlays open now, never replayed on a reconnect.
			if doorbell.Controls[v.Control] {
				writeSSE(w, "control", 0, v.Control)
			}
		}
	}
	return true
}

// overlayStart is where a stream resumes: after Last-Event-ID, else ?after=, replaying what was
// missed; else after the newest event, replaying nothing. An id past the newest (the database
// was reset) resumes at the newest.
func (s *Server) overlayStart(c *gin.Context, broadcaster string) (after int64, replay bool, err error) {
	newest, err := s.store.NewestEventID(c.Request.Context(), broadcaster)
	if err != nil {
		return 0, false, err
	}
	for _, v := range []string{c.GetHeader("Last-Event-ID"), c.Query("after")} {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id >= 0 {
			return min(id, newest), true, nil
		}
	}
	return newest, false, nil
}

// overlayReload reports whether the stream's token is still the overlay's (not rotated away),
// and applies the overlay's current settings. A database error keeps the stream as it is: it is
// not proof of rotation.
func (s *Server) overlayReload(c *gin.Context, hash string, a *alerter) bool {
	ov, err := s.store.OverlayByTokenHash(c.Request.Context(), hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		s.log.Warn("overlay reload", "err", err)
		return true
	}
	a.setSafeMode(ov.SafeMode)
	if settings, err := s.store.AlertSettings(c.Request.Context(), ov.BroadcasterID); err == nil {
		a.settings = settings
	}
	return true
}

// alertable reports whether ev plays on the overlay: a stored, visible (or merely superseded),
// live event of an alert type that is recent enough.
func alertable(ev store.Event, now time.Time, maxAge time.Duration) bool {
	return eventsub.Alertable(ev.Type) && (!ev.Hidden || ev.Superseded()) && ev.Source != store.SourceBackfill && now.Sub(ev.OccurredAt) <= maxAge
}

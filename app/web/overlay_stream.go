package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

// overlayStream is the overlay's SSE stream: one "alert" per new event, with the event id as
// the SSE id, or a "skip" with its id for an event that does not play. A reconnect resumes after Last-Event-ID (the browser's own reconnect) or ?after=
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
	sink, e, w := o.sink, o.e, c.Writer

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	held := alarm{now: s.now} // when the held follows' burst ends
	defer held.stop()
	for {
		held.set(e.Due())
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-beat.C:
			// Another instance may have rotated the URL or changed a setting: its hub cannot tell this one.
			if !s.overlayReload(c, o, w) {
				return nil
			}
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-held.c():
			held.fired()
			e.Tick()
		case item, ok := <-sink.c:
			if !ok {
				return nil // dropped as too slow, or the server is closing: the browser reconnects and catches up
			}
			if !s.overlayItem(c, o, w, item) {
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
	e    *overlay.Engine
	push settingsPush // the settings the page was sent last
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
	o := &overlayConn{ov: ov, sink: sink, m: m}
	if o.e, err = s.overlayStartStream(c, ov, &o.push); o.e == nil {
		m.Leave()
		return nil, err
	}
	return o, nil
}

// overlayStartStream sends the start of the stream (with the page's settings, through push) and the
// alerts missed.
func (s *Server) overlayStartStream(c *gin.Context, ov *store.Overlay, push *settingsPush) (*overlay.Engine, error) {
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
	// The page may be older than the settings (it reconnects after they changed).
	push.push(w, ov)

	e := overlay.NewEngine(overlay.Options{Cursor: after, MaxAge: s.cfg.OverlayMaxAge, Flood: s.flood, Now: s.now,
		Policy: s.policyOf(ov, settings),
		Play:   func(al overlay.Alert) { writeAlert(w, al) },
		// An event that does not play (safe mode, a type switched off) moves the page's resume point
		// too: turned back on, it must not play after an OBS reload.
		Skip: func(id int64) { writeSSE(w, "skip", id, strconv.FormatInt(id, 10)) }})
	if replay {
		if err := s.overlayCatchUp(c, e, b); err != nil {
			s.log.Error("overlay catch-up", "broadcaster_id", b, "err", err)
			return nil, nil // the browser reconnects and tries again
		}
	}
	w.Flush()
	return e, nil
}

// overlayCatchUp replays what a reconnecting overlay missed, from the database.
func (s *Server) overlayCatchUp(c *gin.Context, e *overlay.Engine, broadcaster string) error {
	for {
		evs, err := s.store.ShownAfter(c.Request.Context(), broadcaster, store.Shown{Superseded: true}, e.Cursor(), catchUpLimit)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			e.Add(ev)
		}
		if len(evs) < catchUpLimit {
			return nil
		}
	}
}

func writeAlert(w io.Writer, al overlay.Alert) {
	data, _ := json.Marshal(al) // strings and numbers only
	writeSSE(w, "alert", al.ID, string(data))
}

// overlayItem applies one event or signal to an overlay stream; false ends the stream.
func (s *Server) overlayItem(c *gin.Context, o *overlayConn, w io.Writer, item any) bool {
	e := o.e
	switch v := item.(type) {
	case *store.Event:
		e.Add(*v) // in id order; what the catch-up sent is dropped
	case overlay.Signal:
		switch {
		case v.Kind == overlay.Rotated, v.Kind == overlay.SettingsChanged, v.Kind == overlay.Missed:
			return s.overlayReload(c, o, w)
		case v.Kind == overlay.TestAlert:
			if v.Test != nil {
				e.Test(*v.Test)
			}
		case v.Kind.Control():
			// No id: a command is for the overlays open now, never replayed on a reconnect.
			writeSSE(w, "control", 0, string(v.Kind))
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
// and applies the overlay's current settings, sending the page those it applies itself. A
// database error keeps the stream as it is: it is not proof of rotation.
func (s *Server) overlayReload(c *gin.Context, o *overlayConn, w io.Writer) bool {
	e := o.e
	ov, err := s.store.OverlayByTokenHash(c.Request.Context(), o.ov.TokenHash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		s.log.Warn("overlay reload", "err", err)
		return true
	}
	o.push.push(w, ov)
	if settings, err := s.store.AlertSettings(c.Request.Context(), ov.BroadcasterID); err == nil {
		e.SetPolicy(s.policyOf(ov, settings))
	}
	return true
}

// alarm is a timer set to a time that may change: the end of the follows held.
type alarm struct {
	now func() time.Time
	t   *time.Timer
	at  time.Time
}

// set arms the alarm for at (ok), or stops it (!ok).
func (a *alarm) set(at time.Time, ok bool) {
	if a.t != nil && ok && a.at.Equal(at) {
		return
	}
	a.stop()
	if ok {
		a.t, a.at = time.NewTimer(at.Sub(a.now())), at
	}
}

// c fires at the alarm's time; nil (never) when it is not set.
func (a *alarm) c() <-chan time.Time {
	if a.t == nil {
		return nil
	}
	return a.t.C
}

// fired forgets the alarm that went off, so that the next set arms a new one.
func (a *alarm) fired() { a.t = nil }

func (a *alarm) stop() {
	if a.t != nil {
		a.t.Stop()
		a.t = nil
	}
}

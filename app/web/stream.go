package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// catchUpLimit bounds how many missed events are replayed one by one; past it the viewer gets
// a fresh list instead.
const catchUpLimit = 200

// dashboardStream is the dashboard's SSE stream. It first brings the viewer up to date: after
// Last-Event-ID (the browser's own reconnect) it replays what was missed, otherwise it sends a
// "reset" with the current list. Then each new event comes as an "event" with the row's HTML.
// Every message carries the newest event id sent, so any reconnect resumes without gaps.
//
// With ?type= the viewer sees one event type: the list, the catch-up and live rows alike.
func (s *Server) dashboardStream(c *gin.Context) error {
	filter, err := typeFilter(c)
	if err != nil {
		return err
	}
	broadcaster := sessionOf(c).BroadcasterID
	// Subscribe before reading the database: an event stored in between is then both in the
	// snapshot and in the subscription, and the cursor drops the second copy.
	sub := s.hub.Subscribe(broadcaster)
	defer sub.Close()

	w := startSSE(c)
	fmt.Fprint(w, "retry: 2000\n\n")

	cursor, err := s.catchUp(c, w, broadcaster, filter)
	if err != nil {
		// Headers are sent; ending the stream makes the browser reconnect and try again.
		s.log.Error("stream catch-up", "broadcaster_id", broadcaster, "err", err)
		return nil
	}
	w.Flush()

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case m, ok := <-sub.C:
			if !ok {
				// Dropped as too slow: close, and the browser reconnects and catches up from the log.
				return nil
			}
			if m.Kind != "" || m.EventID <= cursor || (filter != "" && m.Type != filter) {
				continue
			}
			cursor = m.EventID
			writeSSE(w, "event", cursor, m.HTML)
		}
		w.Flush()
	}
}

// catchUp writes what the viewer is missing and returns the newest event id it now has.
func (s *Server) catchUp(c *gin.Context, w io.Writer, broadcaster, filter string) (int64, error) {
	ctx := c.Request.Context()
	shown := store.Shown{Type: filter}
	if last, err := strconv.ParseInt(c.GetHeader("Last-Event-ID"), 10, 64); err == nil && last >= 0 {
		missed, err := s.store.ShownAfter(ctx, broadcaster, shown, last, catchUpLimit+1)
		if err != nil {
			return 0, err
		}
		stale, err := s.behindLog(c, broadcaster, last, len(missed))
		if err != nil {
			return 0, err
		}
		if len(missed) <= catchUpLimit && !stale {
			cursor := last
			for _, ev := range missed {
				html, err := renderString(ctx, views.EventRowItem(liveRow(ev)))
				if err != nil {
					return 0, err
				}
				cursor = ev.ID
				writeSSE(w, "event", cursor, html)
			}
			return cursor, nil
		}
	}
	// The list is by time, the cursor by id: both from one snapshot, so that nothing stored in
	// between is both in the list and sent again, or in neither.
	evs, cursor, err := s.store.TimelineTopShown(ctx, broadcaster, shown, pageSize+1)
	if err != nil {
		return 0, err
	}
	p := pageOf(evs, filter)
	if err := s.markBursts(ctx, broadcaster, &p); err != nil {
		return 0, err
	}
	html, err := renderString(ctx, views.EventList(p))
	if err != nil {
		return 0, err
	}
	writeSSE(w, "reset", cursor, html)
	return cursor, nil
}

// behindLog reports whether a viewer's Last-Event-ID is ahead of the log (the database was
// reset while the page stayed open): such a viewer needs a fresh list, or it would skip new ids.
func (s *Server) behindLog(c *gin.Context, broadcaster string, last int64, missed int) (bool, error) {
	if missed > 0 || last == 0 {
		return false, nil
	}
	newest, err := s.store.ListEvents(c.Request.Context(), broadcaster, 0, 1)
	if err != nil {
		return false, err
	}
	return len(newest) == 0 || newest[0].ID < last, nil
}

// signedOutStream answers a stream request whose session has ended (signed out in another tab,
// expired): the page says so and, through sse-close, stops reconnecting. A bare 401 would make
// the SSE extension retry forever behind a "Reconnecting…" badge.
func signedOutStream(c *gin.Context) {
	startSSE(c)
	html, _ := renderString(c.Request.Context(), views.SignedOutNotice())
	writeSSE(c.Writer, "reset", 0, html)
	writeSSE(c.Writer, "signed-out", 0, "")
	c.Writer.Flush()
}

// startSSE sends the headers of an event stream, shared by the dashboard and overlay streams.
func startSSE(c *gin.Context) gin.ResponseWriter {
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	return w
}

// writeSSE writes one server-sent event; every line of data gets its own "data:" field.
func writeSSE(w io.Writer, event string, id int64, data string) {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	if id > 0 {
		b.WriteString("id: " + strconv.FormatInt(id, 10) + "\n")
	}
	// EventSource ends a line at CRLF, LF or a lone CR: a CR left inside a line (a cheer message can
	// hold one) would cut the row short. HTML reads CR and CRLF as LF, so the row is unchanged.
	data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}

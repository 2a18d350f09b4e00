package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// catchUpLimit bounds how many missed events are replayed one by one; past it the viewer gets
// a fresh list instead.
const catchUpLimit = 200

// catchUpTimeout bounds the catch-up's queries.
const catchUpTimeout = 10 * time.Second

// retryFrame tells the browser how soon to reconnect after the stream ends.
var retryFrame = []byte("retry: 2000\n\n")

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
	sess := sessionOf(c)
	if page := c.Query("session"); page != "" && page != s.pageSession(sess) {
		// The page was made for a session that has ended (signed out, then in again in another
		// tab, while this page was reconnecting): its forms carry that session's CSRF token, so
		// it must not look live under the new one.
		signedOutStream(c)
		return nil
	}
	slot := s.admitStream(c, "session:"+sess.TokenHash, "too many open live streams for this session (%d); close some tabs")
	if slot == nil {
		return nil
	}
	// From here the stream owns the slot: it is released when the stream ends, however it ends.
	l := newLiveStream(s, sess.BroadcasterID, sess.TokenHash, filter, slot)
	ctx := c.Request.Context()
	connected, ok := s.admission.connecting(ctx)
	if !ok {
		l.end(nil)
		s.streamBusy(c)
		return nil
	}
	frames, cursor, err := s.joinDashboard(ctx, l, filter, lastEventID(c))
	connected()
	if err != nil {
		l.end(nil)
		return err
	}
	if s.sessionGone(ctx, sess.TokenHash) {
		// Signed out after this request found the session and before the stream joined the hub:
		// the signal went to the streams that were there.
		l.end(signedOutFrames())
	}
	l.start(frames, cursor)
	if err := l.takeOver(c, retryFrame); err == errNoTakeOver {
		l.serveInHandler(c, retryFrame)
	} else if err != nil {
		l.end(nil) // the viewer left before the head was written
	}
	return nil
}

// joinDashboard adds l to the hub and returns the frames that bring its viewer up to date.
func (s *Server) joinDashboard(ctx context.Context, l *liveStream, filter string, after int64) ([][]byte, int64, error) {
	// Join before reading the database: an event stored in between is then both in the catch-up
	// and delivered live, and the stream's cursor drops the second copy.
	m, missed, cursor, inWindow, err := s.hub.Join(ctx, l.broadcaster, l, after)
	if err != nil {
		return nil, 0, unavailable("The live stream is not available right now.", err)
	}
	l.mu.Lock()
	l.member = m
	closed := l.closed
	l.mu.Unlock()
	if closed {
		m.Leave()
	}
	frames, cursor, err := s.catchUp(ctx, m, l.broadcaster, filter, after, missed, cursor, inWindow)
	if err != nil {
		return nil, 0, unavailable("The database is not answering.", err)
	}
	return frames, cursor, nil
}

// pageSession names the session a dashboard page was made for, in its stream URL (?session=),
// without showing the session's token hash.
func (s *Server) pageSession(sess *store.Session) string {
	return s.mac("page-session", sess.TokenHash)[:16]
}

// sessionGone reports whether the session with hash has ended; a database that does not
// answer is not taken as an ended session.
func (s *Server) sessionGone(ctx context.Context, hash string) bool {
	_, err := s.sessionByTokenHash(ctx, hash)
	return errors.Is(err, store.ErrNotFound)
}

// lastEventID is the browser's Last-Event-ID, or -1 without one.
func lastEventID(c *gin.Context) int64 {
	if last, err := strconv.ParseInt(c.GetHeader("Last-Event-ID"), 10, 64); err == nil && last >= 0 {
		return last
	}
	return -1
}

// catchUp returns the frames a joining viewer is missing and the newest event id they cover.
// Viewers who resume from the same place, or start afresh, share one query and one rendering.
func (s *Server) catchUp(ctx context.Context, m *hub.Member, broadcaster, filter string, after int64, missed []*hub.Delivery, cursor int64, inWindow bool) ([][]byte, int64, error) {
	// A shared result must not fail because the viewer who happened to compute it left.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catchUpTimeout)
	defer cancel()
	if after >= 0 && inWindow && len(missed) <= catchUpLimit {
		var frames [][]byte
		for _, d := range missed {
			if filter == "" || d.Event.Type == filter {
				frames = append(frames, d.Frame(dashboardKey, s.liveFrame))
			}
		}
		return frames, max(after, cursor), nil
	}
	if after >= 0 && !inWindow {
		v, err := m.Memo(fmt.Sprintf("after:%s:%d", filter, after), cursor, func() (any, error) {
			return s.missedFromLog(ctx, broadcaster, filter, after)
		})
		if err != nil {
			return nil, 0, err
		}
		if r := v.(*catchUpResult); r != nil {
			return r.frames, r.cursor, nil
		}
	}
	v, err := m.Memo("list:"+filter, cursor, func() (any, error) { return s.freshList(ctx, broadcaster, filter) })
	if err != nil {
		return nil, 0, err
	}
	r := v.(*catchUpResult)
	return r.frames, r.cursor, nil
}

type catchUpResult struct {
	frames [][]byte
	cursor int64
}

// missedFromLog reads what a viewer missed from the database; nil when a fresh list serves
// them better (too much missed, or their id is ahead of the log: the database was reset).
func (s *Server) missedFromLog(ctx context.Context, broadcaster, filter string, after int64) (*catchUpResult, error) {
	evs, err := s.store.ShownAfter(ctx, broadcaster, store.Shown{Type: filter}, after, catchUpLimit+1)
	if err != nil {
		return nil, err
	}
	if len(evs) > catchUpLimit {
		return nil, nil
	}
	if len(evs) == 0 && after > 0 {
		newest, err := s.store.NewestEventID(ctx, broadcaster)
		if err != nil {
			return nil, err
		}
		if newest < after {
			return nil, nil
		}
	}
	r := &catchUpResult{cursor: after}
	for i := range evs {
		r.frames = append(r.frames, s.liveFrame(&evs[i]))
		r.cursor = evs[i].ID
	}
	return r, nil
}

// freshList is the "reset" with the current list. The list is by time, the cursor by id: both
// from one snapshot, so that nothing stored in between is both in the list and sent again, or
// in neither.
func (s *Server) freshList(ctx context.Context, broadcaster, filter string) (*catchUpResult, error) {
	evs, cursor, err := s.store.TimelineTopShown(ctx, broadcaster, store.Shown{Type: filter}, pageSize+1)
	if err != nil {
		return nil, err
	}
	p := pageOf(evs, filter)
	if err := s.markBursts(ctx, broadcaster, &p); err != nil {
		return nil, err
	}
	html, err := renderString(ctx, views.EventList(p))
	if err != nil {
		return nil, err
	}
	return &catchUpResult{frames: [][]byte{sseFrame("reset", cursor, html)}, cursor: cursor}, nil
}

// signedOutStream answers a stream request whose session has ended (signed out in another tab,
// expired): the page says so and, through sse-close, stops reconnecting. A bare 401 would make
// the SSE extension retry forever behind a "Reconnecting…" badge.
func signedOutStream(c *gin.Context) {
	w := startSSE(c)
	for _, f := range signedOutFrames() {
		_, _ = w.Write(f)
	}
	w.Flush()
}

// signedOutFrames replace the list by a notice and close the page's stream.
func signedOutFrames() [][]byte {
	html, _ := renderString(context.Background(), views.SignedOutNotice())
	return [][]byte{sseFrame("reset", 0, html), sseFrame("signed-out", 0, "")}
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

// sseFrame is one server-sent event as bytes.
func sseFrame(event string, id int64, data string) []byte {
	var b bytes.Buffer
	writeSSE(&b, event, id, data)
	return b.Bytes()
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

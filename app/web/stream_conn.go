package web

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// A dashboard viewer costs little while idle: after the headers the connection is taken over from
// net/http (whose per-connection buffers and goroutine are then released), frames are rendered
// once per event and shared by every viewer. A new row is written by the hub's fan-out itself when
// the socket takes it at once (one system call, no goroutine); a goroutine exists only while a
// viewer's socket is full and something waits to be written. Where the connection cannot be taken over (HTTP/2), the handler writes instead.

const (
	maxQueued    = 64               // frames a viewer may fall behind before it is dropped
	writeTimeout = 10 * time.Second // a viewer that takes longer to accept a frame is dropped
	dashboardKey = "dashboard"
)

var keepAliveFrame = []byte(": keep-alive\n\n")

type frame struct {
	b    []byte
	read time.Time // when the hub read the event (zero for other frames): delivery lag
}

// liveStream is one dashboard viewer: a hub sink.
type liveStream struct {
	s           *Server
	broadcaster string
	session     string // the session's token hash: signing out ends the stream
	filter      string // one event type, or all
	slot        *streamSlot

	mu      sync.Mutex
	member  *hub.Member
	last    int64           // newest event id queued: anything at or below it is not sent again
	started bool            // the catch-up is queued; live frames may follow
	early   []*hub.Delivery // live deliveries that came before the catch-up was ready
	queue   []frame
	behind  int      // live frames queued and not yet taken by the writer
	final   [][]byte // written just before closing
	writing bool
	closed  bool
	conn    net.Conn        // taken over; nil while the handler writes
	raw     syscall.RawConn // conn's descriptor, for writes that must not wait (nil: none)
	wake    chan struct{}   // handler mode: frames are waiting
	done    chan struct{}   // closed when the stream ends
}

func newLiveStream(s *Server, broadcaster, session, filter string, slot *streamSlot) *liveStream {
	return &liveStream{s: s, broadcaster: broadcaster, session: session, filter: filter, slot: slot,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (l *liveStream) Kind() string { return dashboardKey }

// Deliver queues the rows of new events; a viewer too far behind is dropped and reconnects.
func (l *liveStream) Deliver(ds []*hub.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if !l.started {
		l.early = append(l.early, ds...)
		if len(l.early) > maxQueued*4 {
			l.closeLocked(nil)
		}
		return
	}
	l.queueLocked(ds)
}

func (l *liveStream) queueLocked(ds []*hub.Delivery) {
	for _, d := range ds {
		if d.Event.ID <= l.last || (l.filter != "" && d.Event.Type != l.filter) {
			continue
		}
		l.last = d.Event.ID
		l.queue = append(l.queue, frame{b: d.Frame(dashboardKey, l.s.liveFrame), read: d.Read})
		l.behind++
	}
	l.kickLocked() // writes at once when the socket takes it: a burst is not "behind"
	if l.behind > maxQueued {
		l.closeLocked(nil) // too slow: the browser reconnects and catches up from its last id
	}
}

// Signal ends the stream when its session ended (signed out, account deleted).
func (l *liveStream) Signal(v any) {
	sig, ok := v.(doorbell.Signal)
	if !ok || sig.Kind != doorbell.SessionEnded || (sig.TokenHash != "" && sig.TokenHash != l.session) {
		return
	}
	l.end(signedOutFrames())
}

// start queues the catch-up (everything up to cursor), then the live rows that came meanwhile.
func (l *liveStream) start(frames [][]byte, cursor int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range frames {
		l.queue = append(l.queue, frame{b: f})
	}
	l.last, l.started = cursor, true
	early := l.early
	l.early = nil
	if l.closed {
		return
	}
	l.queueLocked(early)
}

// keepAlive queues a comment when nothing else is waiting: proxies keep the stream open, and a
// viewer who left is noticed when the write fails.
func (l *liveStream) keepAlive() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.started || len(l.queue) > 0 {
		return
	}
	l.queue = append(l.queue, frame{b: keepAliveFrame})
	l.kickLocked()
}

// end closes the stream after writing frames (the signed-out notice), if any.
func (l *liveStream) end(frames [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked(frames)
}

// Close ends the stream (server shutdown).
func (l *liveStream) Close() { l.end(nil) }

func (l *liveStream) kickLocked() {
	if l.conn == nil {
		select {
		case l.wake <- struct{}{}:
		default:
		}
		return
	}
	if !l.writing && !l.writeNowLocked() {
		l.writing = true
		go l.drain()
	}
}

// writeNowLocked writes the queue in the caller's goroutine if the socket takes it all at once,
// without waiting: an idle viewer's new row then costs one system call and no goroutine. Whatever
// is left (a full socket buffer, an error) goes to drain, which waits and handles errors.
func (l *liveStream) writeNowLocked() bool {
	if l.raw == nil || l.closed || len(l.queue) == 0 {
		return false
	}
	b := l.queue[0].b
	if len(l.queue) > 1 {
		b = nil
		for _, f := range l.queue {
			b = append(b, f.b...)
		}
	}
	n, err := writeNoWait(l.raw, b)
	if err != nil || n <= 0 {
		return false
	}
	if n < len(b) {
		last := l.queue[len(l.queue)-1]
		l.queue = []frame{{b: b[n:], read: last.read}}
		return false
	}
	q := l.queue
	l.queue, l.behind = nil, 0
	l.delivered(q)
	return true
}

// closeLocked marks the stream closed; the writer sends final and closes the connection.
func (l *liveStream) closeLocked(final [][]byte) {
	if l.closed {
		return
	}
	l.closed = true
	l.queue, l.early, l.final = nil, nil, final
	close(l.done)
	l.slot.release() // the connection closes right after the final frames
	if l.member != nil {
		go l.member.Leave()
	}
	l.kickLocked()
}

// take returns the waiting frames; once closed, the final frames and closed true.
func (l *liveStream) take() (q []frame, final [][]byte, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		final, l.final = l.final, nil
		return nil, final, true
	}
	q, l.queue, l.behind = l.queue, nil, 0
	if len(q) == 0 {
		l.writing = false
	}
	return q, nil, false
}

// drain writes what is queued, one system call per batch; the goroutine ends when the queue is empty.
func (l *liveStream) drain() {
	for {
		q, final, closed := l.take()
		if closed {
			if len(final) > 0 {
				_ = l.conn.SetWriteDeadline(time.Now().Add(time.Second))
				bufs := net.Buffers(final)
				_, _ = bufs.WriteTo(l.conn)
			}
			_ = l.conn.Close()
			return
		}
		if len(q) == 0 {
			return
		}
		bufs := make(net.Buffers, len(q))
		for i, f := range q {
			bufs[i] = f.b
		}
		_ = l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := bufs.WriteTo(l.conn); err != nil {
			l.end(nil) // the viewer left, or stopped reading
			continue
		}
		l.delivered(q)
	}
}

func (l *liveStream) delivered(q []frame) {
	now := time.Now()
	for _, f := range q {
		if !f.read.IsZero() {
			l.s.metrics.Delivered(now.Sub(f.read))
		}
	}
}

// streamHead is the response head of a taken-over stream. The body ends when the connection
// closes, so it needs no length and no chunking.
func streamHead(h http.Header) []byte {
	b := []byte("HTTP/1.1 200 OK\r\n")
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	for k, vs := range h {
		for _, v := range vs {
			b = append(b, k+": "+v+"\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

var errNoTakeOver = errors.New("connection cannot be taken over")

// takeOver sends the head and the first frames itself and keeps the bare connection: net/http
// forgets it, with its buffers.
func (l *liveStream) takeOver(c *gin.Context, first []byte) error {
	if c.Request.ProtoMajor != 1 {
		return errNoTakeOver
	}
	hj, ok := c.Writer.(http.Hijacker)
	if !ok {
		return errNoTakeOver
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return errNoTakeOver
	}
	if err := writeHead(conn, rw, append(streamHead(c.Writer.Header().Clone()), first...)); err != nil {
		_ = conn.Close()
		return err
	}
	l.mu.Lock()
	l.conn = conn
	if sc, ok := conn.(syscall.Conn); ok {
		l.raw, _ = sc.SyscallConn()
	}
	if l.closed || len(l.queue) > 0 {
		l.writing = true
		go l.drain()
	}
	l.mu.Unlock()
	go l.watchClose(conn)
	return nil
}

// watchClose ends the stream as soon as the browser closes the connection. Without it a viewer
// who left would be noticed only by the next write (up to a heartbeat later), and keep its
// session's and address's stream slots meanwhile: a few quick reloads would hit the caps. A
// browser sends nothing after its request, so anything read is discarded.
func (l *liveStream) watchClose(conn net.Conn) {
	var b [64]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			l.end(nil)
			return
		}
	}
}

func writeHead(conn net.Conn, rw *bufio.ReadWriter, b []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := conn.Write(b); err != nil {
		return err
	}
	_ = rw // its buffers are garbage now; a stream request has no body to read
	return nil
}

// serveInHandler writes the stream from the handler's goroutine (HTTP/2, tests' recorders).
func (l *liveStream) serveInHandler(c *gin.Context, first []byte) {
	w := startSSE(c)
	_, _ = w.Write(first)
	w.Flush()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			l.end(nil)
		case <-l.wake:
		case <-l.done:
		}
		q, final, closed := l.take()
		for _, f := range q {
			_, _ = w.Write(f.b)
		}
		for _, f := range final {
			_, _ = w.Write(f)
		}
		w.Flush()
		l.delivered(q)
		if closed {
			return
		}
	}
}

// liveFrame renders ev's live row as an SSE frame, once for all its viewers.
func (s *Server) liveFrame(ev *store.Event) []byte {
	html, err := RenderLiveRow(context.Background(), *ev)
	if err != nil {
		s.log.Error("render live event", "event_id", ev.ID, "type", ev.Type, "err", err)
		return nil
	}
	return sseFrame("event", ev.ID, html)
}

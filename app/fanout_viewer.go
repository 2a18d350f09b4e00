package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A viewer is one open dashboard stream, read the way a browser's EventSource reads it. Ten
// thousand of them fit in one process: each is one goroutine with one small read buffer over a
// bare connection (no http.Transport, whose every connection costs two goroutines and two buffers).

const (
	viewerBuffer = 2048                   // read buffer per viewer; longer lines are gathered aside
	defaultRetry = 3 * time.Second        // EventSource's reconnect delay until the server sets one
	dialTimeout  = 10 * time.Second       //
	headTimeout  = 30 * time.Second       // for the response head; the stream itself has no deadline
	maxErrorBody = 200                    // bytes of a refusal's body kept as its reason
	eventMarker  = "fanout_"              // follower logins are fanout_RUN_N_
	refusedRetry = "refused, retry later" // the stream closed before its first frame, with a retry delay
)

// target is one app instance's dashboard stream.
type target struct {
	base     string // http://host:port
	hostport string // what to dial
	host     string // Host header and TLS server name
	path     string // /dashboard/stream
	tls      bool
	loopback bool // local addresses 127.0.0.x can be bound to reach it
}

func newTarget(raw string) (*target, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fanout: --url %q must be the app's http(s) address", raw)
	}
	t := &target{base: u.Scheme + "://" + u.Host, host: u.Host, path: u.Path + "/dashboard/stream", tls: u.Scheme == "https"}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[t.tls]
	}
	if host == "localhost" {
		host = "127.0.0.1" // bindable source addresses are IPv4
	}
	t.hostport = net.JoinHostPort(host, port)
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && ip.IsLoopback() {
		t.loopback = true
	}
	return t, nil
}

// viewer is one stream's state. lastID and lastEvent belong to the viewer's goroutine; between
// phases the fanout waits for it to end before reading them.
type viewer struct {
	f       *fanout
	t       *target
	cookie  string
	local   *net.TCPAddr // nil: any
	recv    []atomic.Int64
	retry   time.Duration
	lastID  int64
	lastEvt int
	ok      bool // connected at least once
	failed  atomic.Bool
	scratch []byte
}

// run keeps the viewer connected until ctx ends, reconnecting as EventSource does: after a
// stream ends, with Last-Event-ID, after the server's retry delay. A refused connect (an HTTP
// error) ends it, as it ends an EventSource.
func (v *viewer) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := v.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		var refused *refusal
		switch {
		case errors.As(err, &refused) && refused.reason == refusedRetry:
			v.f.refusedRetry.Add(1)
		case errors.As(err, &refused) || !v.ok:
			v.failed.Store(true)
			v.f.fail(err)
			return
		default:
			v.f.drops.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(v.retry):
		}
	}
}

// refusal is a connect the server answered but did not serve.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

// stream connects once and reads until the stream ends.
func (v *viewer) stream(ctx context.Context) error {
	conn, err := v.dial(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nCookie: %s\r\n",
		v.t.path, v.t.host, v.cookie)
	if v.lastID > 0 {
		fmt.Fprintf(&req, "Last-Event-ID: %d\r\n", v.lastID)
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(headTimeout))
	if _, err := conn.Write(req.Bytes()); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	br := bufio.NewReaderSize(conn, viewerBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("read response head: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &refusal{fmt.Sprintf("status %d %s", resp.StatusCode, firstLine(body))}
	}
	_ = conn.SetDeadline(time.Time{})
	if !v.ok {
		v.ok = true
		v.f.connected.Add(1)
	}
	r := br // a taken-over stream is the rest of the connection
	if resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0 {
		r = bufio.NewReaderSize(resp.Body, viewerBuffer) // chunked (HTTP/1.1 handler mode)
	}
	return v.read(r)
}

func (v *viewer) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, Control: reuseAddr}
	if v.local != nil {
		d.LocalAddr = v.local
	}
	conn, err := d.DialContext(ctx, "tcp", v.t.hostport)
	if err != nil {
		return nil, err
	}
	if !v.t.tls {
		return conn, nil
	}
	tc := tls.Client(conn, &tls.Config{ServerName: strings.Split(v.t.host, ":")[0], NextProtos: []string{"http/1.1"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tc, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// read parses server-sent events until the stream ends. A stream that ends before its first
// frame, having set a retry delay, was turned away to come back later.
func (v *viewer) read(r *bufio.Reader) error {
	var event string
	var id int64 = -1
	var found []int
	frames, retrySet := 0, false
	for {
		line, err := v.readLine(r)
		if err != nil {
			if frames == 0 && retrySet {
				return &refusal{refusedRetry}
			}
			if errors.Is(err, io.EOF) {
				return errors.New("the stream ended")
			}
			return err
		}
		switch {
		case len(line) == 0:
			if event != "" || len(found) > 0 {
				frames++
				if err := v.frame(event, id, found); err != nil {
					return err
				}
			}
			event, id, found = "", -1, found[:0]
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("retry:")):
			if ms, err := strconv.Atoi(strings.TrimSpace(string(line[6:]))); err == nil && ms >= 0 {
				v.retry, retrySet = time.Duration(ms)*time.Millisecond, true
			}
		case bytes.HasPrefix(line, []byte("event:")):
			event = strings.TrimSpace(string(line[6:]))
		case bytes.HasPrefix(line, []byte("id:")):
			id, _ = strconv.ParseInt(strings.TrimSpace(string(line[3:])), 10, 64)
		case bytes.HasPrefix(line, []byte("data:")):
			found = v.f.eventsIn(line, found)
		}
	}
}

// readLine returns the next line without its end; the slice is valid until the next call.
func (v *viewer) readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		v.scratch = append(v.scratch[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.ReadSlice('\n')
			v.scratch = append(v.scratch, line...)
		}
		line = v.scratch
		defer func() {
			if cap(v.scratch) > 16*viewerBuffer {
				v.scratch = nil // a long reset: do not keep its buffer for every viewer
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// frame records the fanout's events a frame carries: live rows one by one, a reset's list whole.
func (v *viewer) frame(event string, id int64, found []int) error {
	now := time.Now().UnixNano()
	switch event {
	case "signed-out":
		return &refusal{"signed out"}
	case "reset":
		if id >= 0 {
			v.lastID = id
		}
		for _, n := range found {
			if v.recv[n].CompareAndSwap(0, now) {
				v.f.delivered.Add(1)
				v.f.viaReset.Add(1)
			}
		}
		return nil
	}
	if id > 0 {
		if id <= v.lastID {
			v.f.disorder.Add(1)
		}
		v.lastID = id
	}
	for _, n := range found {
		if n < v.lastEvt {
			v.f.disorder.Add(1)
		}
		v.lastEvt = n
		if v.recv[n].CompareAndSwap(0, now) {
			v.f.delivered.Add(1)
		} else {
			v.f.dups.Add(1)
		}
	}
	return nil
}

package web_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

// withBodyTimeout shortens how long a request body may take to arrive.
func withBodyTimeout(d time.Duration) option {
	return func(_ map[string]string, o *web.Options) { o.BodyTimeout = d }
}

// TestSlowBodiesAreCutOff: a client that sends its headers and then trickles the body loses its
// connection once the body deadline passes (the webhook and queue reports with 408), while a
// normal webhook, a form and SSE streams open for longer than the deadline are untouched.
func TestSlowBodiesAreCutOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		const deadline = 300 * time.Millisecond
		e := newEnv(t, db, withBodyTimeout(deadline))
		b := e.signedIn() // a form sent at once is served
		overlay := b.rotateOverlay()

		for _, tc := range []struct {
			path, contentType string
			want              int // 0: any answer, or none
		}{
			{"/webhooks/twitch", "application/json", http.StatusRequestTimeout},
			{overlay + "/state", "application/json", http.StatusRequestTimeout},
			{"/auth/demo", "application/x-www-form-urlencoded", 0}, // forms get 6x the deadline
		} {
			if status := trickle(t, e.url, tc.path, tc.contentType); tc.want != 0 && status != 0 && status != tc.want {
				t.Fatalf("slow POST %s answered %d, want %d (or a closed connection)", tc.path, status, tc.want)
			}
		}

		// Streams have no body: they outlive the deadline many times over, heartbeats arriving.
		dash, ov := b.stream(""), b.streamAt(overlay+"/stream", "")
		for opened := time.Now(); time.Since(opened) < 5*deadline; {
			dash.nextComment()
			ov.nextComment()
		}
		ev := e.post(demoID) // and a webhook sent at once is served
		dash.wantEvent(ev.ID)
		ov.wantAlert(ev)
	})
}

// trickle POSTs to path on base: the headers, then one byte of body every 100 ms, and returns
// the status of the answer, or 0 when the server closed the connection without one it could read.
// It fails the test when the connection is still open after the hang guard.
func trickle(t *testing.T, base, path, contentType string) int {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitLong)) // hang guard
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: 65536\r\n\r\n",
		path, u.Host, contentType); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	r := bufio.NewReader(conn)
	status := 0
	if resp, err := http.ReadResponse(r, nil); err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	} else if isTimeout(err) {
		t.Fatalf("%s: no answer and the connection still open after %s", path, waitLong)
	}
	// Whatever the answer, the connection ends: the rest of the body is not waited for.
	if _, err := r.ReadByte(); isTimeout(err) {
		t.Fatalf("%s: answered %d and kept the connection open for %s", path, status, waitLong)
	} else if err == nil {
		t.Fatalf("%s: more bytes after the answer %d", path, status)
	}
	return status
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

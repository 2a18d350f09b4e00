package web_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
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
// connection once the body deadline passes (the webhook with 408), while a normal webhook, a
// form and an SSE stream open for longer than the deadline are untouched.
func TestSlowBodiesAreCutOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		const deadline = 300 * time.Millisecond
		e := newEnv(t, db, withBodyTimeout(deadline))

		for _, tc := range []struct{ path, contentType string }{
			{"/webhooks/twitch", "application/json"},
			{"/auth/demo", "application/x-www-form-urlencoded"}, // forms get 6x the deadline
			{"/overlay/" + strings.Repeat("0", 43) + "/state", "application/json"},
		} {
			t.Run(tc.path, func(t *testing.T) {
				status := trickle(t, e.url, tc.path, tc.contentType)
				if tc.path == "/webhooks/twitch" && status != 0 && status != http.StatusRequestTimeout {
					t.Fatalf("slow webhook answered %d, want 408 (or a closed connection)", status)
				}
			})
		}

		// Someone who sends at once is served, on the form and on the webhook.
		b := e.signedIn()
		e.post(demoID)

		// A stream has no body: it outlives the deadline many times over, heartbeats arriving.
		s := b.stream("")
		for opened := time.Now(); time.Since(opened) < 5*deadline; {
			s.nextComment()
		}
		e.post(demoID)
		s.next()
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

package web_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

// withBell gives the server a doorbell shared with other instances.
func withBell(bell *doorbell.Bell) option {
	return func(_ map[string]string, o *web.Options) { o.Bell = bell }
}

// refused opens a stream at path that the server must answer and end at once (a cap's 429, or
// the overload answer); headers are name, value pairs.
func (b *browser) refused(path string, headers ...string) reply {
	b.t.Helper()
	return refusedAt(b.t, b.c, b.e.url+path, headers...)
}

func refusedAt(t *testing.T, c *http.Client, u string, headers ...string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong) // an admitted stream would never end
	defer cancel()
	req := newRequest(t, http.MethodGet, u, nil, append([]string{"Accept", "text/event-stream"}, headers...)...)
	return do(t, c, req.WithContext(ctx))
}

// wantCap requires a 429 whose plain message says which cap was reached.
func wantCap(t *testing.T, r reply, msg string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, msg) {
		t.Fatalf("stream = %d %q, want 429 saying %q", r.status, r.body, msg)
	}
}

var retryOnly = regexp.MustCompile(`^retry: (\d+)\n\n$`)

// wantRetry requires the overload answer: an event stream holding only a reconnection delay
// between 2 and 10 seconds, ended. It returns the delay in milliseconds.
func wantRetry(t *testing.T, r reply) int {
	t.Helper()
	m := retryOnly.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") || m == nil {
		t.Fatalf("stream = %d %s %q, want 200 text/event-stream with only a retry", r.status, r.header.Get("Content-Type"), r.body)
	}
	ms, _ := strconv.Atoi(m[1])
	if ms < 2000 || ms > 10000 {
		t.Fatalf("retry %d ms, want 2000-10000", ms)
	}
	return ms
}

// admittedEventually opens streams at u until one is admitted (a slot is given back when the
// server notices the stream's end, which takes a moment) and returns it, open.
func admittedEventually(t *testing.T, c *http.Client, u string, headers ...string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		resp, ok, err := tryStream(c, u, headers...)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return resp
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stream %s never admitted (hang guard)", u)
	return nil
}

// tryStream opens a stream and reads up to its first event: admitted. When the body ends
// before one, the server sent the overload answer.
func tryStream(c *http.Client, u string, headers ...string) (*http.Response, bool, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, false, fmt.Errorf("stream %s: %d", u, resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if strings.HasPrefix(line, "event: ") {
			return resp, true, nil
		}
		if err != nil {
			resp.Body.Close()
			if errors.Is(err, io.EOF) {
				return nil, false, nil
			}
			return nil, false, err
		}
	}
}

func TestStreamSessionCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("STREAMS_PER_SESSION", "2"))
		b := e.signedIn()
		for range 2 {
			b.stream("").wantReset(0)
		}
		wantCap(t, b.refused("/dashboard/stream"), "too many open live streams for this session (2); close some tabs")
		e.signedIn().stream("").wantReset(0) // another session is not held back

		path := b.rotateOverlay() + "/stream"
		for range 2 {
			if ev := b.streamAt(path, "").next(); ev.Type != "ready" {
				t.Fatalf("overlay stream starts with %q, want ready", ev.Type)
			}
		}
		wantCap(t, b.refused(path), "too many open live streams for this overlay URL (2)")
	})
}

func TestStreamAddressCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("STREAMS_PER_ADDRESS", "2"))
		first := e.signedIn()
		first.stream("").wantReset(0)
		path := first.rotateOverlay() + "/stream"
		first.streamAt(path, "").next()
		const msg = "too many open live streams from your address (2); close some tabs"
		b := e.signedIn()
		wantCap(t, b.refused("/dashboard/stream"), msg)
		// Without TRUSTED_PROXIES the peer is the client, whatever a header claims.
		wantCap(t, b.refused("/dashboard/stream", "X-Forwarded-For", "203.0.113.9"), msg)
		wantCap(t, b.refused(path), msg)
	})
}

// Behind a trusted proxy, the client is the address the proxy names.
func TestStreamAddressCapBehindProxy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		for _, tc := range []struct{ header, ignored string }{
			{"X-Forwarded-For", "Fly-Client-IP"},
			{"Fly-Client-IP", "X-Forwarded-For"},
		} {
			t.Run(tc.header, func(t *testing.T) {
				vars := []option{withVar("STREAMS_PER_ADDRESS", "1"), withVar("TRUSTED_PROXIES", "127.0.0.0/8,::1")}
				if tc.header != "X-Forwarded-For" {
					vars = append(vars, withVar("CLIENT_IP_HEADER", tc.header))
				}
				e := newEnv(t, db, vars...)
				b := e.signedIn()
				b.streamWith(e.url+"/dashboard/stream", tc.header, "203.0.113.1").wantReset(0)
				wantCap(t, b.refused("/dashboard/stream", tc.header, "203.0.113.1", tc.ignored, "203.0.113.2"),
					"from your address (1)")
				b.streamWith(e.url+"/dashboard/stream", tc.header, "203.0.113.2").wantReset(0)
				b.stream("").wantReset(0) // the proxy's own address, with no header
			})
		}
	})
}

func TestStreamsMaxAnswersRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("STREAMS_MAX", "2"))
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		dash := b.stream("")
		dash.wantReset(0)
		overlay := b.streamAt(path, "")
		overlay.next()

		seen := map[int]bool{}
		for range 10 {
			seen[wantRetry(t, b.refused("/dashboard/stream"))] = true
			seen[wantRetry(t, b.refused(path))] = true
		}
		if len(seen) < 2 {
			t.Fatalf("20 overload answers all retry after %v ms: want them spread out", seen)
		}

		// Slots come back when streams end: of the dashboard (taken over from net/http) and of
		// the overlay (written by its handler).
		dash.Close()
		admittedEventually(t, b.c, e.url+"/dashboard/stream").Body.Close()
		overlay.Close()
		admittedEventually(t, b.c, e.url+path).Body.Close()
	})
}

// Over HTTP/2 a dashboard stream cannot be taken over and its handler writes it: its slot comes
// back all the same.
func TestStreamSlotReleasedInHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("STREAMS_MAX", "1"))
		b := e.signedIn()
		h2 := httptest.NewUnstartedServer(e.srv)
		h2.EnableHTTP2 = true
		h2.StartTLS()
		t.Cleanup(h2.Close)
		cookie := []string{"Cookie", sessionCookie + "=" + b.cookie(sessionCookie).Value}

		s := b.stream("")
		s.wantReset(0)
		wantRetry(t, refusedAt(t, h2.Client(), h2.URL+"/dashboard/stream", cookie...))
		s.Close()
		resp := admittedEventually(t, h2.Client(), h2.URL+"/dashboard/stream", cookie...)
		if resp.ProtoMajor != 2 {
			t.Fatalf("stream over %s, want HTTP/2", resp.Proto)
		}
		wantRetry(t, b.refused("/dashboard/stream"))
		resp.Body.Close()
		admittedEventually(t, b.c, e.url+"/dashboard/stream").Body.Close()
	})
}

// Signing out on one instance ends that session's streams on every instance, and no instance
// goes on believing its cached copy of the session; the streamer's other sessions go on.
func TestLogoutEndsStreamsEverywhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		bell := doorbell.New(doorbell.Options{Store: e.store})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() { _ = bell.Run(ctx) }()
		_, a, _ := e.start(withBell(bell))
		_, other, _ := e.start(withBell(bell))

		b, stays := e.signedIn(), e.signedIn()
		cookie := b.cookie(sessionCookie).Value
		s := b.streamWith(other + "/dashboard/stream")
		s.wantReset(0)
		kept := stays.streamWith(other + "/dashboard/stream")
		kept.wantReset(0)
		if r := b.do(newRequest(t, http.MethodGet, other+"/dashboard", nil)); r.status != http.StatusOK {
			t.Fatalf("dashboard on the other instance = %d, want 200", r.status)
		}

		r := b.do(newRequest(t, http.MethodPost, a+"/auth/logout", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded"))
		if r.status != http.StatusSeeOther {
			t.Fatalf("logout = %d %q, want 303", r.status, r.body)
		}
		got := s.rest()
		if len(got) != 2 || got[0].Type != "reset" || got[1].Type != "signed-out" {
			t.Fatalf("stream after logout = %+v, want the signed-out notice and the end", got)
		}
		// The doorbell may take a moment on other databases; well within the cache's 10s, so
		// passing shows the signal, not the cache's expiry, dropped the session.
		c := sessionCookie + "=" + cookie
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := do(t, e.http, newRequest(t, http.MethodGet, other+"/dashboard", nil, "Cookie", c))
			if r.status == http.StatusSeeOther {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still serves the signed-out session: %d", r.status)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if r := do(t, e.http, newRequest(t, http.MethodGet, a+"/dashboard", nil, "Cookie", c)); r.status != http.StatusSeeOther {
			t.Fatalf("the instance that signed out still serves the session: %d", r.status)
		}
		kept.wantEvent(e.post(demoID).ID)
	})
}

// Deleting the account ends the streams of all of the streamer's sessions.
func TestDeleteAccountEndsStreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b, other := e.signedIn(), e.signedIn()
		streams := []*stream{b.stream(""), other.stream("")}
		for _, s := range streams {
			s.wantReset(0)
		}
		if r := b.postForm("/dashboard/account/delete", url.Values{"csrf_token": {b.csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("delete = %d %q, want 303", r.status, r.body)
		}
		for _, s := range streams {
			if got := s.rest(); len(got) != 2 || got[1].Type != "signed-out" {
				t.Fatalf("stream after the account's deletion = %+v, want signed out", got)
			}
		}
		signedOut(t, e, other.cookie(sessionCookie).Value)
	})
}

// A storm of connects all get in, however their catch-ups queue for connect slots.
func TestStreamConnectStorm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		const n = 300
		e := newEnv(t, db, withVar("STREAMS_MAX", "1000"), withVar("STREAMS_PER_SESSION", "1000"), withVar("STREAMS_PER_ADDRESS", "1000"))
		e.insert(demoID, 5)
		b := e.signedIn()
		u := e.url + "/dashboard/stream"
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			open    []io.Closer
			refused int
			errs    []error
		)
		for i := range n {
			wg.Go(func() {
				var h []string
				if i%2 == 1 {
					h = []string{"Last-Event-ID", "1"} // half resume, half start afresh
				}
				resp, ok, err := tryStream(b.c, u, h...)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case !ok:
					refused++
				default:
					open = append(open, resp.Body)
				}
			})
		}
		wg.Wait()
		for _, c := range open {
			c.Close()
		}
		if len(errs) > 0 || refused > 0 || len(open) != n {
			t.Fatalf("%d of %d streams admitted, %d told to retry, errors: %v", len(open), n, refused, errs)
		}
	})
}

package web_test

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

// lines are the lines logged with message msg, or all of them.
func (b *logBuffer) lines(msg string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l != "" && (msg == "" || strings.Contains(l, "msg=\""+msg+"\"")) {
			out = append(out, l)
		}
	}
	return out
}

// withLog sends the server's log lines at level and above to a buffer, as production does.
func withLog(t *testing.T, level slog.Level) (option, *logBuffer) {
	b := &logBuffer{t: t}
	l := slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
	return func(_ map[string]string, o *web.Options) { o.Logger = l }, b
}

// fakeClock is a server clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }
func (c *fakeClock) option() option {
	return func(_ map[string]string, o *web.Options) { o.Now = c.Now }
}

// unsigned is a webhook delivery signed with the wrong secret, as anyone can send.
func unsigned(t *testing.T) eventsub.Outgoing {
	out := follow(t, demoID)
	resign(&out, "not-the-secret")
	return out
}

func TestRefusedWebhookLogsBoundedValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		logOpt, logs := withLog(t, slog.LevelDebug)
		e := newEnv(t, db, logOpt)
		huge := strings.Repeat("A", 900<<10)
		tests := []struct {
			name   string
			header string
			secret string
		}{
			{"message id", eventsub.HeaderMessageID, "not-the-secret"},
			// Signed, so that the check reaches the timestamp, which the refusal's reason quotes.
			{"timestamp", eventsub.HeaderMessageTimestamp, testSecret},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(logs.String())
				out := follow(t, demoID)
				out.Header.Set(tt.header, huge)
				resign(&out, tt.secret)
				if r := e.with(t).deliver(out); r.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", r.status)
				}
				if n := len(logs.String()) - before; n == 0 || n > 2048 {
					t.Fatalf("one refused webhook with a %d-byte %s logged %d bytes, want 1..2048:\n%.4000s",
						len(huge), tt.header, n, logs.String()[before:])
				}
			})
		}
	})
}

func TestRefusedWebhookFloodLogsACount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		clock := &fakeClock{now: time.Now()}
		logOpt, logs := withLog(t, slog.LevelInfo)
		e := newEnv(t, db, logOpt, clock.option())
		const n = 100
		for range n {
			if r := e.deliver(unsigned(t)); r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
		}
		if got := logs.lines(""); len(got) > 2 {
			t.Fatalf("%d refused webhooks wrote %d lines, want at most 2:\n%s", n, len(got), strings.Join(got, "\n"))
		}
		clock.Add(time.Hour) // far past any rate-limit window
		if r := e.deliver(unsigned(t)); r.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", r.status)
		}
		refused := logs.lines("webhook refused")
		if len(refused) != 2 {
			t.Fatalf("%d \"webhook refused\" lines, want 2 (the first, then one with a count):\n%s", len(refused), logs.String())
		}
		if want := "refused_since_last_line=99"; !strings.Contains(refused[1], want) {
			t.Fatalf("second line %q lacks %s", refused[1], want)
		}
	})
}

func TestOverlayTokenNeverLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		logOpt, logs := withLog(t, slog.LevelDebug)
		e := newEnv(t, db, logOpt)
		const token = "Zm9vYmFyYmF6cXV4LXRva2VuLXRoYXQtaXMtc2VjcmV0"
		paths := []struct{ method, path string }{
			{http.MethodGet, "/overlay/" + token},
			{http.MethodGet, "/overlay/" + token + "/stream"},
			{http.MethodGet, "/overlay/" + token + "/whatever"},
			{http.MethodGet, "/overlay/" + token + "/whatever/" + token},
			{http.MethodPost, "/overlay/" + token + "/state"},
			{http.MethodPost, "/overlay/" + token}, // no such route for POST
			{http.MethodGet, "/Overlay/" + token},
			{http.MethodGet, "//overlay/" + token},
			{http.MethodGet, "/x/../overlay/" + token + "/y"},
		}
		for _, p := range paths {
			r := do(t, e.http, newRequest(t, p.method, e.url+p.path, nil))
			if r.status < 400 {
				t.Fatalf("%s %s: status %d, want a 4xx for a token that does not exist", p.method, p.path, r.status)
			}
		}
		if got := logs.lines("http request"); len(got) < len(paths) {
			t.Fatalf("%d request lines for %d requests:\n%s", len(got), len(paths), logs.String())
		}
		if strings.Contains(logs.String(), token) {
			t.Fatalf("the overlay token reached the log:\n%s", logs.String())
		}
	})
}

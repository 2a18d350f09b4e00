package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// hangGuard bounds every wait in these tests. It is never what a test asserts on: it only
// turns a hang into a failure with a message.
const hangGuard = 30 * time.Second

// demoBroadcaster is the demo streamer's default Twitch user id (config.DefaultDemoBroadcasterID).
const demoBroadcaster = "1337"

// TestEndToEnd drives the real program, started by run() as `go run ./app` would, over real
// HTTP like a streamer and like Twitch: landing page, demo sign-in, a signed webhook, the
// dashboard, the live stream, and a graceful shutdown while the stream is open.
func TestEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		user := signIn(t, app.URL)

		doc := getDoc(t, user, app.URL+"/dashboard")
		if got := strings.TrimSpace(doc.Find(`[data-testid="signed-in-as"]`).Text()); got != "Demo Streamer" {
			t.Errorf("signed in as %q, want Demo Streamer", got)
		}
		if n := doc.Find(`#event-list [data-testid="event-row"]`).Length(); n != 0 {
			t.Errorf("a fresh dashboard shows %d rows, want none", n)
		}
		if doc.Find(`[data-testid="test-follow"]`).Length() != 1 {
			t.Error("the demo dashboard has no test-follow button")
		}

		stream := openStream(t, user, app.URL)
		if m := stream.next(t); m.Event != "reset" {
			t.Fatalf("first stream message is %q, want reset", m.Event)
		}

		secret := app.eventsubSecret(t)
		follower := eventsub.Follower{ID: "424242", Login: "e2e_follower", Name: "E2E_Follower"}
		msg := newFollow(t, secret, app.URL, demoBroadcaster, follower)
		if code := deliver(t, app.URL, msg); code != http.StatusNoContent {
			t.Fatalf("signed follow answered %d, want 204", code)
		}

		live := stream.next(t)
		if live.Event != "event" || live.ID == "" {
			t.Fatalf("live message is event %q id %q, want an \"event\" with an id", live.Event, live.ID)
		}
		if got := usersIn(t, live.Data); len(got) != 1 || got[0] != "E2E_Follower" {
			t.Errorf("live row users = %q, want [E2E_Follower]", got)
		}
		if got := dashboardUsers(t, user, app.URL); len(got) != 1 || got[0] != "E2E_Follower" {
			t.Errorf("dashboard users = %q, want [E2E_Follower]", got)
		}

		// Twitch re-sends with the same message id: acknowledged, not stored twice.
		if code := deliver(t, app.URL, msg); code != http.StatusNoContent {
			t.Errorf("re-sent follow answered %d, want 204", code)
		}
		if got := dashboardUsers(t, user, app.URL); len(got) != 1 {
			t.Errorf("after a re-send the dashboard shows %q, want one row", got)
		}
		// A message signed with another secret is refused and not stored.
		forged := newFollow(t, "not-the-secret-at-all", app.URL, demoBroadcaster,
			eventsub.Follower{ID: "666", Login: "forger", Name: "Forger"})
		if code := deliver(t, app.URL, forged); code != http.StatusForbidden {
			t.Errorf("forged follow answered %d, want 403", code)
		}
		if got := dashboardUsers(t, user, app.URL); len(got) != 1 {
			t.Errorf("after a forged follow the dashboard shows %q, want one row", got)
		}

		// Shut down with the stream still open: run returns nil and the stream ends cleanly.
		if err := app.stop(t); err != nil {
			t.Fatalf("run after cancel = %v, want nil (graceful shutdown)", err)
		}
		if err := stream.end(t); err != nil {
			t.Errorf("the open stream did not end cleanly at shutdown: %v", err)
		}
		if _, err := (&http.Client{Timeout: hangGuard}).Get(app.URL + "/healthz"); err == nil {
			t.Error("the app still answers after run returned")
		}
	})
}

// TestRestartKeepsState restarts the program on the same DATA_DIR and database: the generated
// EventSub secret (which Twitch signs with), the events and the signed-in session all survive.
func TestRestartKeepsState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		first := startApp(t, db)
		user := signIn(t, first.URL)
		secret := first.eventsubSecret(t)
		before := deliver(t, first.URL, newFollow(t, secret, first.URL, demoBroadcaster,
			eventsub.Follower{ID: "1001", Login: "before_restart", Name: "Before_Restart"}))
		if before != http.StatusNoContent {
			t.Fatalf("follow before restart answered %d, want 204", before)
		}
		if err := first.stop(t); err != nil {
			t.Fatalf("first run: %v", err)
		}

		second := startApp(t, db)
		if got := second.eventsubSecret(t); got != secret {
			t.Fatalf("the eventsub secret changed across a restart: %q, then %q", secret, got)
		}
		after := deliver(t, second.URL, newFollow(t, secret, second.URL, demoBroadcaster,
			eventsub.Follower{ID: "1002", Login: "after_restart", Name: "After_Restart"}))
		if after != http.StatusNoContent {
			t.Fatalf("follow signed with the kept secret answered %d after restart, want 204", after)
		}
		// The cookie jar keys cookies by host, not port: the old session cookie reaches the new port.
		got := dashboardUsers(t, user, second.URL)
		if want := []string{"After_Restart", "Before_Restart"}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("dashboard after restart = %q, want %q (newest first)", got, want)
		}
	})
}

// TestBadConfig: run refuses to start on a bad setting, and its error names the variable.
func TestBadConfig(t *testing.T) {
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"port not a number", map[string]string{"PORT": "abc"}, "PORT"},
		{"port out of range", map[string]string{"PORT": "70000"}, "PORT"},
		{"port in use", map[string]string{"PORT": busyPort}, "PORT"},
		{"mysql database", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"unreachable postgres", map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5"}, "DATABASE_URL"},
		{"public url not http", map[string]string{"PUBLIC_URL": "ftp://example.com"}, "PUBLIC_URL"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"demo broadcaster not numeric", map[string]string{"DEMO_BROADCASTER_ID": "me"}, "DEMO_BROADCASTER_ID"},
		{"client id without secret", map[string]string{"TWITCH_CLIENT_ID": "abc"}, "TWITCH_CLIENT_SECRET"},
		{"short eventsub secret", map[string]string{"EVENTSUB_SECRET": "short"}, "EVENTSUB_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PORT": strconv.Itoa(freePort(t)), "DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			var out, errOut lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			err := run(ctx, nil, mapEnv(env), &out, &errOut)
			if ctx.Err() != nil {
				t.Fatalf("run did not return on a bad configuration (it served until the guard ended it): %v", err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want an error naming %s", err, tt.want)
			}
			t.Logf("run: %v", err)
		})
	}
}

// ---- the program under test -------------------------------------------------------------

// testApp is the program running in-process, serving on a loopback port.
type testApp struct {
	URL     string // http://127.0.0.1:PORT
	Addr    string // 127.0.0.1:PORT
	DataDir string
	Env     map[string]string

	cancel  context.CancelFunc
	done    chan error
	log     *lockedBuffer
	stopped bool
	err     error
}

// startApp runs the program on db (SQLite in db.DataDir, or PostgreSQL) on a free port, waits
// until /healthz answers 200, and stops it when the test ends. extra sets more variables.
func startApp(t *testing.T, db storetest.DB, extra ...string) *testApp {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	a := &testApp{
		URL: "http://" + addr, Addr: addr, DataDir: db.DataDir,
		done: make(chan error, 1), log: &lockedBuffer{},
	}
	// Only these variables: the developer's own environment (PORT, TWITCH_CLIENT_ID...) stays out.
	a.Env = map[string]string{
		"PORT": strconv.Itoa(port), "PUBLIC_URL": a.URL, "DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		a.Env[extra[i]] = extra[i+1]
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() { a.done <- run(ctx, nil, mapEnv(a.Env), a.log, a.log) }()
	t.Cleanup(func() {
		if err := a.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
		if t.Failed() {
			t.Logf("app log (%s):\n%s", db.Name, a.log.String())
		}
	})
	a.waitHealthy(t)
	return a
}

func (a *testApp) waitHealthy(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(hangGuard)
	for {
		select {
		case err := <-a.done:
			a.stopped, a.err = true, err
			t.Fatalf("run returned before the app was healthy: %v\nlog:\n%s", err, a.log.String())
		default:
		}
		if resp, err := client.Get(a.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app at %s did not become healthy\nlog:\n%s", a.URL, a.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels run's context, as SIGTERM does, and returns what run returned.
func (a *testApp) stop(t *testing.T) error {
	t.Helper()
	if a.stopped {
		return a.err
	}
	a.cancel()
	select {
	case a.err = <-a.done:
	case <-time.After(hangGuard):
		t.Fatalf("run did not return after its context was canceled\nlog:\n%s", a.log.String())
	}
	a.stopped = true
	return a.err
}

// eventsubSecret is the secret demo mode generated and kept in DATA_DIR.
func (a *testApp) eventsubSecret(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.DataDir, "eventsub_secret"))
	if err != nil {
		t.Fatalf("read the generated eventsub secret: %v", err)
	}
	s := strings.TrimSpace(string(b))
	if !eventsub.ValidSecret(s) {
		t.Fatalf("the generated eventsub secret %q is not a valid EventSub secret", s)
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// lockedBuffer collects the program's log lines, written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ---- Twitch's side ----------------------------------------------------------------------

// newFollow builds a channel.follow notification signed with secret, exactly as Twitch sends it.
func newFollow(t *testing.T, secret, appURL, broadcasterID string, follower eventsub.Follower) eventsub.Outgoing {
	t.Helper()
	broadcaster := eventsub.Follower{ID: broadcasterID, Login: "demo_streamer", Name: "Demo Streamer"}
	msg, err := eventsub.NewFollow(secret, appURL+"/webhooks/twitch", broadcaster, follower, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// deliver POSTs a webhook message to the app's callback and returns the status.
func deliver(t *testing.T, appURL string, msg eventsub.Outgoing) int {
	t.Helper()
	req, err := msg.Request(appURL + "/webhooks/twitch")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatalf("deliver webhook: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// ---- the streamer's side ----------------------------------------------------------------

// signIn opens the landing page, submits the demo sign-in form with its CSRF token, and
// returns a client (with a cookie jar) that is signed in and was sent to the dashboard.
func signIn(t *testing.T, appURL string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: hangGuard}
	landing := getDoc(t, client, appURL+"/")
	button := landing.Find(`[data-testid="demo-sign-in"]`)
	if button.Length() != 1 {
		t.Fatal("the landing page has no demo sign-in button")
	}
	form := button.Closest("form")
	action, _ := form.Attr("action")
	token, ok := form.Find(`input[name="csrf_token"]`).Attr("value")
	if !ok || token == "" || action == "" {
		t.Fatalf("the demo sign-in form lacks an action (%q) or a CSRF token", action)
	}
	resp, err := client.PostForm(appURL+action, url.Values{"csrf_token": {token}})
	if err != nil {
		t.Fatalf("demo sign-in: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/dashboard" {
		t.Fatalf("demo sign-in ended at %s with %d, want /dashboard with 200", resp.Request.URL.Path, resp.StatusCode)
	}
	return client
}

// getDoc GETs a page as a browser does and parses it; anything but 200 fails the test.
func getDoc(t *testing.T, client *http.Client, u string) *goquery.Document {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, want 200", u, resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", u, err)
	}
	return doc
}

// dashboardUsers are the user names of the dashboard's rows, top to bottom.
func dashboardUsers(t *testing.T, client *http.Client, appURL string) []string {
	t.Helper()
	doc := getDoc(t, client, appURL+"/dashboard")
	var users []string
	doc.Find(`#event-list [data-testid="event-row"] [data-testid="event-user"]`).Each(func(_ int, s *goquery.Selection) {
		users = append(users, strings.TrimSpace(s.Text()))
	})
	return users
}

// usersIn are the user names of the rows in an HTML fragment.
func usersIn(t *testing.T, fragment string) []string {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(fragment))
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	doc.Find(`[data-testid="event-row"] [data-testid="event-user"]`).Each(func(_ int, s *goquery.Selection) {
		users = append(users, strings.TrimSpace(s.Text()))
	})
	return users
}

// ---- the live stream --------------------------------------------------------------------

type sseMessage struct{ Event, ID, Data string }

// sseStream reads a dashboard stream in the background.
type sseStream struct {
	msgs chan sseMessage
	errc chan error
}

// openStream opens GET /dashboard/stream as the signed-in client.
func openStream(t *testing.T, client *http.Client, appURL string) *sseStream {
	t.Helper()
	return openSSE(t, client, appURL+"/dashboard/stream")
}

// openSSE opens an event stream.
func openSSE(t *testing.T, client *http.Client, u string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	streaming := *client
	streaming.Timeout = 0 // a stream has no end; the context and hangGuard bound it instead
	resp, err := streaming.Do(req)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("stream answered %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{msgs: make(chan sseMessage, 64), errc: make(chan error, 1)}
	go func() {
		defer resp.Body.Close()
		err := readSSE(resp.Body, s.msgs)
		close(s.msgs)
		s.errc <- err
	}()
	return s
}

// readSSE parses server-sent events until the stream ends; a clean end returns nil.
func readSSE(r io.Reader, out chan<- sseMessage) error {
	br := bufio.NewReader(r)
	var m sseMessage
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return nil
			}
			return err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if m.Event != "" || len(data) > 0 {
				m.Data = strings.Join(data, "\n")
				out <- m
			}
			m, data = sseMessage{}, nil
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "event: "):
			m.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			m.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(line, "data:"))
		}
	}
}

// next waits for the stream's next message.
func (s *sseStream) next(t *testing.T) sseMessage {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			t.Fatalf("the stream ended while a message was expected: %v", <-s.errc)
		}
		return m
	case <-time.After(hangGuard):
		t.Fatal("no stream message arrived")
	}
	return sseMessage{}
}

// end waits for the stream to end and returns how it ended (nil: cleanly).
func (s *sseStream) end(t *testing.T) error {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return <-s.errc
			}
			t.Logf("stream message after shutdown began: %q", m.Event)
		case <-timeout:
			t.Fatal("the stream did not end")
		}
	}
}

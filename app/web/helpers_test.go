package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

const (
	testSecret = "test-eventsub-secret-0123456789"
	demoID     = config.DefaultDemoBroadcasterID
	// waitLong only keeps a broken test from hanging; no assertion depends on it.
	waitLong = 15 * time.Second
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// env is one app server on a real HTTP listener, over its own connection to a test database.
type env struct {
	t     *testing.T
	db    storetest.DB
	vars  map[string]string
	cfg   config.Config
	store *store.Store
	hub   *hub.Hub
	srv   *web.Server
	url   string
	http  *http.Client // a machine: no cookies, redirects not followed
	opts  []option     // newEnv's options, which every instance started by start shares
}

type option func(vars map[string]string, o *web.Options)

// withVar sets a configuration variable.
func withVar(k, v string) option {
	return func(vars map[string]string, _ *web.Options) { vars[k] = v }
}

// withClock fixes the server's clock.
func withClock(now time.Time) option {
	return func(_ map[string]string, o *web.Options) { o.Now = func() time.Time { return now } }
}

// newEnv starts a server on db, with its own migrated store connection.
func newEnv(t *testing.T, db storetest.DB, opts ...option) *env {
	t.Helper()
	e := &env{t: t, db: db, store: storetest.Open(t, db), http: noRedirectClient(t, nil)}
	e.hub = web.NewHub(e.store, nil, nil, testLogger(t))
	t.Cleanup(e.hub.Close)
	e.vars = map[string]string{
		"DATA_DIR":        t.TempDir(),
		"DATABASE_URL":    db.DatabaseURL,
		"EVENTSUB_SECRET": testSecret,
	}
	e.opts = opts
	e.srv, e.url, e.cfg = e.start()
	return e
}

// with is e for use inside subtest t: failures are reported on t.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// start builds and serves one web.Server on e's store and hub, with e's settings changed by opts.
func (e *env) start(opts ...option) (*web.Server, string, config.Config) {
	opts = append(slices.Clone(e.opts), opts...)
	t := e.t
	t.Helper()
	vars := map[string]string{}
	for k, v := range e.vars {
		vars[k] = v
	}
	o := web.Options{Store: e.store, Hub: e.hub, Logger: testLogger(t), Heartbeat: 200 * time.Millisecond}
	for _, opt := range opts {
		opt(vars, &o)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	o.Config = cfg
	srv, err := web.New(o)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close) // runs first: open streams end, so ts.Close does not wait for them
	return srv, ts.URL, cfg
}

// testLogger sends the server's log lines to the test log, shown when a test fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func noRedirectClient(t *testing.T, jar http.CookieJar) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

func (r reply) doc(t *testing.T) *goquery.Document {
	t.Helper()
	return parseHTML(t, r.body)
}

func parseHTML(t *testing.T, html string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), resp: resp}
}

func newRequest(t *testing.T, method, u string, body io.Reader, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// get fetches a path as a machine would (no cookies); headers are name, value pairs.
func (e *env) get(path string, headers ...string) reply {
	e.t.Helper()
	return do(e.t, e.http, newRequest(e.t, http.MethodGet, e.url+path, nil, headers...))
}

// deliver POSTs a signed EventSub message to the webhook, as Twitch does.
func (e *env) deliver(out eventsub.Outgoing) reply {
	e.t.Helper()
	req, err := out.Request(e.url + "/webhooks/twitch")
	if err != nil {
		e.t.Fatal(err)
	}
	return do(e.t, e.http, req)
}

var followers atomic.Int64

// follow is a fresh signed channel.follow for broadcaster, stamped now.
func follow(t *testing.T, broadcaster string) eventsub.Outgoing {
	t.Helper()
	n := followers.Add(1)
	f := eventsub.Follower{ID: fmt.Sprint(500000 + n), Login: fmt.Sprintf("viewer_%d", n), Name: fmt.Sprintf("Viewer_%d", n)}
	out, err := eventsub.NewFollow(testSecret, "https://tev.example.com/webhooks/twitch",
		eventsub.Follower{ID: broadcaster, Login: "streamer_" + broadcaster, Name: "Streamer_" + broadcaster}, f, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// post delivers a fresh follow for broadcaster, requires a 204 and returns the stored event.
func (e *env) post(broadcaster string) *store.Event {
	e.t.Helper()
	out := follow(e.t, broadcaster)
	if r := e.deliver(out); r.status != http.StatusNoContent {
		e.t.Fatalf("webhook answered %d %q, want 204", r.status, r.body)
	}
	return e.stored(out.Header.Get(eventsub.HeaderMessageID))
}

// stored returns the event stored under a message id, failing the test when there is none.
func (e *env) stored(messageID string) *store.Event {
	e.t.Helper()
	ev, err := e.store.EventByMessageID(context.Background(), messageID)
	if err != nil {
		e.t.Fatalf("event %s: %v", messageID, err)
	}
	return ev
}

// notStored fails the test when an event with the message id exists.
func notStored(t *testing.T, s *store.Store, messageID string) {
	t.Helper()
	if ev, err := s.EventByMessageID(context.Background(), messageID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("event %s: got %+v, %v; want ErrNotFound", messageID, ev, err)
	}
}

func count(t *testing.T, s *store.Store, broadcaster string) int {
	t.Helper()
	n, err := s.CountEvents(context.Background(), broadcaster)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// insert stores n events for broadcaster straight into the database and returns their ids in order.
func (e *env) insert(broadcaster string, n int) []int64 {
	e.t.Helper()
	ids := make([]int64, 0, n)
	for range n {
		k := followers.Add(1)
		now := time.Now().UTC()
		ev := &store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub-" + broadcaster, Type: eventsub.ChannelFollow,
			Version: "2", BroadcasterID: broadcaster, UserID: fmt.Sprint(k), UserLogin: fmt.Sprintf("viewer_%d", k),
			UserName: fmt.Sprintf("Viewer_%d", k), OccurredAt: now, ReceivedAt: now, Payload: `{}`}
		if _, err := e.store.InsertEvent(context.Background(), ev); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

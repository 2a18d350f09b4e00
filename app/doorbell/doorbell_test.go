package doorbell

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// hangGuard bounds every wait: it turns a hang into a failure, it is never what a test asserts.
const hangGuard = 30 * time.Second

// heard records the signals a bell's handler got.
type heard struct {
	mu   sync.Mutex
	sigs []Signal
}

func listen(b *Bell) *heard {
	h := &heard{}
	b.OnSignal(func(s Signal) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.sigs = append(h.sigs, s)
	})
	return h
}

func (h *heard) all() []Signal {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sigs)
}

// count is how many heard signals match.
func (h *heard) count(match func(Signal) bool) int {
	n := 0
	for _, s := range h.all() {
		if match(s) {
			n++
		}
	}
	return n
}

// await waits until at least n heard signals match.
func (h *heard) await(t *testing.T, what string, n int, match func(Signal) bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for h.count(match) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d × %s; heard %d", n, what, h.count(match))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kind(k string) func(Signal) bool { return func(s Signal) bool { return s.Kind == k } }

func overlaySignal(k overlay.SignalKind) func(Signal) bool {
	return func(s Signal) bool { return s.Kind == Overlay && s.Overlay.Kind == k }
}

// run runs b until the test ends, and checks that Run then returns nil.
func run(t *testing.T, b *Bell) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancel = %v, want nil", err)
			}
		case <-time.After(hangGuard):
			t.Error("Run did not return after its context ended")
		}
	})
}

// TestInProcess: without PostgreSQL a ring reaches this process's handlers before Ring returns,
// and Run only waits.
func TestInProcess(t *testing.T) {
	sqlite := storetest.Open(t, storetest.SQLite(t))
	for name, st := range map[string]*store.Store{"no store": nil, "sqlite": sqlite} {
		t.Run(name, func(t *testing.T) {
			b := New(Options{Store: st})
			h1, h2 := listen(b), listen(b)
			run(t, b)
			ctx := context.Background()
			sig := Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.Pause}}
			if err := b.Ring(ctx, sig); err != nil {
				t.Fatal(err)
			}
			b.Committed(ctx, []*store.Event{{ID: 3, BroadcasterID: "1"}, {ID: 7, BroadcasterID: "1"}, {ID: 5, BroadcasterID: "2"}})
			want := []Signal{sig, {Kind: Events, BroadcasterID: "1", NewestID: 7}, {Kind: Events, BroadcasterID: "2", NewestID: 5}}
			for _, h := range []*heard{h1, h2} {
				if got := h.all(); !slices.Equal(got, want) {
					t.Errorf("handler heard %+v, want %+v", got, want)
				}
			}
		})
	}
}

// pair is two instances of one deployment: two stores on the same PostgreSQL schema, a bell on
// each, both listening.
func pair(t *testing.T, metA, metB *metrics.Metrics) (db storetest.DB, a, b *Bell, ha, hb *heard) {
	db = storetest.Postgres(t)
	a = New(Options{Store: storetest.Open(t, db), Metrics: metA})
	b = New(Options{Store: storetest.Open(t, db), Metrics: metB})
	ha, hb = listen(a), listen(b)
	run(t, a)
	run(t, b)
	// Resync is rung once LISTEN is in place: from then on nothing sent is missed.
	ha.await(t, "A's first resync", 1, kind(Resync))
	hb.await(t, "B's first resync", 1, kind(Resync))
	return db, a, b, ha, hb
}

// TestAcrossInstances: a ring reaches the other instance, and the ringing one exactly once.
func TestAcrossInstances(t *testing.T) {
	_, a, b, ha, hb := pair(t, nil, nil)
	ctx := context.Background()
	pause := Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.Pause}}
	if err := a.Ring(ctx, pause); err != nil {
		t.Fatal(err)
	}
	if ha.count(overlaySignal(overlay.Pause)) != 1 {
		t.Errorf("A's handler did not hear A's ring before Ring returned")
	}
	hb.await(t, "A's ring at B", 1, overlaySignal(overlay.Pause))

	// Notifications reach each listener in the order they were sent: once A hears B's reply,
	// A has also had (and skipped) its own pause.
	if err := b.Ring(ctx, Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.SettingsChanged}}); err != nil {
		t.Fatal(err)
	}
	ha.await(t, "B's ring at A", 1, overlaySignal(overlay.SettingsChanged))
	if n := ha.count(overlaySignal(overlay.Pause)); n != 1 {
		t.Errorf("A heard its own ring %d times, want once", n)
	}
	if n := hb.count(overlaySignal(overlay.SettingsChanged)); n != 1 {
		t.Errorf("B heard its own ring %d times, want once", n)
	}
	if got := hb.all(); got[len(got)-2] != pause {
		t.Errorf("B heard %+v, want %+v", got[len(got)-2], pause)
	}

	// Committed: the newest id of each broadcaster.
	a.Committed(ctx, []*store.Event{{ID: 10, BroadcasterID: "1"}, {ID: 11, BroadcasterID: "2"}, {ID: 12, BroadcasterID: "1"}})
	hb.await(t, "events signals at B", 2, kind(Events))
	var got []Signal
	for _, s := range hb.all() {
		if s.Kind == Events {
			got = append(got, s)
		}
	}
	want := []Signal{{Kind: Events, BroadcasterID: "1", NewestID: 12}, {Kind: Events, BroadcasterID: "2", NewestID: 11}}
	if !slices.Equal(got, want) {
		t.Errorf("B heard %+v, want %+v", got, want)
	}
}

// TestLargeBatch: more signals than fit one notification arrive complete, and a test alert too
// big to travel arrives without its raw payload.
func TestLargeBatch(t *testing.T) {
	_, a, _, _, hb := pair(t, nil, nil)
	ctx := context.Background()
	const n = 2000
	evs := make([]*store.Event, n)
	for i := range evs {
		evs[i] = &store.Event{ID: int64(1000 + i), BroadcasterID: fmt.Sprintf("broadcaster-%06d", i)}
	}
	a.Committed(ctx, evs)
	hb.await(t, "every broadcaster's events signal", n, kind(Events))
	seen := map[string]int64{}
	for _, s := range hb.all() {
		if s.Kind == Events {
			seen[s.BroadcasterID] = s.NewestID
		}
	}
	for _, ev := range evs {
		if seen[ev.BroadcasterID] != ev.ID {
			t.Fatalf("broadcaster %s: newest %d, want %d", ev.BroadcasterID, seen[ev.BroadcasterID], ev.ID)
		}
	}

	big := &store.Event{Type: "channel.cheer", BroadcasterID: "1337", UserName: "Cheerer", Payload: `{"message":"` + strings.Repeat("x", 9000) + `"}`}
	if err := a.Ring(ctx, Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.TestAlert, Test: big}}); err != nil {
		t.Fatal(err)
	}
	hb.await(t, "the big test alert", 1, overlaySignal(overlay.TestAlert))
	for _, s := range hb.all() {
		if overlaySignal(overlay.TestAlert)(s) && (s.Overlay.Test == nil || s.Overlay.Test.UserName != "Cheerer" || s.Overlay.Test.Payload != "{}") {
			t.Errorf("big test alert arrived as %+v, want the event without its payload", s.Overlay.Test)
		}
	}
	if big.Payload == "{}" {
		t.Error("Ring changed the caller's event")
	}
}

// TestPack: notifications stay under PostgreSQL's limit, in order, and none is wasted.
func TestPack(t *testing.T) {
	var sigs []Signal
	for i := range 500 {
		sigs = append(sigs, Signal{Kind: Events, BroadcasterID: fmt.Sprintf("%040d", i), NewestID: int64(i + 1)})
	}
	payloads, err := pack("abcdef0123456789", sigs)
	if err != nil {
		t.Fatal(err)
	}
	var got []Signal
	for i, p := range payloads {
		if len(p) > maxPayload {
			t.Errorf("payload %d is %d bytes, over %d", i, len(p), maxPayload)
		}
		if i > 0 && len(payloads[i-1])+len(p) < maxPayload-100 {
			t.Errorf("payloads %d and %d (%d and %d bytes) would have fit one", i-1, i, len(payloads[i-1]), len(p))
		}
		from, s, err := decode(p)
		if err != nil || from != "abcdef0123456789" {
			t.Fatalf("decode payload %d: from %q, %v", i, from, err)
		}
		got = append(got, s...)
	}
	if len(payloads) < 2 || !slices.Equal(got, sigs) {
		t.Errorf("%d payloads carried %d signals, want all %d in order, in several", len(payloads), len(got), len(sigs))
	}
	if _, err := pack("i", []Signal{{Kind: SessionEnded, TokenHash: strings.Repeat("t", 8000)}}); err == nil {
		t.Error("a signal too big to travel, with no event to drop, was packed")
	}
}

// TestReconnect: when B's LISTEN connection is killed, B connects again, rings a Resync (it may
// have missed signals meanwhile), counts the reconnect, and hears A's rings again.
func TestReconnect(t *testing.T) {
	met := metrics.New()
	db, a, b, _, hb := pair(t, nil, met)
	ctx := context.Background()
	admin, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	pid := b.pid.Load()
	var killed bool
	err = admin.QueryRow(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid = $2`,
		appName, int64(pid)).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminate B's LISTEN backend %d: %v, %v", pid, killed, err)
	}
	hb.await(t, "B's resync after the reconnect", 2, kind(Resync))
	if b.pid.Load() == pid {
		t.Errorf("B listens on the killed backend %d", pid)
	}
	if err := a.Ring(ctx, Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.Rotated}}); err != nil {
		t.Fatal(err)
	}
	hb.await(t, "A's ring at B after the reconnect", 1, overlaySignal(overlay.Rotated))
	if got := scrape(t, met); !strings.Contains(got, "tev_doorbell_reconnects_total 1\n") {
		t.Errorf("metrics after one reconnect:\n%s", grepLines(got, "tev_doorbell"))
	}
}

func scrape(t *testing.T, met *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(met.Handler("a-test-token-long-enough"))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer a-test-token-long-enough")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPing: a quiet connection is pinged, and the pings keep it (no reconnect); the backend
// shows the channel it listens on.
func TestPing(t *testing.T) {
	db := storetest.Postgres(t)
	a := New(Options{Store: storetest.Open(t, db)})
	b := New(Options{Store: storetest.Open(t, db)})
	b.pingEvery = 20 * time.Millisecond
	hb := listen(b)
	run(t, b)
	hb.await(t, "B's first resync", 1, kind(Resync))
	admin, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	pid := int64(b.pid.Load())
	activity := func() (query string, started time.Time) {
		t.Helper()
		err := admin.QueryRow(`SELECT query, query_start FROM pg_stat_activity WHERE application_name = $1 AND pid = $2`,
			appName, pid).Scan(&query, &started)
		if err != nil {
			t.Fatalf("B's backend %d in pg_stat_activity: %v", pid, err)
		}
		return query, started
	}
	_, first := activity()
	deadline := time.Now().Add(hangGuard)
	for pings := 0; pings < 3; {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for B's pings")
		}
		time.Sleep(10 * time.Millisecond)
		if _, s := activity(); s.After(first) {
			first = s
			pings++
		}
	}
	if q, _ := activity(); !strings.HasPrefix(q, `LISTEN "tev_doorbell_test_`) {
		t.Errorf("B's backend shows %q, want its LISTEN", q)
	}
	if err := a.Ring(context.Background(), Signal{Kind: Overlay, BroadcasterID: "1337", Overlay: overlay.Signal{Kind: overlay.Rotated}}); err != nil {
		t.Fatal(err)
	}
	hb.await(t, "A's ring at B", 1, overlaySignal(overlay.Rotated))
	if n := hb.count(kind(Resync)); n != 1 {
		t.Errorf("B resynced %d times, want once: a ping lost the connection", n)
	}
	if got := b.pid.Load(); int64(got) != pid {
		t.Errorf("B listens on backend %d, want %d still", got, pid)
	}
}

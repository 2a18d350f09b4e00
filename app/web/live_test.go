package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

var published atomic.Int64

func liveEvent(broadcaster string) *store.Event {
	n := published.Add(1)
	now := time.Now().UTC()
	return &store.Event{MessageID: fmt.Sprintf("live-%d-%d", n, now.UnixNano()), SubscriptionID: "sub-1", Type: eventsub.ChannelFollow,
		Version: "2", BroadcasterID: broadcaster, UserID: fmt.Sprint(n), UserLogin: fmt.Sprintf("viewer_%d", n),
		UserName: fmt.Sprintf("Viewer_%d", n), OccurredAt: now, ReceivedAt: now, Payload: `{}`}
}

// collector is a hub sink that keeps the ids it is given.
type collector struct {
	mu  sync.Mutex
	ids []int64
}

func (c *collector) Kind() string { return "dashboard" }
func (c *collector) Signal(any)   {}
func (c *collector) Deliver(ds []*hub.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		c.ids = append(c.ids, d.Event.ID)
	}
}
func (c *collector) got() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// live is the write path and the live path as serve wires them on one instance: a batcher that
// rings the doorbell after each commit, and a hub that reads the log when it rings.
func live(t *testing.T, s *store.Store, writers int) (*ingest.Batcher, *hub.Hub) {
	bell := doorbell.New(doorbell.Options{Store: s})
	h := web.NewHub(s, nil, nil, testLogger(t))
	t.Cleanup(h.Close)
	bell.OnSignal(func(sig doorbell.Signal) {
		if sig.Kind == doorbell.Events {
			h.Ring(sig.BroadcasterID, sig.NewestID)
		}
	})
	b := ingest.New(ingest.Options{Store: s, Writers: writers, Committed: bell.Committed, Logger: testLogger(t)})
	t.Cleanup(b.Close)
	return b, h
}

func join(t *testing.T, h *hub.Hub, broadcaster string) *collector {
	c := &collector{}
	m, _, _, _, err := h.Join(context.Background(), broadcaster, c, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Leave)
	return c
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveAfterCommit: a new event reaches each of its broadcaster's viewers; a duplicate, a
// hidden event and another broadcaster's event reach none of them.
func TestLiveAfterCommit(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b, h := live(t, s, 1)
		viewers := []*collector{join(t, h, "1337"), join(t, h, "1337")}
		stranger := join(t, h, "4242")

		ev := liveEvent("1337")
		if inserted, err := b.Store(ctx, ev); err != nil || !inserted[0] {
			t.Fatalf("Store = %v, %v", inserted, err)
		}
		again := liveEvent("1337")
		again.MessageID = ev.MessageID
		hidden := liveEvent("1337")
		hidden.Type, hidden.Version, hidden.Hidden = eventsub.ChannelSubscribe, "1", true
		other := liveEvent("9999")
		if inserted, err := b.Store(ctx, again, hidden, other); err != nil || !slices.Equal(inserted, []bool{false, true, true}) {
			t.Fatalf("Store = %v, %v; want [false true true]", inserted, err)
		}
		last := liveEvent("1337")
		if _, err := b.Store(ctx, last); err != nil {
			t.Fatal(err)
		}
		for i, v := range viewers {
			eventually(t, "the last event", func() bool { return len(v.got()) >= 2 })
			if got := v.got(); !slices.Equal(got, []int64{ev.ID, last.ID}) {
				t.Errorf("viewer %d got %v, want [%d %d]", i, got, ev.ID, last.ID)
			}
		}
		if got := stranger.got(); len(got) != 0 {
			t.Errorf("another broadcaster's viewer got %v", got)
		}
	})
}

// TestLiveConcurrentInIDOrder: with several writers and many concurrent callers, each viewer
// receives every stored event of its broadcaster once, in increasing id order.
func TestLiveConcurrentInIDOrder(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		const perBroadcaster = 60
		broadcasters := []string{"1337", "4242", "777"}
		b, h := live(t, s, 4)
		viewers := map[string]*collector{}
		for _, id := range broadcasters {
			viewers[id] = join(t, h, id)
		}
		var wg sync.WaitGroup
		for range perBroadcaster {
			for _, id := range broadcasters {
				wg.Go(func() {
					if inserted, err := b.Store(context.Background(), liveEvent(id)); err != nil || !inserted[0] {
						t.Errorf("Store for %s = %v, %v", id, inserted, err)
					}
				})
			}
		}
		wg.Wait()
		for _, id := range broadcasters {
			stored, err := s.EventsAfter(context.Background(), id, 0, 2*perBroadcaster)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, ev := range stored {
				want = append(want, ev.ID)
			}
			eventually(t, "every event", func() bool { return len(viewers[id].got()) >= len(want) })
			if got := viewers[id].got(); len(want) != perBroadcaster || !slices.Equal(got, want) {
				t.Errorf("viewer of %s received %v\nwant every stored id in increasing order %v", id, got, want)
			}
		}
	})
}

// TestWebhookBusy: with the ingest queue full, a webhook is refused at once with 503 and
// Retry-After: 1, counted as busy; Twitch's retry is stored.
func TestWebhookBusy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		held, release := make(chan struct{}), make(chan struct{})
		var once, freed sync.Once
		unblock := func() { freed.Do(func() { close(release) }) }
		var b *ingest.Batcher
		m := metrics.New()
		e := newEnv(t, db, withMetrics(m), func(_ map[string]string, o *web.Options) {
			b = ingest.New(ingest.Options{Store: o.Store, Queue: 1, Committed: func(context.Context, []*store.Event) {
				once.Do(func() { close(held); <-release })
			}})
			o.Ingest = b
		})
		t.Cleanup(func() { unblock(); b.Close() })

		answers := make(chan int, 2)
		go func() { answers <- e.deliver(follow(t, demoID)).status }()
		<-held // the writer holds the first webhook's batch
		go func() { answers <- e.deliver(follow(t, demoID)).status }()
		for b.Depth() != 1 { // the second webhook fills the queue
			time.Sleep(time.Millisecond)
		}
		out := follow(t, demoID)
		r := e.deliver(out)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
			t.Fatalf("webhook with the queue full = %d (Retry-After %q), want 503 and 1", r.status, r.header.Get("Retry-After"))
		}
		unblock()
		for range 2 {
			if status := <-answers; status != http.StatusNoContent {
				t.Fatalf("a queued webhook answered %d, want 204", status)
			}
		}
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("Twitch's retry answered %d, want 204", r.status)
		}
		scrape := e.get("/metrics", "Authorization", "Bearer "+testMetricsToken)
		for _, want := range []string{`tev_webhooks_total{outcome="busy"} 1`, `tev_webhooks_total{outcome="stored"} 3`} {
			if !strings.Contains(scrape.body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

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

// publishing is a batcher over s that publishes to h, as serve wires it.
func publishing(t *testing.T, s *store.Store, h *hub.Hub, writers int) *ingest.Batcher {
	b := ingest.New(ingest.Options{Store: s, Writers: writers, Committed: web.PublishCommitted(h, testLogger(t)), Logger: testLogger(t)})
	t.Cleanup(b.Close)
	return b
}

// pending are the messages waiting on a subscription. The batcher publishes before Store
// returns, so after it returns this is everything the subscription will get from it.
func pending(sub *hub.Subscription) []hub.Message {
	var ms []hub.Message
	for len(sub.C) > 0 {
		ms = append(ms, <-sub.C)
	}
	return ms
}

// TestPublishCommitted: a new event reaches each of its broadcaster's viewers, the same rendered
// row for all; a duplicate, a hidden event and an unwatched broadcaster's event reach nobody.
func TestPublishCommitted(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := hub.New(8)
		b := publishing(t, s, h, 1)
		viewers := []*hub.Subscription{h.Subscribe("1337"), h.Subscribe("1337")}
		stranger := h.Subscribe("4242")
		for _, sub := range append(viewers, stranger) {
			defer sub.Close()
		}

		ev := liveEvent("1337")
		if inserted, err := b.Store(ctx, ev); err != nil || !inserted[0] {
			t.Fatalf("Store = %v, %v", inserted, err)
		}
		html, err := web.RenderLiveRow(ctx, *ev)
		if err != nil {
			t.Fatal(err)
		}
		want := hub.Message{BroadcasterID: "1337", EventID: ev.ID, Type: ev.Type, HTML: html, Event: *ev}
		for i, sub := range viewers {
			if got := pending(sub); !slices.Equal(got, []hub.Message{want}) {
				t.Errorf("viewer %d got %+v, want %+v", i, got, want)
			}
		}

		again := liveEvent("1337")
		again.MessageID = ev.MessageID
		hidden := liveEvent("1337")
		hidden.Type, hidden.Version, hidden.Hidden = eventsub.ChannelSubscribe, "1", true
		unwatched := liveEvent("9999")
		if inserted, err := b.Store(ctx, again, hidden, unwatched); err != nil || !slices.Equal(inserted, []bool{false, true, true}) {
			t.Fatalf("Store = %v, %v; want [false true true]", inserted, err)
		}
		for i, sub := range append(viewers, stranger) {
			if got := pending(sub); len(got) != 0 {
				t.Errorf("subscription %d got %+v", i, got)
			}
		}
	})
}

// TestPublishConcurrentInIDOrder: with several writers and many concurrent callers, each viewer
// receives every stored event of its broadcaster, in increasing id order (the stream's cursor
// drops anything older than what it has sent).
func TestPublishConcurrentInIDOrder(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		const perBroadcaster = 60
		broadcasters := []string{"1337", "4242", "777"}
		h := hub.New(perBroadcaster)
		b := publishing(t, s, h, 4)
		subs := map[string]*hub.Subscription{}
		for _, id := range broadcasters {
			subs[id] = h.Subscribe(id)
			defer subs[id].Close()
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
			var got []int64
			for _, m := range pending(subs[id]) {
				got = append(got, m.EventID)
			}
			stored, err := s.EventsAfter(context.Background(), id, 0, 2*perBroadcaster)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, ev := range stored {
				want = append(want, ev.ID)
			}
			if len(want) != perBroadcaster || !slices.Equal(got, want) {
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

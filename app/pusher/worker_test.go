package pusher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/app/pusher/pushertest"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// waitLong only keeps a broken test from hanging; no assertion depends on it.
const waitLong = 20 * time.Second

// fast retries quickly, so tests of failures do not wait for the production backoff.
var fast = pusher.WorkerOptions{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Poll: 20 * time.Millisecond}

// published is the data of a published event, as a client reads it.
type published struct {
	ID            int64           `json:"id"`
	MessageID     string          `json:"message_id"`
	Type          string          `json:"type"`
	BroadcasterID string          `json:"broadcaster_id"`
	UserID        string          `json:"user_id"`
	UserLogin     string          `json:"user_login"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Event         json.RawMessage `json:"event"`
}

func decode(t *testing.T, e pushertest.Event) published {
	t.Helper()
	var p published
	if err := json.Unmarshal([]byte(e.Data), &p); err != nil {
		t.Fatalf("event data %q: %v", e.Data, err)
	}
	return p
}

// open is a store on db with the outbox on, as serve makes it when PUSHER_URL is set.
func open(t *testing.T, db storetest.DB) *store.Store {
	s := storetest.Open(t, db)
	s.EnableOutbox()
	return s
}

func client(t *testing.T, f *pushertest.Fake) *pusher.Client {
	t.Helper()
	c, err := pusher.New(f.PusherURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// run starts a worker; the returned stop ends it and waits until it has returned.
func run(t *testing.T, s *store.Store, c *pusher.Client, opts pusher.WorkerOptions) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { pusher.NewWorker(s, c, logger(t), opts).Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

var users atomic.Int64

// insert stores a follow for broadcaster (with payload as its raw event, when given).
func insert(t *testing.T, s *store.Store, broadcaster string, payload ...string) store.Event {
	t.Helper()
	k := users.Add(1)
	ev := store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub", Type: eventsub.ChannelFollow, Version: "2",
		BroadcasterID: broadcaster, UserID: fmt.Sprint(k), UserLogin: fmt.Sprintf("viewer_%d", k),
		UserName: fmt.Sprintf("Viewer_%d", k), OccurredAt: time.Now(), ReceivedAt: time.Now(),
		Payload: fmt.Sprintf(`{"user_id":"%d","broadcaster_user_id":"%s"}`, k, broadcaster)}
	if len(payload) > 0 {
		ev.Type, ev.Payload = "channel.cheer", payload[0]
	}
	if _, err := s.InsertEvent(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitEvents waits until the fake accepted n events and returns them.
func waitEvents(t *testing.T, f *pushertest.Fake, n int) []pushertest.Event {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for len(f.Events()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("Pusher received %d events, want %d", len(f.Events()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.Events()
}

func pending(t *testing.T, s *store.Store, broadcaster string) store.OutboxStats {
	t.Helper()
	st, err := s.OutboxStatsOf(context.Background(), broadcaster)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// drained waits until the broadcaster has nothing left to publish: Pusher accepts a batch a
// moment before the worker marks it published.
func drained(t *testing.T, s *store.Store, broadcaster string) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for st := pending(t, s, broadcaster); st.Pending != 0; st = pending(t, s, broadcaster) {
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// onceEach checks that Pusher got exactly the stored events, each once, on its streamer's channel.
func onceEach(t *testing.T, got []pushertest.Event, want []store.Event) {
	t.Helper()
	byID := map[int64]store.Event{}
	for _, ev := range want {
		byID[ev.ID] = ev
	}
	seen := map[int64]bool{}
	for _, e := range got {
		p := decode(t, e)
		ev, ok := byID[p.ID]
		switch {
		case !ok:
			t.Errorf("published event %d was not stored", p.ID)
		case seen[p.ID]:
			t.Errorf("event %d published twice", p.ID)
		case e.Channel != "private-events-"+ev.BroadcasterID || e.Name != ev.Type || p.MessageID != ev.MessageID ||
			p.Type != ev.Type || p.BroadcasterID != ev.BroadcasterID || p.UserLogin != ev.UserLogin ||
			!p.OccurredAt.Equal(ev.OccurredAt):
			t.Errorf("event %d published as %s %s %+v, stored %+v", p.ID, e.Channel, e.Name, p, ev)
		}
		seen[p.ID] = true
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct events published, want %d", len(seen), len(want))
	}
}

func TestPublishesStoredEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := open(t, db), pushertest.New(t)
		run(t, s, client(t, f), pusher.WorkerOptions{}) // production settings: woken by each new event
		want := []store.Event{insert(t, s, "1001"), insert(t, s, "2002"), insert(t, s, "1001")}
		got := waitEvents(t, f, len(want))
		onceEach(t, got, want)
		if p := decode(t, got[0]); string(p.Event) != want[0].Payload {
			t.Errorf("raw event %s, want %s", p.Event, want[0].Payload)
		}
		drained(t, s, "1001")
	})
}

func TestOutboxOffByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := storetest.Open(t, db), pushertest.New(t)
		insert(t, s, "1001")
		if n, err := pusher.NewWorker(s, client(t, f), logger(t), fast).PublishDue(context.Background()); n != 0 || err != nil {
			t.Fatalf("PublishDue = %d, %v; want nothing queued without EnableOutbox", n, err)
		}
	})
}

func TestRetriesUntilPusherAccepts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := open(t, db), pushertest.New(t)
		c := client(t, f)
		want := []store.Event{insert(t, s, "1001"), insert(t, s, "1001")}
		f.FailNext(3, http.StatusServiceUnavailable)

		// One attempt by hand: it fails, and the failure is recorded for the dashboard.
		if n, err := pusher.NewWorker(s, c, logger(t), fast).PublishDue(context.Background()); err == nil || n != 0 {
			t.Fatalf("PublishDue with Pusher down = %d, %v; want an error", n, err)
		}
		st := pending(t, s, "1001")
		if st.Pending != 2 || st.Oldest == nil || st.Oldest.Attempts != 1 || !strings.Contains(st.LastError, "503") {
			t.Fatalf("after a failure: %+v (oldest %+v)", st, st.Oldest)
		}
		if strings.Contains(st.LastError, f.Secret) {
			t.Fatalf("last error shows the secret: %s", st.LastError)
		}

		run(t, s, c, fast)
		onceEach(t, waitEvents(t, f, len(want)), want)
		if f.Requests() < 4 {
			t.Errorf("%d requests, want 3 failed and 1 accepted", f.Requests())
		}
		drained(t, s, "1001")
	})
}

func TestNothingPublishedTwiceAcrossRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := open(t, db), pushertest.New(t)
		stop := run(t, s, client(t, f), fast)
		want := []store.Event{insert(t, s, "1001"), insert(t, s, "1001"), insert(t, s, "3003")}
		waitEvents(t, f, len(want))
		stop()
		events := len(f.Events())
		before := f.Requests()

		// A new instance: its own connection to the same database, a new worker.
		again := open(t, db)
		if n, err := pusher.NewWorker(again, client(t, f), logger(t), fast).PublishDue(context.Background()); n != 0 || err != nil {
			t.Fatalf("after restart PublishDue = %d, %v; want nothing to publish", n, err)
		}
		if f.Requests() != before || len(f.Events()) != events {
			t.Fatalf("after restart: %d requests (was %d)", f.Requests(), before)
		}
		onceEach(t, f.Events(), want)
	})
}

func TestBatchesOfTen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := open(t, db), pushertest.New(t)
		var want []store.Event
		for i := range 25 {
			want = append(want, insert(t, s, fmt.Sprint(1000+i%3)))
		}
		run(t, s, client(t, f), fast)
		onceEach(t, waitEvents(t, f, 25), want)
		batches := f.Batches()
		for i, b := range batches {
			if len(b) > pusher.BatchSize {
				t.Errorf("batch %d has %d events, want at most %d", i, len(b), pusher.BatchSize)
			}
		}
		if len(batches) < 3 {
			t.Errorf("%d batches for 25 events", len(batches))
		}
	})
}

func TestHugeEventFitsPusherLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		s, f := open(t, db), pushertest.New(t)
		msg, _ := json.Marshal(strings.Repeat("Cheer100 so hype ", 1500)) // ~25 KB
		huge := insert(t, s, "1001", `{"bits":100,"message":`+string(msg)+`}`)
		small := insert(t, s, "1001")
		run(t, s, client(t, f), fast)
		got := waitEvents(t, f, 2)
		onceEach(t, got, []store.Event{huge, small})
		for _, e := range got {
			if len(e.Data) > pusher.MaxData {
				t.Errorf("event data is %d bytes, over Pusher's %d", len(e.Data), pusher.MaxData)
			}
			switch p := decode(t, e); p.ID {
			case huge.ID:
				if p.Event != nil {
					t.Errorf("huge event published with its raw event (%d bytes)", len(e.Data))
				}
			case small.ID:
				if p.Event == nil {
					t.Error("small event published without its raw event")
				}
			}
		}
	})
}

func TestTwoInstancesNeverPublishTheSameEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		a, b, f := open(t, db), open(t, db), pushertest.New(t)
		run(t, a, client(t, f), fast)
		run(t, b, client(t, f), fast)
		var want []store.Event
		for i := range 30 {
			s := a
			if i%2 == 1 {
				s = b
			}
			want = append(want, insert(t, s, fmt.Sprint(1000+i%4)))
		}
		onceEach(t, waitEvents(t, f, len(want)), want)
	})
}

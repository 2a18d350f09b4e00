package feed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/feed"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// renderer counts its calls; it fails when fail is set.
type renderer struct {
	calls atomic.Int64
	fail  bool
}

func (r *renderer) render(_ context.Context, ev store.Event) (string, error) {
	r.calls.Add(1)
	if r.fail {
		return "", errors.New("template exploded")
	}
	return html(ev), nil
}

func html(ev store.Event) string {
	return fmt.Sprintf(`<li data-event-id="%d">%s followed</li>`, ev.ID, ev.UserName)
}

var seq atomic.Int64

func event(broadcaster string) *store.Event {
	n := seq.Add(1)
	now := time.Now().UTC()
	return &store.Event{MessageID: fmt.Sprintf("msg-%d-%d", n, now.UnixNano()), SubscriptionID: "sub-1", Type: "channel.follow",
		Version: "2", BroadcasterID: broadcaster, UserID: fmt.Sprint(n), UserLogin: fmt.Sprintf("viewer_%d", n),
		UserName: fmt.Sprintf("Viewer_%d", n), OccurredAt: now, ReceivedAt: now, Payload: `{}`}
}

func newRecorder(s *store.Store, h *hub.Hub, r *renderer) *feed.Recorder {
	return feed.New(s, h, r.render, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func count(t *testing.T, s *store.Store, broadcaster string) int {
	t.Helper()
	n, err := s.CountEvents(context.Background(), broadcaster)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pending are the messages waiting on a subscription. Record publishes before it returns, so
// after it returns this is everything the subscription will get from it.
func pending(sub *hub.Subscription) []hub.Message {
	var ms []hub.Message
	for len(sub.C) > 0 {
		ms = append(ms, <-sub.C)
	}
	return ms
}

func TestRecordRendersOnceForEveryViewer(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h, r := hub.New(8), &renderer{}
		rec := newRecorder(s, h, r)
		viewers := []*hub.Subscription{h.Subscribe("1337"), h.Subscribe("1337"), h.Subscribe("1337")}
		stranger := h.Subscribe("4242")
		for _, sub := range append(viewers, stranger) {
			defer sub.Close()
		}

		ev := event("1337")
		inserted, err := rec.Record(ctx, ev)
		if err != nil || !inserted || ev.ID == 0 {
			t.Fatalf("Record = %v, %v (id %d); want true, nil and an id", inserted, err, ev.ID)
		}
		if n := r.calls.Load(); n != 1 {
			t.Fatalf("rendered %d times for 3 viewers, want once", n)
		}
		want := hub.Message{BroadcasterID: "1337", EventID: ev.ID, Type: ev.Type, HTML: html(*ev), Event: *ev}
		for i, sub := range viewers {
			if got := pending(sub); !slices.Equal(got, []hub.Message{want}) {
				t.Errorf("viewer %d got %+v, want %+v", i, got, want)
			}
		}
		if got := pending(stranger); len(got) != 0 {
			t.Errorf("another channel's viewer got %+v", got)
		}
		if got, err := s.EventByMessageID(ctx, ev.MessageID); err != nil || got.ID != ev.ID {
			t.Fatalf("stored %+v, %v", got, err)
		}

		// Twitch re-sends: stored once, not rendered or published again.
		again := event("1337")
		again.MessageID = ev.MessageID
		inserted, err = rec.Record(ctx, again)
		if err != nil || inserted {
			t.Fatalf("Record of a duplicate = %v, %v; want false, nil", inserted, err)
		}
		if n := r.calls.Load(); n != 1 {
			t.Errorf("a duplicate was rendered (%d renders)", n)
		}
		for i, sub := range viewers {
			if got := pending(sub); len(got) != 0 {
				t.Errorf("viewer %d got the duplicate: %+v", i, got)
			}
		}
		if n := count(t, s, "1337"); n != 1 {
			t.Fatalf("stored %d events, want 1", n)
		}
	})
}

func TestRecordWithoutViewers(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		h, r := hub.New(8), &renderer{}
		rec := newRecorder(s, h, r)
		elsewhere := h.Subscribe("4242") // watching another channel does not count
		defer elsewhere.Close()
		gone := h.Subscribe("1337")
		gone.Close() // nor does a viewer who left

		ev := event("1337")
		if inserted, err := rec.Record(context.Background(), ev); err != nil || !inserted {
			t.Fatalf("Record = %v, %v; want true, nil", inserted, err)
		}
		if n := r.calls.Load(); n != 0 {
			t.Fatalf("rendered %d times with nobody watching, want 0", n)
		}
		if got := pending(elsewhere); len(got) != 0 {
			t.Fatalf("another channel's viewer got %+v", got)
		}
		if n := count(t, s, "1337"); n != 1 {
			t.Fatalf("stored %d events, want 1", n)
		}
	})
}

func TestRecordFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		tests := []struct {
			name        string
			renderFails bool
			closeStore  bool
			wantErr     bool
			wantStored  int
		}{
			// Stored all the same: viewers get it from the database when they reconnect.
			{"render fails", true, false, false, 1},
			// Not committed: the caller must not acknowledge it, and nobody is told about it.
			{"database closed", false, true, true, 0},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, check := storetest.Open(t, db), storetest.Open(t, db)
				h, r := hub.New(8), &renderer{fail: tt.renderFails}
				rec := newRecorder(s, h, r)
				broadcaster := fmt.Sprint(5000 + i)
				sub := h.Subscribe(broadcaster)
				defer sub.Close()
				if tt.closeStore {
					s.Close()
				}
				inserted, err := rec.Record(context.Background(), event(broadcaster))
				if (err != nil) != tt.wantErr || inserted != (tt.wantStored == 1) {
					t.Fatalf("Record = %v, %v; want inserted %v, error %v", inserted, err, tt.wantStored == 1, tt.wantErr)
				}
				if got := pending(sub); len(got) != 0 {
					t.Fatalf("published %+v", got)
				}
				if n := count(t, check, broadcaster); n != tt.wantStored {
					t.Fatalf("stored %d events, want %d", n, tt.wantStored)
				}
			})
		}
	})
}

func TestRecordConcurrentPublishesInIDOrder(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		const perBroadcaster = 60
		broadcasters := []string{"1337", "4242", "777"}
		h, r := hub.New(perBroadcaster), &renderer{}
		rec := newRecorder(s, h, r)
		subs := map[string]*hub.Subscription{}
		for _, b := range broadcasters {
			subs[b] = h.Subscribe(b)
			defer subs[b].Close()
		}

		errs := make(chan error, perBroadcaster*len(broadcasters))
		var wg sync.WaitGroup
		for range perBroadcaster {
			for _, b := range broadcasters {
				wg.Go(func() {
					if inserted, err := rec.Record(context.Background(), event(b)); err != nil || !inserted {
						errs <- fmt.Errorf("Record for %s = %v, %v", b, inserted, err)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := r.calls.Load(); n != int64(perBroadcaster*len(broadcasters)) {
			t.Errorf("rendered %d times, want once per event (%d)", n, perBroadcaster*len(broadcasters))
		}

		for _, b := range broadcasters {
			var got []int64
			for _, m := range pending(subs[b]) {
				if m.BroadcasterID != b {
					t.Fatalf("viewer of %s got a message of %s", b, m.BroadcasterID)
				}
				got = append(got, m.EventID)
			}
			stored, err := s.EventsAfter(context.Background(), b, 0, 2*perBroadcaster)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, ev := range stored {
				want = append(want, ev.ID)
			}
			if !slices.IsSorted(want) || len(want) != perBroadcaster {
				t.Fatalf("stored ids of %s: %v", b, want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("viewer of %s received ids %v\nwant every stored id in increasing order %v", b, got, want)
			}
		}
	})
}

// A hidden event (one sub of a gift) is stored but never reaches live viewers.
func TestRecordDoesNotPublishHidden(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		h, r := hub.New(8), &renderer{}
		rec := newRecorder(s, h, r)
		sub := h.Subscribe("1337")
		defer sub.Close()
		ev := event("1337")
		ev.Type, ev.Version, ev.Hidden = "channel.subscribe", "1", true
		if inserted, err := rec.Record(context.Background(), ev); err != nil || !inserted {
			t.Fatalf("Record = %v, %v; want stored", inserted, err)
		}
		if got := pending(sub); len(got) != 0 || r.calls.Load() != 0 {
			t.Fatalf("a hidden event was rendered %d times and published: %+v", r.calls.Load(), got)
		}
		if n := count(t, s, "1337"); n != 1 {
			t.Fatalf("stored %d events, want 1", n)
		}
	})
}

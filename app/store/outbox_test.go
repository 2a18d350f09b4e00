package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func outbox(t *testing.T, s *store.Store, broadcaster string) store.OutboxStats {
	t.Helper()
	st, err := s.OutboxStatsOf(context.Background(), broadcaster)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestOutboxQueuesEachNewEventOnce: a re-sent message queues nothing, a claim hides its entries
// until the lease ends, a failure is recorded and backed off, and deleting the account takes its
// queued events along.
func TestOutboxQueuesEachNewEventOnce(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.EnableOutbox()
		for _, id := range []string{"m-1", "m-1", "m-2"} {
			if _, err := s.InsertEvent(ctx, event(id, "1337")); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-s.OutboxWake():
		default:
			t.Fatal("no wake-up after an event was queued")
		}
		if st := outbox(t, s, "1337"); st.Pending != 2 || st.Oldest == nil || st.LastError != "" {
			t.Fatalf("queued: %+v, want 2 pending", st)
		}

		now := time.Now()
		claimed, err := s.ClaimOutbox(ctx, now, 10, time.Minute)
		if err != nil || len(claimed) != 2 || claimed[0].Event.MessageID != "m-1" || claimed[1].Event.MessageID != "m-2" {
			t.Fatalf("claim: %+v, %v; want m-1 and m-2", claimed, err)
		}
		if again, err := s.ClaimOutbox(ctx, now, 10, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("claim while leased: %d entries, %v; want none", len(again), err)
		}
		if again, err := s.ClaimOutbox(ctx, now.Add(2*time.Minute), 10, time.Minute); err != nil || len(again) != 2 {
			t.Fatalf("claim after the lease ran out: %d entries, %v; want 2", len(again), err)
		}

		err = s.FailOutbox(ctx, []store.OutboxEntry{claimed[0].OutboxEntry}, now, "pusher: 503", func(int) time.Duration { return time.Hour })
		if err != nil {
			t.Fatal(err)
		}
		if st := outbox(t, s, "1337"); st.Pending != 2 || st.Oldest.Attempts != 1 || st.LastError != "pusher: 503" {
			t.Fatalf("after a failure: %+v (oldest %+v)", st, st.Oldest)
		}
		if err := s.DoneOutbox(ctx, []int64{claimed[1].EventID}); err != nil {
			t.Fatal(err)
		}
		if st := outbox(t, s, "1337"); st.Pending != 1 {
			t.Fatalf("after publishing one: %+v, want 1 pending", st)
		}
		if err := s.DeleteAccount(ctx, "1337"); err != nil {
			t.Fatal(err)
		}
		if claimed, err := s.ClaimOutbox(ctx, now.Add(2*time.Hour), 10, time.Minute); err != nil || len(claimed) != 0 {
			t.Fatalf("after the account was deleted: %d entries, %v; want none", len(claimed), err)
		}
	})
}

// TestOutboxTotals counts every broadcaster's pending events and dates the oldest.
func TestOutboxTotals(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if n, oldest, err := s.OutboxTotals(ctx); err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: %d, %v, %v; want 0 and no date", n, oldest, err)
		}
		s.EnableOutbox()
		before := time.Now().Add(-time.Second)
		for _, ev := range []*store.Event{event("t-1", "1337"), event("t-2", "42"), event("t-3", "42")} {
			if _, err := s.InsertEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		n, oldest, err := s.OutboxTotals(ctx)
		if err != nil || n != 3 || oldest.Before(before) || oldest.After(time.Now()) {
			t.Fatalf("outbox totals: %d, %v, %v; want 3 queued just now", n, oldest, err)
		}
	})
}

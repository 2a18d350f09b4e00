package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestInsertEventsReportsDuplicates: a batch skips what is stored already and what it holds
// twice (same message id, or same broadcaster and dedupe key), and queues for Pusher exactly the
// events it stored.
func TestInsertEventsReportsDuplicates(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.EnableOutbox()
		if _, err := s.InsertEvent(ctx, event("old", "1")); err != nil {
			t.Fatal(err)
		}
		<-s.OutboxWake()
		follow := func(msgID, broadcaster string) *store.Event {
			ev := event(msgID, broadcaster)
			ev.DedupeKey = store.FollowKey("42", ev.OccurredAt)
			return ev
		}
		batch := []*store.Event{
			event("m-1", "1"), event("old", "1"), event("m-2", "2"), event("m-1", "1"),
			follow("f-1", "1"), follow("f-2", "1"), follow("f-3", "2"),
		}
		want := []bool{true, false, true, false, true, false, true}
		got, err := s.InsertEvents(ctx, batch)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("InsertEvents = %v, %v; want %v", got, err, want)
		}
		var last int64
		for i, ev := range batch {
			if want[i] != (ev.ID != 0) {
				t.Fatalf("event %d (%s): id %d, inserted %v", i, ev.MessageID, ev.ID, want[i])
			}
			if ev.ID != 0 && ev.ID <= last {
				t.Fatalf("ids not increasing in batch order: %d after %d", ev.ID, last)
			}
			last = max(last, ev.ID)
		}
		select {
		case <-s.OutboxWake():
		default:
			t.Fatal("no outbox wake-up after the batch")
		}
		for b, n := range map[string]int{"1": 3, "2": 2} {
			if st := outbox(t, s, b); st.Pending != n {
				t.Errorf("outbox of %s: %d pending, want %d", b, st.Pending, n)
			}
		}
		if got, err := s.InsertEvents(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("empty batch = %v, %v", got, err)
		}
	})
}

// TestInsertEventsIsOneTransaction: one bad row rolls the whole batch back, its outbox rows
// included, and leaves the events as they were so that they can be stored again.
func TestInsertEventsIsOneTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		s := storetest.Open(t, db)
		s.EnableOutbox()
		storetest.Poison(t, db, "poison")
		good := []*store.Event{event("a", "1"), event("b", "2")}
		if _, err := s.InsertEvents(ctx, []*store.Event{good[0], event("poison", "1"), good[1]}); err == nil {
			t.Fatal("a batch with a poisoned event was stored")
		}
		if good[0].ID != 0 || good[1].ID != 0 {
			t.Fatalf("ids left on rolled back events: %d, %d", good[0].ID, good[1].ID)
		}
		if n, _, err := s.OutboxTotals(ctx); err != nil || n != 0 {
			t.Fatalf("outbox after the rollback: %d, %v; want 0", n, err)
		}
		if n, _ := s.CountEvents(ctx, "1"); n != 0 {
			t.Fatalf("%d events stored after the rollback", n)
		}
		if got, err := s.InsertEvents(ctx, good); err != nil || !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("retry without the poisoned event = %v, %v", got, err)
		}
		if n, _, err := s.OutboxTotals(ctx); err != nil || n != 2 {
			t.Fatalf("outbox after the retry: %d, %v; want 2", n, err)
		}
	})
}

// TestInsertEventsResumeWithoutGaps: two instances (two pools) store batches mixing broadcasters
// from several goroutines while a reader follows each broadcaster "after id N", as a resuming
// viewer does. If a smaller id of a broadcaster became visible after a larger one had been read,
// the reader's cursor would have passed it: every stored id must have been read.
func TestInsertEventsResumeWithoutGaps(t *testing.T) {
	db := storetest.Postgres(t) // SQLite's single writer makes this trivially true
	instances := []*store.Store{storetest.Open(t, db), storetest.Open(t, db)}
	broadcasters := []string{"gap-1", "gap-2", "gap-3", "gap-4"}
	const writersPerInstance, batches, maxBatch = 3, 25, 12
	ctx := context.Background()

	var writers sync.WaitGroup
	errs := make(chan error, len(instances)*writersPerInstance)
	for i, s := range instances {
		for w := range writersPerInstance {
			writers.Go(func() {
				for n := range batches {
					batch := make([]*store.Event, 1+rand.IntN(maxBatch))
					for k := range batch {
						b := broadcasters[rand.IntN(len(broadcasters))]
						batch[k] = event(fmt.Sprintf("gap-%d-%d-%d-%d", i, w, n, k), b)
					}
					if _, err := s.InsertEvents(ctx, batch); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()

	seen := make(map[string]map[int64]bool)
	var readers sync.WaitGroup
	var mu sync.Mutex
	for _, b := range broadcasters {
		readers.Go(func() {
			got := follow(t, instances[0], b, done)
			mu.Lock()
			seen[b] = got
			mu.Unlock()
		})
	}
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, b := range broadcasters {
		stored, err := instances[1].EventsAfter(ctx, b, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range stored {
			if !seen[b][ev.ID] {
				t.Errorf("broadcaster %s: event %d became visible after the reader had passed it", b, ev.ID)
			}
		}
		if len(stored) != len(seen[b]) {
			t.Errorf("broadcaster %s: read %d events, stored %d", b, len(seen[b]), len(stored))
		}
	}
}

// follow reads a broadcaster's events after a cursor, as a resuming viewer, until done is closed
// and one more read finds nothing new.
func follow(t *testing.T, s *store.Store, broadcaster string, done <-chan struct{}) map[int64]bool {
	seen := map[int64]bool{}
	var cursor int64
	for {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := s.EventsAfter(context.Background(), broadcaster, cursor, 50)
		if err != nil {
			t.Error(err)
			return seen
		}
		for _, ev := range page {
			seen[ev.ID] = true
			cursor = ev.ID
		}
		if finished && len(page) == 0 {
			return seen
		}
	}
}

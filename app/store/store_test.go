package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func event(msgID, broadcaster string) *store.Event {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &store.Event{
		MessageID: msgID, SubscriptionID: "sub-1", Type: "channel.follow", Version: "2",
		BroadcasterID: broadcaster, UserID: "42", UserLogin: "cool_user", UserName: "Cool_User",
		OccurredAt: now.Add(-time.Second), ReceivedAt: now, Payload: `{"user_id":"42"}`,
	}
}

func TestInsertEventStoresOnce(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ev := event("m-1", "1337")
		ok, err := s.InsertEvent(ctx, ev)
		if err != nil || !ok || ev.ID == 0 {
			t.Fatalf("first insert: ok=%v id=%d err=%v", ok, ev.ID, err)
		}
		again := event("m-1", "1337")
		ok, err = s.InsertEvent(ctx, again)
		if err != nil || ok {
			t.Fatalf("duplicate insert: ok=%v err=%v, want false, nil", ok, err)
		}
		if n, _ := s.CountEvents(ctx, "1337"); n != 1 {
			t.Fatalf("stored %d events, want 1", n)
		}
		got, err := s.EventByMessageID(ctx, "m-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.UserName != "Cool_User" || got.Payload != ev.Payload || !got.OccurredAt.Equal(ev.OccurredAt) {
			t.Fatalf("round trip: got %+v, want %+v", got, ev)
		}
		if _, err := s.EventByMessageID(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing event: err=%v, want ErrNotFound", err)
		}
	})
}

func TestListEventsPagesNewestFirstPerBroadcaster(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 7 {
			for _, b := range []string{"a", "b"} {
				if _, err := s.InsertEvent(ctx, event(fmt.Sprintf("%s-%d", b, i), b)); err != nil {
					t.Fatal(err)
				}
			}
		}
		var ids []int64
		var before int64
		for {
			page, err := s.ListEvents(ctx, "a", before, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, ev := range page {
				if ev.BroadcasterID != "a" {
					t.Fatalf("page holds broadcaster %q", ev.BroadcasterID)
				}
				ids = append(ids, ev.ID)
			}
			before = page[len(page)-1].ID
		}
		if len(ids) != 7 {
			t.Fatalf("paged %d events, want 7", len(ids))
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("ids not strictly decreasing: %v", ids)
			}
		}
		after, err := s.EventsAfter(ctx, "a", ids[3], 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 3 || after[0].ID != ids[2] || after[2].ID != ids[0] {
			t.Fatalf("EventsAfter(%d) = %d events, want the 3 newest oldest first", ids[3], len(after))
		}
	})
}

// Concurrent webhooks for one broadcaster: every event stored, ids unique.
func TestInsertEventConcurrent(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// every message twice: Twitch's retries racing the original
				if _, err := s.InsertEvent(ctx, event(fmt.Sprintf("c-%d", i%20), "1337")); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n, _ := s.CountEvents(ctx, "1337"); n != 20 {
			t.Fatalf("stored %d events, want 20", n)
		}
	})
}

func TestSubscriptionsUpsert(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sub := &store.Subscription{ID: "s1", Type: "channel.follow", Version: "2", BroadcasterID: "1337",
			Condition: `{"broadcaster_user_id":"1337"}`, Status: "enabled", UpdatedAt: time.Now().UTC()}
		if err := s.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		sub.Status = "authorization_revoked"
		if err := s.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		got, err := s.SubscriptionByID(ctx, "s1")
		if err != nil || got.Status != "authorization_revoked" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		live := &store.Session{TokenHash: "h1", BroadcasterID: "1337", Login: "demo", DisplayName: "Demo", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		old := &store.Session{TokenHash: "h2", BroadcasterID: "1337", Login: "demo", DisplayName: "Demo", CreatedAt: now, ExpiresAt: now.Add(-time.Hour)}
		for _, sess := range []*store.Session{live, old} {
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SessionByTokenHash(ctx, "h1", now); err != nil {
			t.Fatalf("live session: %v", err)
		}
		if _, err := s.SessionByTokenHash(ctx, "h2", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: err=%v, want ErrNotFound", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
		}
		if err := s.DeleteSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByTokenHash(ctx, "h1", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: err=%v", err)
		}
	})
}

// Two instances starting at once against one database both succeed; migrating again is a no-op.
func TestMigrateConcurrentlyAndTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(ctx, db.DatabaseURL, db.DataDir)
				if err != nil {
					errs <- err
					return
				}
				defer s.Close()
				errs <- s.Migrate(ctx)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		s := storetest.Open(t, db)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// MessageCounts counts per message id, leaves out ids never stored, and takes more ids than one
// statement's parameters allow.
func TestMessageCounts(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []string
		var stored []*store.Event
		for i := range 1200 {
			id := fmt.Sprintf("mc-%d", i)
			ids = append(ids, id)
			if i%3 == 0 {
				stored = append(stored, event(id, strconv.Itoa(1337+i%4)))
			}
		}
		if _, err := s.InsertEvents(ctx, stored); err != nil {
			t.Fatal(err)
		}
		// A re-sent message is stored once: counted once.
		if _, err := s.InsertEvent(ctx, event("mc-0", "1337")); err != nil {
			t.Fatal(err)
		}
		got, err := s.MessageCounts(ctx, append(ids, "mc-0", "never-sent"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 400 {
			t.Errorf("MessageCounts has %d ids, want the 400 stored", len(got))
		}
		for i, id := range ids {
			want := 0
			if i%3 == 0 {
				want = 1
			}
			if n, ok := got[id]; n != want || ok != (want == 1) {
				t.Fatalf("MessageCounts[%s] = %d, %v; want %d", id, n, ok, want)
			}
		}
		if empty, err := s.MessageCounts(ctx, nil); err != nil || len(empty) != 0 {
			t.Errorf("MessageCounts(nil) = %v, %v; want an empty map", empty, err)
		}
	})
}

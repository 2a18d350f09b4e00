package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func account(id string, now time.Time) *store.Account {
	exp := now.Add(4 * time.Hour)
	return &store.Account{BroadcasterID: id, Login: "streamer" + id, DisplayName: "Streamer" + id,
		AccessToken: "sealed-a", RefreshToken: "sealed-r", TokenExpiresAt: &exp, Scopes: "moderator:read:followers",
		Status: store.AccountOK, CreatedAt: now, UpdatedAt: now}
}

func TestAccountsLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		a := account("100", now)
		if err := s.SaveAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SetHistoryProgress(ctx, "100", "cursor-2", false); err != nil {
			t.Fatal(err)
		}
		// Signing in again updates tokens and profile, and keeps history progress.
		again := account("100", now.Add(time.Minute))
		again.DisplayName, again.AccessToken = "Renamed", "sealed-a2"
		if err := s.SaveAccount(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, err := s.AccountByID(ctx, "100")
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != "Renamed" || got.AccessToken != "sealed-a2" || got.HistoryCursor != "cursor-2" || !got.CreatedAt.Equal(now) {
			t.Fatalf("after second sign-in: %+v", got)
		}
		if err := s.SetAccountStatus(ctx, "100", store.AccountNeedsReconnect, "refresh refused", now); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AccountByID(ctx, "100"); got.Status != store.AccountNeedsReconnect || got.StatusReason != "refresh refused" {
			t.Fatalf("status not saved: %+v", got)
		}
		if err := s.SaveTokens(ctx, "100", "sealed-a3", "sealed-r3", nil, "a b", now); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AccountByID(ctx, "100"); got.Status != store.AccountOK || got.RefreshToken != "sealed-r3" || got.TokenExpiresAt != nil {
			t.Fatalf("tokens not saved: %+v", got)
		}
		if _, err := s.AccountByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing account: %v", err)
		}
		if as, err := s.ListAccounts(ctx); err != nil || len(as) != 1 {
			t.Fatalf("ListAccounts = %d, %v", len(as), err)
		}
	})
}

// Deleting an account removes everything of that streamer and nothing of another.
func TestDeleteAccount(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, id := range []string{"100", "200"} {
			if err := s.SaveAccount(ctx, account(id, now)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.InsertEvent(ctx, event("m-"+id, id)); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateSession(ctx, &store.Session{TokenHash: "h" + id, BroadcasterID: id, Login: "l", DisplayName: "d", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSubscription(ctx, &store.Subscription{ID: "s" + id, Type: "channel.follow", Version: "2", BroadcasterID: id, Condition: "{}", Status: "enabled", UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AccountByID(ctx, "100"); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("account still there")
		}
		if n, _ := s.CountEvents(ctx, "100"); n != 0 {
			t.Fatal("events still there")
		}
		if _, err := s.SessionByTokenHash(ctx, "h100", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("session still there")
		}
		if _, err := s.SubscriptionByID(ctx, "s100"); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("subscription still there")
		}
		if n, _ := s.CountEvents(ctx, "200"); n != 1 {
			t.Fatal("the other streamer lost events")
		}
		if _, err := s.AccountByID(ctx, "200"); err != nil {
			t.Fatal("the other streamer's account is gone")
		}
	})
}

// A follow fetched from the follower history and the same follow delivered live are one row.
func TestFollowSeenTwiceIsOneRow(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		followedAt := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
		live := event("live-msg", "1337")
		live.DedupeKey = store.FollowKey("42", followedAt)
		backfilled := event("backfill:1337:42", "1337")
		backfilled.Source = store.SourceBackfill
		backfilled.DedupeKey = store.FollowKey("42", followedAt.Truncate(time.Second))
		other := event("backfill:1337:43", "1337")
		other.DedupeKey = store.FollowKey("43", followedAt)
		for i, ev := range []*store.Event{backfilled, live, other} {
			ok, err := s.InsertEvent(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if want := i != 1; ok != want {
				t.Fatalf("insert %d: stored=%v, want %v", i, ok, want)
			}
		}
		if n, _ := s.CountEvents(ctx, "1337"); n != 2 {
			t.Fatalf("stored %d rows, want 2", n)
		}
		// Events without a dedupe key never collide with each other.
		for _, id := range []string{"x1", "x2"} {
			if ok, err := s.InsertEvent(ctx, event(id, "1337")); err != nil || !ok {
				t.Fatalf("keyless event %s: %v %v", id, ok, err)
			}
		}
		if at, err := s.LastEventAt(ctx, "1337", "channel.follow"); err != nil || at == nil {
			t.Fatalf("LastEventAt = %v, %v", at, err)
		}
	})
}

// The challenge can be answered before the create call returns: enabled is never undone by the
// late "pending", while real changes (a revocation) still apply.
func TestSubscriptionEnabledIsNotDowngraded(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		sub := &store.Subscription{ID: "s1", Type: "channel.follow", Version: "2", BroadcasterID: "1", Condition: "{}", Status: "enabled", UpdatedAt: now}
		if err := s.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct{ save, want string }{
			{"webhook_callback_verification_pending", "enabled"},
			{"authorization_revoked", "authorization_revoked"},
			{"webhook_callback_verification_pending", "webhook_callback_verification_pending"},
		} {
			sub.Status = step.save
			if err := s.SaveSubscription(ctx, sub); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.SubscriptionByID(ctx, "s1"); got.Status != step.want {
				t.Fatalf("after saving %s: status %s, want %s", step.save, got.Status, step.want)
			}
		}
	})
}

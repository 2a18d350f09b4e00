package accounts_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// At start-up Run validates the tokens, reconciles the subscriptions and fetches the follows
// that arrived while the app was down.
func TestRunStartUpRound(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u, gone := e.addUser("1001", "streamer_one"), e.addUser("1002", "gone_quietly")
		e.signIn(u)
		e.signIn(gone)
		sub := e.subscribe(u.ID)
		addFollowers(e, u.ID, "old", 30, time.Now().Add(-24*time.Hour))
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 30 {
			t.Fatalf("SyncHistory = %d, %v", n, err)
		}
		// Down for a while: 140 follows, one subscription deleted, one streamer left silently.
		addFollowers(e, u.ID, "new", 140, time.Now().Add(-time.Hour))
		if err := e.tw.DeleteSubscription(e.ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		e.fake.RevokeAuthorization(gone.ID)
		e.clock.Set(e.clock.Now().Add(time.Minute))

		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.svc.Run(ctx, time.Hour)
		}()
		// The catch-up is the last step of the round; the only timeout is the generous one of e.ctx.
		for len(follows(e, u.ID)) < 170 {
			select {
			case <-e.ctx.Done():
				cancel()
				t.Fatalf("the start-up round did not fetch the missed follows: %d stored", len(follows(e, u.ID)))
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
		e.wait(done)

		got := follows(e, u.ID)
		wantEachOnce(e, got, "new", 140)
		wantEachOnce(e, got, "old", 30)
		if a := e.account(u.ID); a.ValidatedAt == nil || !a.ValidatedAt.Equal(e.clock.Now()) {
			t.Fatalf("validated_at %v, want %v", a.ValidatedAt, e.clock.Now())
		}
		if a := e.account(gone.ID); a.Status != store.AccountNeedsReconnect {
			t.Fatalf("the streamer who left: status %q, want needs_reconnect", a.Status)
		}
		subs := e.remote(followOf(u.ID))
		if len(subs) != 1 || subs[0].ID == sub.ID {
			t.Fatalf("Twitch has %+v, want a new subscription in place of %s", subs, sub.ID)
		}
		e.await(subs[0].ID)
		if apps := e.remote(appLevel); len(apps) != 1 {
			t.Fatalf("%d app subscriptions, want 1", len(apps))
		}
	})
}

func TestResubscribe(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		old := e.subscribe(u.ID)
		if status, err := e.fake.Revoke(e.ctx, old.ID, "notification_failures_exceeded"); err != nil || status != http.StatusNoContent {
			t.Fatalf("Revoke: %d, %v", status, err)
		}
		if rows := e.local(u.ID); len(rows) != 1 || rows[0].Status != "notification_failures_exceeded" {
			t.Fatalf("local rows after the revocation: %+v", rows)
		}

		mark := e.mark()
		if err := e.svc.Resubscribe(e.ctx, u.ID); err != nil {
			t.Fatalf("Resubscribe: %v", err)
		}
		deletes := e.since(mark, http.MethodDelete, subscriptionsPath)
		if len(deletes) != 1 || deletes[0].Query.Get("id") != old.ID || deletes[0].Status != http.StatusNoContent {
			t.Fatalf("want the revoked subscription deleted at Twitch; requests: %v", e.trail(mark))
		}
		subs := e.remote(followOf(u.ID))
		if len(subs) != 1 || subs[0].ID == old.ID {
			t.Fatalf("Twitch has %+v, want one new subscription", subs)
		}
		e.await(subs[0].ID)
		if rows := e.local(u.ID); len(rows) != 1 || rows[0].ID != subs[0].ID || rows[0].Status != "enabled" {
			t.Fatalf("local rows %+v, want only %s, enabled", rows, subs[0].ID)
		}

		// A live subscription is left as it is.
		mark = e.mark()
		if err := e.svc.Resubscribe(e.ctx, u.ID); err != nil {
			t.Fatalf("Resubscribe again: %v", err)
		}
		if deletes := e.since(mark, http.MethodDelete, subscriptionsPath); len(deletes) != 0 {
			t.Fatalf("a live subscription was deleted: %v", e.trail(mark))
		}
	})
}

// Setup completes a fresh sign-in: the subscription made and the newest followers stored.
func TestSetup(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		addFollowers(e, u.ID, "old", 120, time.Now().Add(-time.Hour))
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		subs := e.remote(followOf(u.ID))
		if len(subs) != 1 {
			t.Fatalf("Twitch has %d channel.follow subscriptions, want 1", len(subs))
		}
		e.await(subs[0].ID)
		if got := follows(e, u.ID); len(got) != 100 {
			t.Fatalf("%d follows stored, want the newest 100", len(got))
		}
	})
}

// On a fresh deployment the start-up round subscribes to user.authorization.revoke before anybody
// signs in; a restart does not create it again, and one whose row was lost is adopted (409).
func TestStartUpCreatesTheAppSubscriptionOnce(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.svc.StartUp(e.ctx)
		apps := e.remote(appLevel)
		if len(apps) != 1 || apps[0].Condition["client_id"] != e.fake.ClientID || apps[0].Callback != e.callback {
			t.Fatalf("Twitch has %+v, want one user.authorization.revoke subscription for this app", apps)
		}
		app := e.await(apps[0].ID)
		if rows := e.local(""); len(rows) != 1 || rows[0].ID != app.ID || rows[0].Status != "enabled" {
			t.Fatalf("local rows %+v, want %s enabled", rows, app.ID)
		}

		wantSame := func(mark int, allowed ...int) {
			t.Helper()
			for _, r := range e.since(mark, http.MethodPost, subscriptionsPath) {
				if !slices.Contains(allowed, r.Status) {
					t.Fatalf("subscription creations after the restart: %v", e.trail(mark))
				}
			}
			if apps := e.remote(appLevel); len(apps) != 1 || apps[0].ID != app.ID || apps[0].Status != twitchtest.StatusEnabled {
				t.Fatalf("Twitch has %+v, want only %s, enabled", apps, app.ID)
			}
			if rows := e.local(""); len(rows) != 1 || rows[0].ID != app.ID || rows[0].Status != "enabled" {
				t.Fatalf("local rows %+v, want %s enabled", rows, app.ID)
			}
		}
		mark := e.mark()
		e.service(e.box).StartUp(e.ctx) // a restart: a new process over the same database
		wantSame(mark)                  // not even asked for

		// The row lost (another database, a restore): Twitch says it exists, and it is adopted.
		if err := e.store.DeleteSubscription(e.ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		mark = e.mark()
		e.service(e.box).StartUp(e.ctx)
		wantSame(mark, http.StatusConflict)
		if posts := e.since(mark, http.MethodPost, subscriptionsPath); len(posts) != 1 {
			t.Fatalf("requests: %v; want one creation answered 409", e.trail(mark))
		}
	})
}

// The first sign-in's Setup subscribes to user.authorization.revoke too; later ones leave it be.
func TestSetupCreatesTheAppSubscription(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u, v := e.addUser("1001", "streamer_one"), e.addUser("1002", "streamer_two")
		e.signIn(u)
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		apps := e.remote(appLevel)
		if len(apps) != 1 {
			t.Fatalf("Twitch has %d user.authorization.revoke subscriptions, want 1", len(apps))
		}
		e.await(apps[0].ID)
		e.signIn(v)
		if err := e.svc.Setup(e.ctx, v.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		if again := e.remote(appLevel); len(again) != 1 || again[0].ID != apps[0].ID {
			t.Fatalf("Twitch has %+v after a second sign-in, want only %s", again, apps[0].ID)
		}
	})
}

package accounts_test

import (
	"errors"
	"maps"
	"net/http"
	"testing"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestReconcileRecreatesEndedSubscriptions(t *testing.T) {
	cases := []struct {
		name string
		end  func(e *env, id string)
	}{
		{"deleted at Twitch", func(e *env, id string) {
			if err := e.tw.DeleteSubscription(e.ctx, id); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"failed at Twitch", func(e *env, id string) {
			if _, err := e.fake.Revoke(e.ctx, id, "notification_failures_exceeded"); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"revoked at Twitch", func(e *env, id string) {
			if _, err := e.fake.Revoke(e.ctx, id, "version_removed"); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.EachStore(t, func(t *testing.T, st *store.Store) {
				e := newEnv(t, st)
				u := e.addUser("1001", "streamer_one")
				e.signIn(u)
				old := e.subscribe(u.ID)
				tc.end(e, old.ID)

				if err := e.svc.Reconcile(e.ctx); err != nil {
					t.Fatalf("Reconcile: %v", err)
				}
				subs := e.remote(followOf(u.ID))
				if len(subs) != 1 || subs[0].ID == old.ID {
					t.Fatalf("Twitch has %+v; want one new channel.follow subscription in place of %s", subs, old.ID)
				}
				sub := e.await(subs[0].ID)
				if sub.Callback != e.callback || !maps.Equal(sub.Condition, old.Condition) {
					t.Fatalf("recreated subscription %+v differs from the old one %+v", sub, old)
				}
				rows := e.local(u.ID)
				if len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" {
					t.Fatalf("local rows %+v; want only the new %s, enabled (the old row forgotten)", rows, sub.ID)
				}
			})
		})
	}
}

func TestReconcileForgetsVanishedRowsOfAccountsThatNeedReconnecting(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		sub := e.subscribe(u.ID)
		e.fake.RevokeAuthorization(u.ID)
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); !errors.Is(err, accounts.ErrNeedsReconnect) {
			t.Fatalf("SyncHistory: %v, want ErrNeedsReconnect", err)
		}
		if err := e.tw.DeleteSubscription(e.ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		if rows := e.local(u.ID); len(rows) != 0 {
			t.Fatalf("local rows %+v; the vanished subscription should be forgotten", rows)
		}
		if subs := e.remote(followOf(u.ID)); len(subs) != 0 {
			t.Fatalf("a channel.follow subscription was created for an account that needs reconnecting: %+v", subs)
		}
	})
}

func TestReconcileOwnsOnlyItsSubscriptions(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)

		// No account yet: nothing to subscribe to, not even the app's own subscription.
		mark := e.mark()
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile without accounts: %v", err)
		}
		if got := e.since(mark, http.MethodPost, subscriptionsPath); len(got) != 0 {
			t.Fatalf("Reconcile without accounts created subscriptions: %v", e.trail(mark))
		}

		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		mine := e.subscribe(u.ID)

		// A streamer who authorized the app but has no account (left, or the row was lost): the
		// subscription on our callback is ours and must go. Our router answers its challenge.
		ghost := e.addUser("2001", "ghost")
		e.authorize(ghost, followScope)
		orphan, err := e.tw.CreateSubscription(e.ctx, twitch.CreateSubscription{Type: eventsub.ChannelFollow, Version: "2",
			Condition: map[string]string{"broadcaster_user_id": ghost.ID, "moderator_user_id": ghost.ID},
			Callback:  e.callback, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		e.await(orphan.ID)
		// Another deployment of the app (same client id, another callback) subscribed for the
		// same broadcaster: not ours to judge.
		otherSecret := "another-deployments-secret"
		foreign, err := e.tw.CreateSubscription(e.ctx, twitch.CreateSubscription{Type: eventsub.StreamOnline, Version: "1",
			Condition: map[string]string{"broadcaster_user_id": ghost.ID},
			Callback:  otherDeployment(t, otherSecret), Secret: otherSecret})
		if err != nil {
			t.Fatal(err)
		}
		e.await(foreign.ID)

		mark = e.mark()
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		deleted := map[string]int{}
		for _, r := range e.since(mark, http.MethodDelete, subscriptionsPath) {
			deleted[r.Query.Get("id")] = r.Status
		}
		if len(deleted) != 1 || deleted[orphan.ID] != http.StatusNoContent {
			t.Fatalf("deleted at Twitch: %v; want only the orphan %s", deleted, orphan.ID)
		}
		if subs := e.remote(followOf(ghost.ID)); len(subs) != 0 {
			t.Fatalf("the orphan is still at Twitch: %+v", subs)
		}
		if rows := e.local(ghost.ID); len(rows) != 0 {
			t.Fatalf("local rows of the account-less broadcaster: %+v", rows)
		}
		if subs := e.remote(func(s twitchtest.Subscription) bool { return s.ID == foreign.ID }); len(subs) != 1 || subs[0].Status != twitchtest.StatusEnabled {
			t.Fatalf("the other deployment's subscription was touched: %+v", subs)
		}
		if subs := e.remote(followOf(u.ID)); len(subs) != 1 || subs[0].ID != mine.ID {
			t.Fatalf("the streamer's subscription changed: %+v, want %s", subs, mine.ID)
		}

		// Now that there is an account, the app's own subscription exists: Twitch tells us when
		// a streamer disconnects the app.
		apps := e.remote(appLevel)
		if len(apps) != 1 {
			t.Fatalf("%d user.authorization.revoke subscriptions at Twitch, want 1", len(apps))
		}
		app := e.await(apps[0].ID)
		if !maps.Equal(app.Condition, map[string]string{"client_id": e.fake.ClientID}) || app.Version != "1" || app.Callback != e.callback {
			t.Fatalf("app subscription = %+v; want version 1, condition client_id only, our callback", app)
		}
		if rows := e.local(""); len(rows) != 1 || rows[0].ID != app.ID || rows[0].Type != eventsub.UserAuthorizationRevoke {
			t.Fatalf("local app-level rows %+v, want %s", rows, app.ID)
		}

		// Nothing left to do: the next reconciliation only looks.
		mark = e.mark()
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile again: %v", err)
		}
		for _, r := range e.fake.Requests()[mark:] {
			if r.Path == subscriptionsPath && r.Method != http.MethodGet {
				t.Fatalf("a reconciliation with nothing to do changed subscriptions: %v", e.trail(mark))
			}
		}
		if apps := e.remote(appLevel); len(apps) != 1 || apps[0].ID != app.ID {
			t.Fatalf("app subscriptions after another reconciliation: %+v, want %s", apps, app.ID)
		}
		if rows := e.local(u.ID); len(rows) != 1 || rows[0].ID != mine.ID || rows[0].Status != "enabled" {
			t.Fatalf("the streamer's rows: %+v", rows)
		}
	})
}

package accounts_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

const subscriptionsPath = "/helix/eventsub/subscriptions"

func TestEnsureSubscriptionsCreatesFollowWithAppToken(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		mark := e.mark()
		if err := e.svc.EnsureSubscriptions(e.ctx, u.ID); err != nil {
			t.Fatalf("EnsureSubscriptions: %v", err)
		}

		// The app token is fetched (client credentials) before the create, which the fake only
		// accepts with an app token; no user token is involved.
		trail := e.trail(mark)
		appToken := slices.Index(trail, "POST /oauth2/token 200 client_credentials")
		created := slices.Index(trail, "POST "+subscriptionsPath+" 202")
		if appToken < 0 || created < appToken {
			t.Fatalf("want an app token fetched, then the subscription created; requests: %v", trail)
		}
		for _, line := range trail {
			if strings.Contains(line, "refresh_token") || strings.Contains(line, "authorization_code") {
				t.Fatalf("a user token grant was used to subscribe: %v", trail)
			}
		}

		subs := e.remote(followOf(u.ID))
		if len(subs) != 1 {
			t.Fatalf("Twitch has %d channel.follow subscriptions, want 1", len(subs))
		}
		sub := subs[0]
		wantCond := map[string]string{"broadcaster_user_id": u.ID, "moderator_user_id": u.ID}
		if sub.Version != "2" || !maps.Equal(sub.Condition, wantCond) || sub.Callback != e.callback || sub.Secret != testSecret {
			t.Fatalf("subscription = %+v; want channel.follow v2, condition %v, our callback and secret", sub, wantCond)
		}
		e.await(sub.ID) // our router answered the challenge

		rows := e.local(u.ID)
		if len(rows) != 1 {
			t.Fatalf("%d local rows, want 1: %+v", len(rows), rows)
		}
		row := rows[0]
		var cond map[string]string
		if err := json.Unmarshal([]byte(row.Condition), &cond); err != nil || !maps.Equal(cond, wantCond) {
			t.Fatalf("row condition %q (%v), want %v", row.Condition, err, wantCond)
		}
		if row.ID != sub.ID || row.Type != eventsub.ChannelFollow || row.Version != "2" || row.Status != "enabled" || row.LastError != "" {
			t.Fatalf("row = %+v, want subscription %s enabled", row, sub.ID)
		}
	})
}

func TestEnsureSubscriptionsAdoptsExisting(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		sub := e.subscribe(u.ID)

		check := func(when string) {
			t.Helper()
			mark := e.mark()
			if err := e.svc.EnsureSubscriptions(e.ctx, u.ID); err != nil {
				t.Fatalf("EnsureSubscriptions %s: %v", when, err)
			}
			// Found in Twitch's list: asking to create it again would only be refused (409).
			if got := e.since(mark, http.MethodPost, subscriptionsPath); len(got) != 0 {
				t.Fatalf("%s: want no create; requests: %v", when, e.trail(mark))
			}
			if got := e.since(mark, http.MethodGet, subscriptionsPath); len(got) != 1 {
				t.Fatalf("%s: want Twitch's list asked once; requests: %v", when, e.trail(mark))
			}
			if subs := e.remote(followOf(u.ID)); len(subs) != 1 || subs[0].ID != sub.ID {
				t.Fatalf("%s: Twitch has %+v, want only %s", when, subs, sub.ID)
			}
			rows := e.local(u.ID)
			if len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" {
				t.Fatalf("%s: local rows %+v, want only %s, enabled", when, rows, sub.ID)
			}
		}
		check("a second time")
		// Our row lost (e.g. a restored backup): Twitch's list brings it back.
		if err := st.DeleteSubscription(e.ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		check("with the row lost")
	})
}

func TestEnsureSubscriptionsRecordsRefusalUntilItWorks(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		// An account whose owner never granted the app anything at Twitch (scopes given, so
		// SignIn does not ask Twitch): creating the subscription is refused with 403.
		_, err := e.svc.SignIn(e.ctx, accounts.Grant{UserID: u.ID, Login: u.Login, DisplayName: u.DisplayName,
			AccessToken: "never-issued-access", RefreshToken: "never-issued-refresh", Scopes: accounts.Scopes})
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		err = e.svc.EnsureSubscriptions(e.ctx, u.ID)
		wantErrIs(t, err, twitch.ErrForbidden)
		if subs := e.remote(followOf(u.ID)); len(subs) != 0 {
			t.Fatalf("Twitch has %+v after refusing", subs)
		}
		rows := e.local(u.ID)
		if len(rows) != 1 || rows[0].Status != "error" || rows[0].Type != eventsub.ChannelFollow || !strings.Contains(rows[0].LastError, "403") {
			t.Fatalf("local rows %+v; want one channel.follow row with status error and the 403 as LastError", rows)
		}
		if strings.Contains(rows[0].LastError, testSecret) {
			t.Fatal("LastError carries the EventSub secret")
		}

		// Trying again while Twitch still refuses keeps one failed row, not two.
		wantErrIs(t, e.svc.EnsureSubscriptions(e.ctx, u.ID), twitch.ErrForbidden)
		if rows := e.local(u.ID); len(rows) != 1 {
			t.Fatalf("after a second refusal: %d rows, want 1", len(rows))
		}

		// The streamer really signs in; the next try succeeds and the failed row goes.
		e.signIn(u)
		sub := e.subscribe(u.ID)
		rows = e.local(u.ID)
		if len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" || rows[0].LastError != "" {
			t.Fatalf("after success: local rows %+v, want only %s, enabled", rows, sub.ID)
		}
	})
}

// A create can reach Twitch and its answer still be lost (a timeout): the failure is recorded,
// yet the subscription exists, and our callback answers its challenge. Once the app knows it
// exists, the failed row must not linger next to it.
func TestFailedRowGoesWhenTheSubscriptionTurnsUp(t *testing.T) {
	for _, then := range []string{"EnsureSubscriptions", "Reconcile"} {
		t.Run(then, func(t *testing.T) {
			storetest.EachStore(t, func(t *testing.T, st *store.Store) {
				e := newEnv(t, st)
				u := e.addUser("1001", "streamer_one")
				_, err := e.svc.SignIn(e.ctx, accounts.Grant{UserID: u.ID, Login: u.Login, DisplayName: u.DisplayName,
					AccessToken: "never-issued-access", RefreshToken: "never-issued-refresh", Scopes: accounts.Scopes})
				if err != nil {
					t.Fatal(err)
				}
				wantErrIs(t, e.svc.EnsureSubscriptions(e.ctx, u.ID), twitch.ErrForbidden)

				e.signIn(u)
				sub, err := e.tw.CreateSubscription(e.ctx, twitch.CreateSubscription{Type: eventsub.ChannelFollow, Version: "2",
					Condition: map[string]string{"broadcaster_user_id": u.ID, "moderator_user_id": u.ID},
					Callback:  e.callback, Secret: testSecret})
				if err != nil {
					t.Fatal(err)
				}
				e.await(sub.ID)
				if then == "Reconcile" {
					err = e.svc.Reconcile(e.ctx)
				} else {
					err = e.svc.EnsureSubscriptions(e.ctx, u.ID)
				}
				if err != nil {
					t.Fatalf("%s: %v", then, err)
				}
				rows := e.local(u.ID)
				if len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" {
					t.Fatalf("local rows %+v; want only %s, enabled", rows, sub.ID)
				}
			})
		})
	}
}

// PUBLIC_URL changed: the subscription Twitch has delivers to the old address. It is ours
// (same type and condition, and Twitch allows one), so it moves to the new callback.
func TestSubscriptionMovesToNewCallback(t *testing.T) {
	for _, then := range []string{"EnsureSubscriptions", "Reconcile"} {
		t.Run(then, func(t *testing.T) {
			storetest.EachStore(t, func(t *testing.T, st *store.Store) {
				e := newEnv(t, st)
				u := e.addUser("1001", "streamer_one")
				e.signIn(u)
				o := e.options()
				o.Callback = otherDeployment(t, testSecret) // the app at its old address
				if err := accounts.New(o).EnsureSubscriptions(e.ctx, u.ID); err != nil {
					t.Fatal(err)
				}
				old := e.remote(followOf(u.ID))
				if len(old) != 1 || old[0].Callback != o.Callback {
					t.Fatalf("Twitch has %+v, want one subscription at %s", old, o.Callback)
				}
				e.await(old[0].ID)

				mark := e.mark()
				var err error
				if then == "Reconcile" {
					err = e.svc.Reconcile(e.ctx)
				} else {
					err = e.svc.EnsureSubscriptions(e.ctx, u.ID)
				}
				if err != nil {
					t.Fatalf("%s: %v", then, err)
				}
				deletes := e.since(mark, http.MethodDelete, subscriptionsPath)
				if len(deletes) != 1 || deletes[0].Query.Get("id") != old[0].ID {
					t.Fatalf("want the old subscription deleted; requests: %v", e.trail(mark))
				}
				subs := e.remote(followOf(u.ID))
				if len(subs) != 1 || subs[0].Callback != e.callback {
					t.Fatalf("Twitch has %+v, want one subscription at %s", subs, e.callback)
				}
				e.await(subs[0].ID)
				if rows := e.local(u.ID); len(rows) != 1 || rows[0].ID != subs[0].ID || rows[0].Status != "enabled" {
					t.Fatalf("local rows %+v; want only %s, enabled", rows, subs[0].ID)
				}
			})
		})
	}
}

// TestLateChallengeForDeletedAccount: a verification challenge that comes after the streamer's
// account was deleted (they disconnected the app straight after signing in) records nothing.
func TestLateChallengeForDeletedAccount(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		sub := eventsub.Subscription{ID: "late-challenge", Type: eventsub.ChannelFollow, Version: "2",
			Condition: map[string]string{"broadcaster_user_id": "424242", "moderator_user_id": "424242"},
			CreatedAt: e.clock.Now()}
		if err := e.svc.Verified(e.ctx, sub); err != nil {
			t.Fatalf("Verified: %v", err)
		}
		if rows := e.local("424242"); len(rows) != 0 {
			t.Fatalf("a challenge for an account that does not exist left rows: %+v", rows)
		}
	})
}

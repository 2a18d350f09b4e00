package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// These tests drive the app's real router on real HTTP against the fake Twitch. They share
// goth's globals (web.ConfigureGoth), so none of them runs in parallel.

func TestTwitchSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000001", "cozy_streamer")
		b := te.browser()
		te.signIn(b, me)

		a := te.account(me.ID)
		if a.Login != me.Login || a.DisplayName != me.DisplayName || a.Status != store.AccountOK ||
			a.Scopes != strings.Join(accounts.Scopes, " ") || a.TokenExpiresAt == nil {
			t.Fatalf("account row %+v", a)
		}
		// Sealed at rest: the tokens the app holds are the fake's (it validates the access
		// token as this user's), and neither appears in any column of the row.
		access, refresh := te.tokens(me.ID)
		if v, err := te.twitch.Validate(context.Background(), access); err != nil || v.UserID != me.ID {
			t.Fatalf("the stored access token is not a live token of %s: %+v, %v", me.ID, v, err)
		}
		if row := fmt.Sprintf("%+v", *a); strings.Contains(row, access) || strings.Contains(row, refresh) {
			t.Fatal("a token is stored in the clear in the accounts table")
		}

		// channel.follow v2 was created with the app token (the fake refuses webhook subscriptions
		// made with a user token), for this streamer, to the app's callback, and verified.
		sub := te.onlyFollowSub(me.ID)
		wantCond := map[string]string{"broadcaster_user_id": me.ID, "moderator_user_id": me.ID}
		if sub.Version != "2" || !maps.Equal(sub.Condition, wantCond) || sub.Callback != te.url+"/webhooks/twitch" || sub.Secret != testSecret {
			t.Fatalf("subscription at the fake: %+v", sub)
		}
		if row, err := te.store.SubscriptionByID(context.Background(), sub.ID); err != nil || row.Status != "enabled" || row.BroadcasterID != me.ID {
			t.Fatalf("subscription row: %+v, %v; want enabled for %s", row, err, me.ID)
		}
		if got := panel(b.page("/dashboard")); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel = %v, want channel.follow enabled", got)
		}
		challenges := 0
		for _, d := range te.fake.Deliveries() {
			if d.SubscriptionID == sub.ID && d.MessageType == eventsub.TypeVerification && d.Status == http.StatusOK {
				challenges++
			}
		}
		if challenges != 1 {
			t.Fatalf("%d answered challenges for the subscription, want 1", challenges)
		}

		// The app's own user.authorization.revoke subscription came with the sign-in; reconciling
		// keeps it.
		if err := te.acc.Reconcile(context.Background()); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		app := te.appSub()
		if app.Condition["client_id"] != te.fake.ClientID || app.Callback != te.url+"/webhooks/twitch" {
			t.Fatalf("user.authorization.revoke subscription at the fake: %+v", app)
		}
		if rows, err := te.store.SubscriptionsOf(context.Background(), ""); err != nil || len(rows) != 1 || rows[0].ID != app.ID {
			t.Fatalf("app subscription rows: %+v, %v", rows, err)
		}
		te.onlyFollowSub(me.ID) // reconciling did not touch it
	})
}

func TestTwitchSignInDenied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000002", "shy_streamer")
		te.fake.AuthorizeAs(me.ID)
		te.fake.DenyNextAuthorize()
		b := te.browser()
		back := te.consent(b, te.startSignIn(b))
		if back.Query().Get("error") != "access_denied" {
			t.Fatalf("the fake sent back %s, want error=access_denied", back.Redacted())
		}
		wantSignInProblem(t, b.open(back))
		wantSignedOut(t, b)
		te.noAccount(t, me.ID)
		if subs := te.fake.Subscriptions(); len(subs) != 0 {
			t.Fatalf("subscriptions created for a denied sign-in: %+v", subs)
		}
	})
}

func TestTwitchSignInRefusesBadCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000003", "careful_streamer")
		te.fake.AuthorizeAs(me.ID)
		with := func(u *url.URL, change func(q url.Values)) *url.URL {
			c := *u
			q := c.Query()
			change(q)
			c.RawQuery = q.Encode()
			return &c
		}
		tests := []struct {
			name   string
			change func(q url.Values)
		}{
			{"tampered state", func(q url.Values) { q.Set("state", flip(q.Get("state"), 3)) }},
			{"missing state", func(q url.Values) { q.Del("state") }},
			{"empty state", func(q url.Values) { q.Set("state", "") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := te.with(t).browser()
				back := te.consent(b, te.startSignIn(b))
				wantSignInProblem(t, b.open(with(back, tt.change)))
				wantSignedOut(t, b)
				te.noAccount(t, me.ID)
			})
		}

		// A completed sign-in's callback, replayed: its code is spent.
		first := te.signIn(te.browser(), me)
		tokenCalls := len(te.requests(http.MethodPost, "/oauth2/token", grantType("authorization_code")))
		b := te.browser()
		wantSignInProblem(t, b.open(first.callback)) // another browser: no sign-in of its own under way
		wantSignedOut(t, b)
		// The same code under a state this browser did start: Twitch refuses the code.
		fresh := te.startSignIn(b)
		wantSignInProblem(t, b.open(with(first.callback, func(q url.Values) { q.Set("state", fresh.Query().Get("state")) })))
		wantSignedOut(t, b)
		codes := te.requests(http.MethodPost, "/oauth2/token", grantType("authorization_code"))
		if len(codes) != tokenCalls+1 || codes[len(codes)-1].Status != http.StatusBadRequest {
			t.Fatalf("token requests for the replayed code: %+v; want one more, refused with 400", codes[tokenCalls:])
		}
	})
}

// A link to /auth/twitch?state=X must not choose the OAuth state: otherwise a page could start a
// sign-in in a visitor's browser with a state it knows and then send that browser to the
// callback with the page owner's own code (login CSRF).
func TestTwitchSignInStateNotChosenByLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		b := te.browser()
		r := b.get("/auth/twitch?state=chosen-by-a-stranger-0123456789abcdefghijkl")
		u, err := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || err != nil {
			t.Fatalf("GET /auth/twitch = %d to %q, want 302 to the fake", r.status, r.header.Get("Location"))
		}
		if st := u.Query().Get("state"); st == "" || strings.Contains(st, "chosen-by-a-stranger") {
			t.Fatalf("authorize state %q: the link chose it", st)
		}
	})
}

func TestTwitchSignInAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000004", "loyal_streamer")
		te.addFollowers(me.ID, 3, mustTime(t, "2025-01-02T03:04:05Z"))
		b := te.browser()
		te.signIn(b, me)
		sub := te.onlyFollowSub(me.ID)
		oldAccess, _ := te.tokens(me.ID)

		creates := len(te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil))
		d := te.signIn(te.browser(), me).dashboard // another browser, the same streamer
		// Twitch lists it: asking to create it again would only be refused (409).
		if calls := te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil)[creates:]; len(calls) != 0 {
			t.Fatalf("subscription creations on the second sign-in: %+v, want none", calls)
		}
		if got := te.onlyFollowSub(me.ID); got.ID != sub.ID {
			t.Fatalf("subscription %s replaced by %s, want the existing one adopted", sub.ID, got.ID)
		}
		rows, err := te.store.SubscriptionsOf(context.Background(), me.ID)
		if err != nil || len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" {
			t.Fatalf("subscription rows: %+v, %v; want only %s enabled", rows, err, sub.ID)
		}
		if got := panel(d); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel = %v", got)
		}
		as, err := te.store.ListAccounts(context.Background())
		if err != nil || len(as) != 1 {
			t.Fatalf("accounts: %d, %v; want 1", len(as), err)
		}
		if access, _ := te.tokens(me.ID); access == oldAccess {
			t.Fatal("the second sign-in's tokens were not stored")
		}
		if n := count(t, te.store, me.ID); n != 3 {
			t.Fatalf("%d events after signing in twice, want the 3 followers once", n)
		}
		te.signIn(b, me) // the first browser, still signed in, signs in again just as well
		te.onlyFollowSub(me.ID)
	})
}

func TestTwitchTamperedSessionCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000005", "sneaky_streamer")
		valid := func() string {
			b := te.browser()
			te.signIn(b, me)
			return b.cookie(sessionCookie).Value
		}()
		token, sig, _ := strings.Cut(valid, ".")
		for name, cookie := range map[string]string{
			"token changed":     flip(token, 4) + "." + sig,
			"signature changed": token + "." + flip(sig, 6),
			"no signature":      token,
		} {
			t.Run(name, func(t *testing.T) {
				r := te.with(t).get("/dashboard", "Cookie", sessionCookie+"="+cookie)
				if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
					t.Fatalf("dashboard = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
				}
				d := te.with(t).get("/", "Cookie", sessionCookie+"="+cookie).doc(t)
				if d.Find(`[data-testid=signed-in-as]`).Length() != 0 || d.Find(`[data-testid=twitch-sign-in]`).Length() != 1 {
					t.Fatal("a tampered cookie is treated as signed in")
				}
			})
		}
		if r := te.get("/dashboard", "Cookie", sessionCookie+"="+valid); r.status != http.StatusOK {
			t.Fatalf("dashboard with the genuine cookie = %d, want 200", r.status)
		}
	})
}

func TestTwitchStreamersIsolated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		alice, bob := te.addStreamer("43000001", "alice_streams"), te.addStreamer("43000002", "bob_streams")
		aliceFans := te.addFollowers(alice.ID, 2, mustTime(t, "2025-02-02T02:02:02Z"))
		bobFans := te.addFollowers(bob.ID, 1, mustTime(t, "2025-02-03T02:02:02Z"))
		ba, bb := te.browser(), te.browser()
		te.signIn(ba, alice)
		te.signIn(bb, bob)
		te.onlyFollowSub(alice.ID)
		te.onlyFollowSub(bob.ID)

		newest := func(id string) int64 {
			evs, err := te.store.ListEvents(ctx, id, 0, 1)
			if err != nil || len(evs) != 1 {
				t.Fatalf("newest event of %s: %v, %v", id, evs, err)
			}
			return evs[0].ID
		}
		sa, sb := ba.stream(""), bb.stream("")
		if got := users(sa.wantReset(newest(alice.ID))); !slices.Equal(got, reversed(displayNames(aliceFans))) {
			t.Fatalf("alice's stream starts with %v", got)
		}
		if got := users(sb.wantReset(newest(bob.ID))); !slices.Equal(got, displayNames(bobFans)) {
			t.Fatalf("bob's stream starts with %v", got)
		}
		// Alice's follow first: had it leaked, it would come before Bob's own on his stream.
		fa := twitchtest.User{ID: "791001", Login: "alice_fan", DisplayName: "Alice_Fan"}
		fb := twitchtest.User{ID: "791002", Login: "bob_fan", DisplayName: "Bob_Fan"}
		for _, f := range []struct{ to, fan twitchtest.User }{{alice, fa}, {bob, fb}} {
			if status, err := te.fake.SendFollow(ctx, f.to.ID, f.fan); err != nil || status != http.StatusNoContent {
				t.Fatalf("SendFollow to %s: %d, %v", f.to.Login, status, err)
			}
		}
		if r := sa.wantEvent(newest(alice.ID)); r.user != fa.DisplayName {
			t.Fatalf("alice's stream got %q", r.user)
		}
		if r := sb.wantEvent(newest(bob.ID)); r.user != fb.DisplayName {
			t.Fatalf("bob's stream got %q", r.user)
		}
		if got, want := users(rows(t, ba.page("/dashboard"))), append([]string{fa.DisplayName}, reversed(displayNames(aliceFans))...); !slices.Equal(got, want) {
			t.Fatalf("alice's dashboard %v, want %v", got, want)
		}
		if got, want := users(rows(t, bb.page("/dashboard"))), append([]string{fb.DisplayName}, displayNames(bobFans)...); !slices.Equal(got, want) {
			t.Fatalf("bob's dashboard %v, want %v", got, want)
		}
	})
}

func TestTwitchActionsNeedCSRF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("43000003", "guarded_streamer")
		b := te.browser()
		te.signIn(b, me)
		sub := te.onlyFollowSub(me.ID)
		// Revoked, so that a resubscribe would change something.
		if status, err := te.fake.Revoke(context.Background(), sub.ID, "authorization_revoked"); err != nil || status != http.StatusNoContent {
			t.Fatalf("revocation: %d, %v", status, err)
		}
		b.page("/dashboard")
		before := te.fake.Requests()
		tests := []struct {
			name    string
			form    url.Values
			headers []string
		}{
			{"no token", url.Values{}, nil},
			{"wrong token", url.Values{"csrf_token": {flip(b.csrf, 2)}}, nil},
			{"token from a cross-site page", url.Values{"csrf_token": {b.csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		}
		for _, path := range []string{"/dashboard/resubscribe", "/dashboard/account/delete"} {
			for _, tt := range tests {
				t.Run(path+" "+tt.name, func(t *testing.T) {
					b := b.with(t)
					if r := b.postForm(path, tt.form, tt.headers...); r.status != http.StatusForbidden {
						t.Fatalf("POST %s = %d, want 403", path, r.status)
					}
				})
			}
		}
		if after := te.fake.Requests(); len(after) != len(before) {
			t.Fatalf("the refused requests reached Twitch: %+v", after[len(before):])
		}
		subs := te.followSubs(me.ID)
		if len(subs) != 1 || subs[0].ID != sub.ID || subs[0].Status != "authorization_revoked" {
			t.Fatalf("subscriptions at the fake changed: %+v", subs)
		}
		if got := panel(b.page("/dashboard")); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "authorization_revoked"}) {
			t.Fatalf("status panel = %v", got)
		}
		if a := te.account(me.ID); a.Status != store.AccountOK {
			t.Fatalf("account %+v", a)
		}
	})
}

func TestTwitchTokensNeverLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("43000004", "private_streamer")
		te.addFollowers(me.ID, 101, mustTime(t, "2024-09-09T09:09:09Z"))
		b := te.browser()
		first := te.signIn(b, me)
		wantSignInProblem(t, te.browser().open(first.callback)) // a replayed code: logged as a failure

		te.fake.ExpireAccessTokens(me.ID) // refreshed on 401, and logged
		if r := b.post("/dashboard/history"); r.status != http.StatusSeeOther {
			t.Fatalf("load older followers = %d", r.status)
		}
		te.tokens(me.ID)
		te.fake.ExpireAppTokens() // a new app token is fetched
		te.noTokensLogged(t)
		if err := te.acc.Reconcile(ctx); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		te.fake.RevokeAuthorization(me.ID) // a refused refresh, logged
		te.fake.ExpireAccessTokens(me.ID)
		if err := te.acc.ValidateAll(ctx); err != nil {
			t.Fatalf("ValidateAll: %v", err)
		}
		te.signIn(b, me)
		if r := b.post("/dashboard/account/delete"); r.status != http.StatusSeeOther {
			t.Fatalf("delete = %d", r.status)
		}

		logs := te.logs.String()
		for _, line := range []string{"twitch sign-in not completed", "twitch tokens refreshed", "needs reconnecting", "account deleted"} {
			if !strings.Contains(logs, line) {
				t.Errorf("the log lacks %q: was it captured?", line)
			}
		}
		te.noTokensLogged(t) // and once more when the test ends
	})
}

// appSub requires exactly one user.authorization.revoke subscription at the fake, enabled.
func (te *twitchEnv) appSub() twitchtest.Subscription {
	te.t.Helper()
	subs := te.subsAtTwitch(func(s twitchtest.Subscription) bool { return s.Type == eventsub.UserAuthorizationRevoke })
	if len(subs) != 1 {
		te.t.Fatalf("fake has %d user.authorization.revoke subscriptions, want 1: %+v", len(subs), subs)
	}
	return te.verified(subs[0].ID)
}

package web_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestTwitchFollowerHistoryThenLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("42000001", "history_streamer")
		fans := te.addFollowers(me.ID, 3, mustTime(t, "2025-03-04T05:06:07Z"))
		b := te.browser()
		d := te.signIn(b, me).dashboard
		te.onlyFollowSub(me.ID) // verified: Twitch delivers from now on

		rs := rows(t, d)
		if got, want := users(rs), reversed(displayNames(fans)); !slices.Equal(got, want) {
			t.Fatalf("dashboard rows %v, want the followers newest first %v", got, want)
		}
		for i, r := range rs {
			if r.typ != eventsub.ChannelFollow || !fromHistory(r) || (i > 0 && r.id >= rs[i-1].id) {
				t.Fatalf("row %d: %+v; want a follow from the history, stored oldest first", i, r)
			}
		}

		// A follow from now on arrives live, on the stream and on the page.
		s := b.stream("")
		s.wantReset(rs[0].id)
		fan := twitchtest.User{ID: "790001", Login: "new_fan", DisplayName: "New_Fan"}
		if status, err := te.fake.SendFollow(ctx, me.ID, fan); err != nil || status != http.StatusNoContent {
			t.Fatalf("SendFollow: %d, %v; want 204", status, err)
		}
		newest, err := te.store.ListEvents(ctx, me.ID, 0, 1)
		if err != nil || len(newest) != 1 || newest[0].UserID != fan.ID || newest[0].Source != store.SourceWebhook {
			t.Fatalf("newest event: %+v, %v", newest, err)
		}
		if r := s.wantEvent(newest[0].ID); r.user != fan.DisplayName || fromHistory(r) {
			t.Fatalf("live row %+v", r)
		}
		if got := users(rows(t, b.page("/dashboard"))); !slices.Equal(got, append([]string{fan.DisplayName}, reversed(displayNames(fans))...)) {
			t.Fatalf("dashboard rows %v", got)
		}

		// Seen both ways, a follow is one row: live first, then in the history (a sign-in syncs it)…
		te.signIn(b, me)
		// …and in the history first, then delivered (Twitch's retry of an old notification).
		old := fans[1]
		payload := map[string]string{"user_id": old.ID, "user_login": old.Login, "user_name": old.DisplayName,
			"broadcaster_user_id": me.ID, "broadcaster_user_login": me.Login, "broadcaster_user_name": me.DisplayName,
			"followed_at": mustTime(t, "2025-03-04T05:07:07.123456789Z").Format(time.RFC3339Nano)}
		if status, err := te.fake.SendEvent(ctx, te.onlyFollowSub(me.ID).ID, payload); err != nil || status != http.StatusNoContent {
			t.Fatalf("SendEvent: %d, %v; want 204", status, err)
		}
		if got := users(rows(t, b.page("/dashboard"))); !slices.Equal(got, append([]string{fan.DisplayName}, reversed(displayNames(fans))...)) {
			t.Fatalf("dashboard rows %v, want every follow once", got)
		}
		if n := count(t, te.store, me.ID); n != 4 {
			t.Fatalf("%d events, want 4", n)
		}
	})
}

func TestTwitchLoadOlderFollowers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000002", "popular_streamer")
		fans := te.addFollowers(me.ID, 250, mustTime(t, "2024-06-01T00:00:00Z"))
		b := te.browser()
		d := te.signIn(b, me).dashboard
		for _, want := range []int{100, 200, 250} {
			if n := count(t, te.store, me.ID); n != want {
				t.Fatalf("%d followers stored, want %d", n, want)
			}
			complete := want == len(fans)
			if te.account(me.ID).HistoryComplete != complete || (d.Find(`[data-testid=load-history]`).Length() == 1) == complete {
				t.Fatalf("after %d followers: history complete %v, load button %d", want, te.account(me.ID).HistoryComplete, d.Find(`[data-testid=load-history]`).Length())
			}
			if complete {
				break
			}
			if r := b.post("/dashboard/history"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
				t.Fatalf("load older followers = %d to %q, want 303 to /dashboard", r.status, r.header.Get("Location"))
			}
			d = b.page("/dashboard")
		}
		// The sign-in stored the newest page, oldest first: the lowest id is that page's oldest.
		evs, err := te.store.ListEvents(context.Background(), me.ID, 0, 300)
		if err != nil || len(evs) != len(fans) {
			t.Fatalf("events: %d, %v", len(evs), err)
		}
		if got, want := evs[len(evs)-1].UserID, fans[len(fans)-100].ID; got != want {
			t.Fatalf("lowest id is %s's follow, want %s's", got, want)
		}
	})
}

func TestTwitchTokensRefreshAndRotate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("42000003", "sleepy_streamer")
		te.addFollowers(me.ID, 120, mustTime(t, "2024-01-01T00:00:00Z"))
		b := te.browser()
		te.signIn(b, me)
		refreshes := func() int { // the app's; the test's own attempt below is refused
			return len(te.requests(http.MethodPost, "/oauth2/token", func(r twitchtest.Request) bool {
				return r.GrantType == "refresh_token" && r.Status == http.StatusOK
			}))
		}
		_, oldRefresh := te.tokens(me.ID)

		// The hourly validation finds the access token dead and refreshes it.
		te.fake.ExpireAccessTokens(me.ID)
		if err := te.acc.ValidateAll(ctx); err != nil {
			t.Fatalf("ValidateAll: %v", err)
		}
		if n := refreshes(); n != 1 {
			t.Fatalf("%d refreshes, want 1", n)
		}
		access, refresh := te.tokens(me.ID)
		if refresh == oldRefresh {
			t.Fatal("the rotated refresh token was not stored")
		}
		if v, err := te.twitch.Validate(ctx, access); err != nil || v.UserID != me.ID {
			t.Fatalf("the stored access token: %+v, %v", v, err)
		}
		if _, err := te.twitch.Refresh(ctx, oldRefresh); !errors.Is(err, twitch.ErrTokenRevoked) {
			t.Fatalf("refresh with the spent token: %v, want it refused", err)
		}

		// Again, now with an action of the streamer's that needs their token: the new refresh token works.
		te.fake.ExpireAccessTokens(me.ID)
		if r := b.post("/dashboard/history"); r.status != http.StatusSeeOther {
			t.Fatalf("load older followers = %d, want 303: %s", r.status, r.body)
		}
		if n := refreshes(); n != 2 {
			t.Fatalf("%d refreshes, want 2", n)
		}
		if n := count(t, te.store, me.ID); n != 120 || !te.account(me.ID).HistoryComplete {
			t.Fatalf("%d followers stored, want all 120", n)
		}
		if _, again := te.tokens(me.ID); again == refresh {
			t.Fatal("the second rotation was not stored")
		}
		if a := te.account(me.ID); a.Status != store.AccountOK {
			t.Fatalf("account status %q after refreshing", a.Status)
		}
	})
}

func TestTwitchNeedsReconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000004", "gone_streamer")
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)

		te.fake.RevokeAuthorization(me.ID) // disconnected at Twitch, without telling the app
		if err := te.acc.ValidateAll(context.Background()); err != nil {
			t.Fatalf("ValidateAll: %v", err)
		}
		if a := te.account(me.ID); a.Status != store.AccountNeedsReconnect || a.StatusReason == "" {
			t.Fatalf("account status %q (%q), want needs_reconnect with a reason", a.Status, a.StatusReason)
		}
		d := b.page("/dashboard")
		if d.Find(`[data-testid=needs-reconnect]`).Length() != 1 {
			t.Fatal("the dashboard does not say Twitch is disconnected")
		}
		if href := d.Find(`[data-testid=needs-reconnect] [data-testid=reconnect]`).AttrOr("href", ""); href != "/auth/twitch" {
			t.Fatalf("reconnect link %q, want /auth/twitch", href)
		}

		d = te.signIn(b, me).dashboard // the reconnect link, followed
		if d.Find(`[data-testid=needs-reconnect]`).Length() != 0 || te.account(me.ID).Status != store.AccountOK {
			t.Fatal("still disconnected after signing in again")
		}
		if got := panel(d); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel = %v", got)
		}
	})
}

// A subscription Twitch stopped delivering is offered again with Resubscribe, which replaces it.
func TestTwitchRevocationAndResubscribe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000005", "revoked_streamer")
		b := te.browser()
		te.signIn(b, me)
		old := te.onlyFollowSub(me.ID)

		if status, err := te.fake.Revoke(context.Background(), old.ID, "notification_failures_exceeded"); err != nil || status != http.StatusNoContent {
			t.Fatalf("revocation: %d, %v; want 204", status, err)
		}
		d := b.page("/dashboard")
		if got := panel(d); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "notification_failures_exceeded"}) {
			t.Fatalf("status panel = %v, want channel.follow notification_failures_exceeded", got)
		}
		if d.Find(`[data-testid=resubscribe]`).Length() != 1 {
			t.Fatal("no resubscribe button")
		}

		if r := b.post("/dashboard/resubscribe"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
			t.Fatalf("resubscribe = %d to %q, want 303 to /dashboard", r.status, r.header.Get("Location"))
		}
		sub := te.onlyFollowSub(me.ID)
		if sub.ID == old.ID {
			t.Fatal("the revoked subscription was not replaced")
		}
		d = b.page("/dashboard")
		if got := panel(d); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel = %v, want channel.follow enabled", got)
		}
		if d.Find(`[data-testid=resubscribe]`).Length() != 0 {
			t.Fatal("resubscribe still offered")
		}
	})
}

// Resubscribe creates again only what is not live: the live subscriptions are not asked for.
func TestTwitchResubscribeOnlyWhatIsNotLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000008", "busy_streamer")
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)
		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelCheer, eventsub.ChannelRaid, eventsub.ChannelPointsRedemption)
		subs := te.subsByType(me.ID)
		for _, s := range subs {
			te.verified(s.ID)
		}
		old := subs[eventsub.ChannelCheer]
		if status, err := te.fake.Revoke(context.Background(), old.ID, "notification_failures_exceeded"); err != nil || status != http.StatusNoContent {
			t.Fatalf("revocation: %d, %v; want 204", status, err)
		}

		creates := len(te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil))
		if r := b.post("/dashboard/resubscribe"); r.status != http.StatusSeeOther {
			t.Fatalf("resubscribe = %d, want 303", r.status)
		}
		calls := te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil)[creates:]
		if len(calls) != 1 || calls[0].Status != http.StatusAccepted {
			t.Fatalf("subscription creations: %+v, want the cheer one only, answered 202", calls)
		}
		after := te.subsByType(me.ID)
		if len(after) != 4 || after[eventsub.ChannelCheer].ID == old.ID || after[eventsub.ChannelRaid].ID != subs[eventsub.ChannelRaid].ID {
			t.Fatalf("Twitch has %+v, want the cheer subscription replaced and the others kept", after)
		}
		te.verified(after[eventsub.ChannelCheer].ID)
		d := b.page("/dashboard")
		want := map[string]string{eventsub.ChannelFollow: "enabled", eventsub.ChannelCheer: "enabled",
			eventsub.ChannelRaid: "enabled", eventsub.ChannelPointsRedemption: "enabled"}
		if got := panel(d); !maps.Equal(got, want) {
			t.Fatalf("status panel = %v, want %v", got, want)
		}
	})
}

// An authorization_revoked revocation means the streamer took back the app's access: creating
// the subscription again is refused (403), and the dashboard asks them to reconnect.
func TestTwitchAuthorizationRevokedNeedsReconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000009", "unplugged_streamer")
		b := te.browser()
		te.signIn(b, me)
		old := te.onlyFollowSub(me.ID)

		if status, err := te.fake.Revoke(context.Background(), old.ID, "authorization_revoked"); err != nil || status != http.StatusNoContent {
			t.Fatalf("revocation: %d, %v; want 204", status, err)
		}
		if r := b.post("/dashboard/resubscribe"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
			t.Fatalf("resubscribe = %d to %q, want 303 to /dashboard", r.status, r.header.Get("Location"))
		}
		calls := te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil)
		if last := calls[len(calls)-1]; last.Status != http.StatusForbidden {
			t.Fatalf("the resubscription was answered %d, want 403", last.Status)
		}
		if a := te.account(me.ID); a.Status != store.AccountNeedsReconnect || a.StatusReason == "" {
			t.Fatalf("account status %q (%q), want needs_reconnect with a reason", a.Status, a.StatusReason)
		}
		d := b.page("/dashboard")
		if href := d.Find(`[data-testid=needs-reconnect] [data-testid=reconnect]`).AttrOr("href", ""); href != "/auth/twitch" {
			t.Fatalf("reconnect link %q, want /auth/twitch", href)
		}
		if d.Find(`[data-testid=resubscribe]`).Length() != 0 {
			t.Fatal("resubscribe offered although only reconnecting can help")
		}

		d = te.signIn(b, me).dashboard // the reconnect link, followed
		if d.Find(`[data-testid=needs-reconnect]`).Length() != 0 || te.account(me.ID).Status != store.AccountOK {
			t.Fatal("still disconnected after signing in again")
		}
		if sub := te.onlyFollowSub(me.ID); sub.ID == old.ID {
			t.Fatal("the revoked subscription was not replaced")
		}
		if got := panel(b.page("/dashboard")); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel = %v, want channel.follow enabled", got)
		}
	})
}

func TestTwitchDeleteAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("42000006", "leaving_streamer")
		te.addFollowers(me.ID, 2, mustTime(t, "2025-05-05T05:05:05Z"))
		other := te.browser() // a second session of the same streamer
		te.signIn(other, me)
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)
		access, refresh := te.tokens(me.ID)
		cookies := []string{b.cookie(sessionCookie).Value, other.cookie(sessionCookie).Value}

		if r := b.post("/dashboard/account/delete"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("delete = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
		}
		if b.cookie(sessionCookie) != nil {
			t.Fatal("the delete answer did not clear the session cookie")
		}
		if subs := te.subsOf(me.ID); len(subs) != 0 {
			t.Fatalf("subscriptions left at the fake: %+v", subs)
		}
		if rs := te.requests(http.MethodPost, "/oauth2/revoke", nil); len(rs) != 2 || rs[0].Status != http.StatusOK || rs[1].Status != http.StatusOK {
			t.Fatalf("token revocations at the fake: %+v, want the access and the refresh token revoked", rs)
		}
		if _, err := te.twitch.Validate(ctx, access); !errors.Is(err, twitch.ErrUnauthorized) {
			t.Fatalf("validate the old access token: %v, want 401", err)
		}
		if _, err := te.twitch.Refresh(ctx, refresh); !errors.Is(err, twitch.ErrTokenRevoked) {
			t.Fatalf("refresh with the old refresh token: %v, want it refused", err)
		}
		te.gone(t, me.ID, cookies...)
		wantSignedOut(t, b)
		wantSignedOut(t, other)
	})
}

func TestTwitchAuthorizationRevokedAtTwitch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("42000007", "disconnecting_streamer")
		te.addFollowers(me.ID, 2, mustTime(t, "2025-05-05T05:05:05Z"))
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)
		if err := te.acc.Reconcile(ctx); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		te.appSub()
		sent := len(te.fake.Deliveries())

		status, err := te.fake.SendAuthorizationRevoke(ctx, me.ID)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("user.authorization.revoke: %d, %v; want 204", status, err)
		}
		for _, d := range te.fake.Deliveries()[sent:] {
			if d.Status < 200 || d.Status > 299 {
				t.Fatalf("%s answered %d, want 2xx", d.MessageType, d.Status)
			}
		}
		if subs := te.subsOf(me.ID); len(subs) != 0 {
			t.Fatalf("subscriptions left at the fake: %+v", subs)
		}
		te.gone(t, me.ID, b.cookie(sessionCookie).Value)
		if r := b.get("/dashboard"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("dashboard = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
		}
		wantSignedOut(t, b)

		// Coming back later starts clean: no trace of the old subscription on the panel.
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)
		if got := panel(b.page("/dashboard")); !maps.Equal(got, map[string]string{eventsub.ChannelFollow: "enabled"}) {
			t.Fatalf("status panel after coming back = %v, want channel.follow enabled only", got)
		}
	})
}

// subsOf are the fake's subscriptions naming the user in their condition.
func (te *twitchEnv) subsOf(userID string) []twitchtest.Subscription {
	return te.subsAtTwitch(func(s twitchtest.Subscription) bool {
		return slices.Contains(slices.Collect(maps.Values(s.Condition)), userID)
	})
}

// gone requires nothing of the streamer to be left in the app: account, events, subscription
// rows and the sessions behind the given cookies.
func (te *twitchEnv) gone(t *testing.T, id string, cookies ...string) {
	t.Helper()
	te.noAccount(t, id)
	if n := count(t, te.store, id); n != 0 {
		t.Fatalf("%d events left", n)
	}
	if rows, err := te.store.SubscriptionsOf(context.Background(), id); err != nil || len(rows) != 0 {
		t.Fatalf("subscription rows left: %+v, %v", rows, err)
	}
	for i, c := range cookies {
		if sess := sessionRow(t, te.store, c); sess != nil {
			t.Fatalf("session %d left: %+v", i, sess)
		}
	}
}

// users are the rows' users, in page order.
func users(rs []row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.user
	}
	return out
}

// fromHistory reports whether a row says it came from the follower history.
func fromHistory(r row) bool {
	return strings.Contains(r.sel.Find(".detail").Text(), "follower history")
}

func displayNames(us []twitchtest.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.DisplayName
	}
	return out
}

func reversed[T any](s []T) []T {
	c := slices.Clone(s)
	slices.Reverse(c)
	return c
}

package web_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// signInGranting is signIn with the streamer granting only scopes at Twitch's consent, as a
// sign-in from before the app asked for more did. It returns the dashboard.
func (te *twitchEnv) signInGranting(b *browser, user twitchtest.User, scopes []string) *goquery.Document {
	b.t.Helper()
	te.fake.AuthorizeAs(user.ID)
	authorize := te.startSignIn(b)
	q := authorize.Query()
	q.Set("scope", strings.Join(scopes, " "))
	older := *authorize
	older.RawQuery = q.Encode()
	back := te.consent(b, &older)
	if got := strings.Fields(back.Query().Get("scope")); !slices.Equal(got, scopes) {
		b.t.Fatalf("the fake granted %v, want %v", got, scopes)
	}
	if r := b.open(back); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		b.t.Fatalf("callback = %d to %q, want 303 to /dashboard; body %s", r.status, r.header.Get("Location"), r.body)
	}
	te.tokens(user.ID)
	return b.page("/dashboard")
}

// A streamer whose sign-in predates the shoutout and ad break scopes enables those types: each
// fails alone, naming the scope it lacks, follows and resubs keep working, and the panel offers
// Reconnect; reconnecting with every scope creates both subscriptions.
func TestTwitchNewScopesNeedReconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000103", "veteran_streamer")
		lacking := map[string]string{
			eventsub.ChannelShoutoutReceive: "moderator:read:shoutouts",
			eventsub.ChannelAdBreakBegin:    "channel:read:ads",
		}
		old := slices.DeleteFunc(slices.Clone(accounts.Scopes), func(s string) bool {
			return s == lacking[eventsub.ChannelShoutoutReceive] || s == lacking[eventsub.ChannelAdBreakBegin]
		})
		if len(old) != len(accounts.Scopes)-2 {
			t.Fatalf("the app does not ask for %v: %v", lacking, accounts.Scopes)
		}
		b := te.browser()
		te.signInGranting(b, me, old)
		if got := strings.Fields(te.account(me.ID).Scopes); !slices.Equal(got, old) {
			t.Fatalf("account scopes %v, want %v", got, old)
		}
		follow := te.onlyFollowSub(me.ID)

		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelSubscriptionMsg,
			eventsub.ChannelShoutoutReceive, eventsub.ChannelAdBreakBegin)
		subs := te.subsByType(me.ID)
		for typ := range lacking {
			if _, asked := subs[typ]; asked {
				t.Errorf("Twitch was asked for %s, which the token cannot have", typ)
			}
		}
		resub := subs[eventsub.ChannelSubscriptionMsg]
		if resub.ID == "" {
			t.Fatalf("Twitch has %v: no resub subscription", subs)
		}
		te.verified(resub.ID)

		d := b.page("/dashboard")
		want := map[string]string{eventsub.ChannelFollow: "enabled", eventsub.ChannelSubscriptionMsg: "enabled",
			eventsub.ChannelShoutoutReceive: "error", eventsub.ChannelAdBreakBegin: "error"}
		if got := panel(d); !maps.Equal(got, want) {
			t.Fatalf("status panel %v, want %v", got, want)
		}
		for typ, scope := range lacking {
			why := d.Find(`[data-testid=subscription][data-type="` + typ + `"] [data-testid=missing-scope]`)
			if why.Find("code").Text() != scope {
				t.Errorf("%s says %q, want it to name %s", typ, strings.TrimSpace(why.Text()), scope)
			}
		}
		if n := d.Find(`[data-testid=missing-scope]`).Length(); n != len(lacking) {
			t.Errorf("%d rows say a scope is missing, want %d", n, len(lacking))
		}
		if d.Find(`[data-testid=needs-reconnect]`).Length() != 0 {
			t.Fatal("the whole account is shown disconnected for two missing scopes")
		}
		reconnect := d.Find(`[data-testid=status-panel] [data-testid=reconnect]`)
		if reconnect.Length() != 1 || reconnect.AttrOr("href", "") != "/auth/twitch" {
			t.Fatalf("the panel offers %d Reconnect controls to %q, want one to /auth/twitch",
				reconnect.Length(), reconnect.AttrOr("href", ""))
		}

		// Follows keep arriving.
		payload := map[string]string{"user_id": "7770001", "user_login": "loyal_fan", "user_name": "Loyal_Fan",
			"broadcaster_user_id": me.ID, "broadcaster_user_login": me.Login, "broadcaster_user_name": me.DisplayName,
			"followed_at": time.Now().UTC().Format(time.RFC3339Nano)}
		if status, err := te.fake.SendEvent(context.Background(), follow.ID, payload); err != nil || status != http.StatusNoContent {
			t.Fatalf("SendEvent follow: %d, %v; want 204", status, err)
		}
		if rs := rows(t, b.page("/dashboard?type=channel.follow")); len(rs) != 1 || rs[0].user != "Loyal_Fan" {
			t.Fatalf("follow rows %+v, want the new follower", rs)
		}

		// Reconnect, granting every scope the app asks for.
		te.signIn(b, me)
		if got := strings.Fields(te.account(me.ID).Scopes); !slices.Equal(got, accounts.Scopes) {
			t.Fatalf("account scopes after reconnecting %v, want %v", got, accounts.Scopes)
		}
		// Enabling the same types again now works.
		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelSubscriptionMsg,
			eventsub.ChannelShoutoutReceive, eventsub.ChannelAdBreakBegin)
		subs = te.subsByType(me.ID)
		for typ := range lacking {
			if subs[typ].ID == "" {
				t.Fatalf("no %s subscription at Twitch after reconnecting: %v", typ, subs)
			}
			te.verified(subs[typ].ID)
		}
		if len(subs) != len(want) {
			t.Fatalf("Twitch has %v, want one subscription per chosen type", subs)
		}
		d = b.page("/dashboard")
		for typ := range want {
			want[typ] = "enabled"
		}
		if got := panel(d); !maps.Equal(got, want) {
			t.Fatalf("status panel after reconnecting %v, want every chosen type enabled", got)
		}
		if d.Find(`[data-testid=missing-scope]`).Length() != 0 || d.Find(`[data-testid=status-panel] [data-testid=reconnect]`).Length() != 0 {
			t.Fatal("the panel still asks to reconnect")
		}
	})
}

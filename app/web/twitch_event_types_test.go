package web_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// chooseTypes submits the status panel's event types form with the given boxes checked.
func chooseTypes(t *testing.T, b *browser, types ...string) {
	t.Helper()
	d := b.page("/dashboard")
	if d.Find(`[data-testid=event-types] [data-testid=event-type]`).Length() != len(eventsub.Kinds) {
		t.Fatal("the status panel has no checkbox per event type")
	}
	r := b.postForm("/dashboard/event-types", url.Values{"csrf_token": {b.csrf}, "type": types})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("save event types = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}
}

func (te *twitchEnv) subsByType(broadcaster string) map[string]twitchtest.Subscription {
	out := map[string]twitchtest.Subscription{}
	for _, s := range te.subsAtTwitch(func(s twitchtest.Subscription) bool {
		return s.Condition["broadcaster_user_id"] == broadcaster || s.Condition["to_broadcaster_user_id"] == broadcaster
	}) {
		out[s.Type] = s
	}
	return out
}

// Checking types in the form creates their subscriptions at Twitch with Twitch's condition for
// each; unchecking deletes them there and from the panel.
func TestTwitchEventTypesForm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000101", "choosy_streamer")
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)

		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelSubscriptionGift, eventsub.ChannelRaid, eventsub.StreamOnline)
		subs := te.subsByType(me.ID)
		want := map[string]map[string]string{
			eventsub.ChannelFollow:           {"broadcaster_user_id": me.ID, "moderator_user_id": me.ID},
			eventsub.ChannelSubscriptionGift: {"broadcaster_user_id": me.ID},
			eventsub.ChannelRaid:             {"to_broadcaster_user_id": me.ID},
			eventsub.StreamOnline:            {"broadcaster_user_id": me.ID},
		}
		if len(subs) != len(want) {
			t.Fatalf("Twitch has %v, want %d subscriptions", subs, len(want))
		}
		for typ, cond := range want {
			if !maps.Equal(subs[typ].Condition, cond) {
				t.Errorf("%s condition %v, want %v", typ, subs[typ].Condition, cond)
			}
			te.verified(subs[typ].ID)
		}
		d := b.page("/dashboard")
		if got := panel(d); len(got) != 4 || got[eventsub.ChannelRaid] != "enabled" {
			t.Fatalf("status panel %v, want the 4 chosen types enabled", got)
		}
		if d.Find(`[data-testid=event-type][data-type="channel.raid"][checked]`).Length() != 1 ||
			d.Find(`[data-testid=event-type][data-type="channel.cheer"][checked]`).Length() != 0 {
			t.Fatal("the form does not show the saved choice")
		}

		// A raid delivered by Twitch reaches the dashboard.
		status, err := te.fake.SendEvent(context.Background(), subs[eventsub.ChannelRaid].ID, map[string]any{
			"from_broadcaster_user_id": "555", "from_broadcaster_user_login": "raider", "from_broadcaster_user_name": "Raider",
			"to_broadcaster_user_id": me.ID, "to_broadcaster_user_login": me.Login, "to_broadcaster_user_name": me.DisplayName,
			"viewers": 9})
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("SendEvent raid: %d, %v", status, err)
		}
		if rs := rows(t, b.page("/dashboard?type=channel.raid")); len(rs) != 1 || rs[0].user != "Raider" {
			t.Fatalf("raid rows %+v", rs)
		}

		chooseTypes(t, b, eventsub.ChannelRaid)
		if subs := te.subsByType(me.ID); len(subs) != 1 || subs[eventsub.ChannelRaid].ID == "" {
			t.Fatalf("after unchecking, Twitch has %v; want the raid subscription only", subs)
		}
		if got := panel(b.page("/dashboard")); !maps.Equal(got, map[string]string{eventsub.ChannelRaid: "enabled"}) {
			t.Fatalf("status panel %v, want the raid only", got)
		}
	})
}

// An account whose sign-in predates a scope sees that type failed, saying why, with the way to
// fix it; reconnecting creates the subscription.
func TestTwitchEventTypeMissingScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("42000102", "early_streamer")
		b := te.browser()
		te.signIn(b, me)
		te.onlyFollowSub(me.ID)
		// As signed in before the app asked for more: the follow scope only.
		a := te.account(me.ID)
		err := te.store.SaveTokens(context.Background(), me.ID, a.AccessToken, a.RefreshToken, a.TokenExpiresAt, "moderator:read:followers", a.UpdatedAt)
		if err != nil {
			t.Fatal(err)
		}

		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelCheer)
		d := b.page("/dashboard")
		if got := panel(d); got[eventsub.ChannelCheer] != "error" || got[eventsub.ChannelFollow] != "enabled" {
			t.Fatalf("status panel %v, want the cheer failed and the follow live", got)
		}
		if d.Find(`[data-testid=needs-reconnect]`).Length() != 0 {
			t.Fatal("the whole account is shown disconnected for one missing scope")
		}
		why := d.Find(`[data-testid=subscription][data-type="channel.cheer"] [data-testid=missing-scope]`).Text()
		if why == "" || d.Find(`[data-testid=status-panel] [data-testid=reconnect]`).AttrOr("href", "") != "/auth/twitch" {
			t.Fatalf("the failed cheer says %q and offers no Reconnect", why)
		}

		d = te.signIn(b, me).dashboard // Reconnect
		cheer := te.subsByType(me.ID)[eventsub.ChannelCheer]
		if cheer.ID == "" {
			t.Fatal("no cheer subscription after reconnecting")
		}
		te.verified(cheer.ID)
		if got := panel(b.page("/dashboard")); got[eventsub.ChannelCheer] != "enabled" {
			t.Fatalf("status panel %v after reconnecting", got)
		}
	})
}

package web_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// TestTwitchWebSocket: on a streamer's own PC (PUBLIC_URL http://127.0.0.1:…) events come over
// EventSub WebSocket sessions into the same path as webhooks: sign-in subscribes on a session,
// follows reach the dashboard's stream, a duplicate is stored once, a reconnect handover loses
// and doubles nothing, and after a dropped connection the subscriptions are made again.
func TestTwitchWebSocket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnvWith(t, db, "websocket")
		ctx := context.Background()
		streamer := te.addStreamer("44000001", "pc_streamer")
		history := te.addFollowers(streamer.ID, 1, mustTime(t, "2025-03-03T03:03:03Z"))
		b := te.browser()
		s := te.signIn(b, streamer)

		if got := s.dashboard.Find(`[data-testid=eventsub-transport]`).AttrOr("data-transport", ""); got != "websocket" {
			t.Fatalf("connection panel transport %q, want websocket", got)
		}
		if s.dashboard.Find(`[data-testid=public-url-warning]`).Length() != 0 {
			t.Fatal("the panel warns about PUBLIC_URL although events come over WebSocket")
		}
		sub := te.wsFollowSub(t, streamer.ID, "")
		if len(te.requests("POST", "/helix/eventsub/subscriptions", nil)) == 0 {
			t.Fatal("no subscription was created")
		}
		for _, s := range te.fake.Subscriptions() {
			if s.SessionID == "" {
				t.Fatalf("a webhook subscription was created: %+v", s)
			}
		}

		newest := func() int64 {
			evs, err := te.store.ListEvents(ctx, streamer.ID, 0, 1)
			if err != nil || len(evs) != 1 {
				t.Fatalf("newest event: %v, %v", evs, err)
			}
			return evs[0].ID
		}
		st := b.stream("")
		st.wantReset(newest())
		var fans []twitchtest.User
		follow := func(id, login string) {
			t.Helper()
			fan := twitchtest.User{ID: id, Login: login, DisplayName: login}
			if _, err := te.fake.SendFollow(ctx, streamer.ID, fan); err != nil {
				t.Fatalf("SendFollow %s: %v", login, err)
			}
			fans = append(fans, fan)
		}
		wantFollow := func(fan twitchtest.User) {
			t.Helper()
			r := st.next()
			rs := rows(t, parseHTML(t, r.Data))
			if r.Type != "event" || len(rs) != 1 || rs[0].user != fan.DisplayName {
				t.Fatalf("stream got %q %v, want the follow of %s", r.Type, users(rs), fan.DisplayName)
			}
		}

		follow("792001", "ws_fan_one")
		wantFollow(fans[0])
		ds := te.fake.Deliveries()
		first := ds[len(ds)-1].MessageID

		// Twitch may deliver a message twice: stored once, nothing on the stream.
		if _, err := te.fake.Resend(ctx, first); err != nil {
			t.Fatalf("Resend: %v", err)
		}
		follow("792002", "ws_fan_two")
		wantFollow(fans[1])

		// Reconnect handover: a follow sent as the session moves, one after; each exactly once.
		if err := te.fake.ReconnectWebSocket(sub.SessionID); err != nil {
			t.Fatalf("ReconnectWebSocket: %v", err)
		}
		follow("792003", "ws_fan_three")
		wantFollow(fans[2])
		eventually(t, "the reconnect handover", func() bool {
			open, total := te.fake.WebSocketConnections(sub.SessionID)
			return open == 1 && total == 2
		})
		follow("792004", "ws_fan_four")
		wantFollow(fans[3])
		if after := te.wsFollowSub(t, streamer.ID, ""); after.ID != sub.ID {
			t.Fatalf("the handover made a new subscription %s, want %s kept", after.ID, sub.ID)
		}

		// A dropped connection: the app connects again and subscribes on the new session.
		if err := te.fake.DropWebSocket(sub.SessionID); err != nil {
			t.Fatalf("DropWebSocket: %v", err)
		}
		renewed := te.wsFollowSub(t, streamer.ID, sub.SessionID)
		follow("792005", "ws_fan_five")
		wantFollow(fans[4])

		var want []string
		for _, f := range slices.Backward(fans) {
			want = append(want, f.DisplayName)
		}
		want = append(want, history[0].DisplayName)
		if got := users(rows(t, b.page("/dashboard"))); !slices.Equal(got, want) {
			t.Fatalf("dashboard %v, want %v", got, want)
		}
		if n := count(t, te.store, streamer.ID); n != len(want) {
			t.Fatalf("%d events stored, want %d", n, len(want))
		}
		d := b.page("/dashboard")
		if got := panel(d)[eventsub.ChannelFollow]; got != "enabled" {
			t.Fatalf("panel shows channel.follow %q after the reconnect, want enabled", got)
		}
		stored, err := te.store.SubscriptionsOf(ctx, streamer.ID)
		if err != nil || !slices.ContainsFunc(stored, func(r store.Subscription) bool { return r.ID == renewed.ID }) {
			t.Fatalf("stored subscriptions %+v, %v; want the new session's %s", stored, err, renewed.ID)
		}
	})
}

// wsFollowSub waits for the streamer's enabled channel.follow subscription on a WebSocket
// session other than notOn.
func (te *twitchEnv) wsFollowSub(t *testing.T, broadcaster, notOn string) twitchtest.Subscription {
	t.Helper()
	var found twitchtest.Subscription
	eventually(t, "an enabled channel.follow subscription on a websocket session", func() bool {
		for _, s := range te.followSubs(broadcaster) {
			if s.Status == twitchtest.StatusEnabled && s.SessionID != "" && s.SessionID != notOn {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

// TestTwitchWebSocketSaysWhatIsLostWhileOff: over WebSocket the panel says plainly that only
// follows are caught up after the app was off, and names the enabled types that are not.
func TestTwitchWebSocketSaysWhatIsLostWhileOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnvWith(t, db, "websocket")
		streamer := te.addStreamer("44000002", "pc_streamer_two")
		b := te.browser()
		s := te.signIn(b, streamer)
		if s.dashboard.Find(`[data-testid=websocket-downtime]`).Length() != 1 {
			t.Fatal("the WebSocket panel does not say what happens while the app is off")
		}
		if n := s.dashboard.Find(`[data-testid=lost-while-off]`).Length(); n != 0 {
			t.Fatalf("%d types named as lost with only follows enabled", n)
		}

		choices := map[string]bool{eventsub.ChannelFollow: true, eventsub.ChannelCheer: true, eventsub.ChannelRaid: true}
		if err := te.store.SaveEventTypeChoices(context.Background(), streamer.ID, choices, time.Now()); err != nil {
			t.Fatal(err)
		}
		var lost []string
		b.get("/dashboard").doc(t).Find(`[data-testid=lost-while-off]`).Each(func(_ int, sel *goquery.Selection) {
			lost = append(lost, sel.AttrOr("data-type", ""))
		})
		slices.Sort(lost)
		if want := []string{eventsub.ChannelCheer, eventsub.ChannelRaid}; !slices.Equal(lost, want) {
			t.Fatalf("named as lost while off: %v, want %v", lost, want)
		}
	})
}

// TestTwitchWebSocketFollowResubCheerLive: on a streamer's own PC, a follow, a resub and a cheer
// sent by Twitch over the WebSocket session appear live on the dashboard and play on the overlay.
func TestTwitchWebSocketFollowResubCheerLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnvWith(t, db, "websocket")
		ctx := context.Background()
		streamer := te.addStreamer("44000003", "pc_streamer_three")
		b := te.browser()
		te.signIn(b, streamer)
		te.wsFollowSub(t, streamer.ID, "")
		chooseTypes(t, b, eventsub.ChannelFollow, eventsub.ChannelSubscriptionMsg, eventsub.ChannelCheer)
		subs := map[string]twitchtest.Subscription{}
		eventually(t, "resub and cheer subscriptions on the websocket session", func() bool {
			for _, s := range te.fake.Subscriptions() {
				if s.Status == twitchtest.StatusEnabled && s.SessionID != "" && s.Condition["broadcaster_user_id"] == streamer.ID {
					subs[s.Type] = s
				}
			}
			return subs[eventsub.ChannelSubscriptionMsg].ID != "" && subs[eventsub.ChannelCheer].ID != ""
		})

		overlay := b.streamAt(b.rotateOverlay()+"/stream", "")
		overlay.until(func(ev sseEvent) bool { return ev.Type == "ready" })
		dash := b.stream("")
		dash.next() // the current list

		channel := eventsub.Follower{ID: streamer.ID, Login: streamer.Login, Name: streamer.DisplayName}
		for _, c := range []struct {
			typ  string
			user eventsub.Follower
		}{
			{eventsub.ChannelFollow, eventsub.Follower{ID: "7001", Login: "ws_follower", Name: "WS_Follower"}},
			{eventsub.ChannelSubscriptionMsg, eventsub.Follower{ID: "7002", Login: "ws_resubber", Name: "WS_Resubber"}},
			{eventsub.ChannelCheer, eventsub.Follower{ID: "7003", Login: "ws_cheerer", Name: "WS_Cheerer"}},
		} {
			var err error
			if c.typ == eventsub.ChannelFollow {
				_, err = te.fake.SendFollow(ctx, streamer.ID, twitchtest.User{ID: c.user.ID, Login: c.user.Login, DisplayName: c.user.Name})
			} else {
				event, serr := eventsub.SampleEvent(c.typ, channel, c.user, time.Now())
				if serr != nil {
					t.Fatal(serr)
				}
				_, err = te.fake.SendEvent(ctx, subs[c.typ].ID, event)
			}
			if err != nil {
				t.Fatalf("send %s: %v", c.typ, err)
			}
			row := dash.until(func(ev sseEvent) bool { return ev.Type == "event" })
			if rs := rows(t, parseHTML(t, row.Data)); len(rs) != 1 || rs[0].typ != c.typ || rs[0].user != c.user.Name {
				t.Fatalf("live row after a %s by %s: %+v", c.typ, c.user.Name, rs)
			}
			if a := overlay.nextAlert(); a.User != c.user.Name {
				t.Fatalf("overlay alert after a %s by %s: %+v", c.typ, c.user.Name, a)
			}
		}
	})
}

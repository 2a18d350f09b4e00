package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

var demoStreamer = eventsub.Follower{ID: demoID, Login: "demo_streamer", Name: "Demo_Streamer"}

// notification is a signed notification of typ carrying event, for the demo streamer.
func notification(t *testing.T, typ string, event map[string]any) eventsub.Outgoing {
	t.Helper()
	out, err := eventsub.NewNotification(testSecret, "https://tev.example.com/webhooks/twitch", typ, demoStreamer, event, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sample is Twitch's event of typ by user, for the demo streamer, with fields changed.
func sample(t *testing.T, typ string, user eventsub.Follower, change map[string]any) map[string]any {
	t.Helper()
	ev, err := eventsub.SampleEvent(typ, demoStreamer, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range change {
		ev[k] = v
	}
	return ev
}

// send delivers a notification, requires a 204 and returns the stored event.
func (e *env) send(out eventsub.Outgoing) *store.Event {
	e.t.Helper()
	if r := e.deliver(out); r.status != http.StatusNoContent {
		e.t.Fatalf("webhook answered %d %q, want 204", r.status, r.body)
	}
	return e.stored(out.Header.Get(eventsub.HeaderMessageID))
}

var anonymousUser = map[string]any{"user_id": nil, "user_login": nil, "user_name": nil, "is_anonymous": true}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Every type: a signed webhook is stored and reads well as a dashboard row.
func TestEveryEventTypeRow(t *testing.T) {
	viewer := eventsub.Follower{ID: "777001", Login: "kind_viewer", Name: "Kind_Viewer"}
	cases := []struct {
		name, typ            string
		change               map[string]any
		user, action, detail string
	}{
		{"follow", eventsub.ChannelFollow, nil, "Kind_Viewer", "followed", ""},
		{"sub", eventsub.ChannelSubscribe, map[string]any{"tier": "2000"}, "Kind_Viewer", "subscribed at Tier 2", ""},
		{"gift", eventsub.ChannelSubscriptionGift, nil, "Kind_Viewer", "gifted 5 subs", "12 gifted in this channel so far"},
		{"anonymous gift", eventsub.ChannelSubscriptionGift, merge(anonymousUser, map[string]any{"total": 1, "cumulative_total": nil}), "Anonymous", "gifted 1 sub", ""},
		{"resub", eventsub.ChannelSubscriptionMsg, nil, "Kind_Viewer", "resubscribed at Tier 1 for 12 months, 3 in a row", "Love the stream! FevziGG"},
		{"resub, streak not shared", eventsub.ChannelSubscriptionMsg, map[string]any{"tier": "3000", "cumulative_months": 1, "streak_months": nil, "message": map[string]any{"text": "", "emotes": nil}}, "Kind_Viewer", "resubscribed at Tier 3 for 1 month", ""},
		{"cheer", eventsub.ChannelCheer, nil, "Kind_Viewer", "cheered 100 bits", "Cheer100 great stream!"},
		{"anonymous cheer", eventsub.ChannelCheer, merge(anonymousUser, map[string]any{"bits": 1, "message": "hi"}), "Anonymous", "cheered 1 bit", "hi"},
		{"raid", eventsub.ChannelRaid, nil, "Kind_Viewer", "raided with 42 viewers", ""},
		{"online", eventsub.StreamOnline, nil, "", "Stream went live", ""},
		{"offline", eventsub.StreamOffline, nil, "", "Stream went offline", ""},
		{"shoutout", eventsub.ChannelShoutoutReceive, nil, "Kind_Viewer", "shouted you out to 860 viewers", ""},
		{"ad break", eventsub.ChannelAdBreakBegin, map[string]any{"requester_user_id": viewer.ID, "requester_user_login": viewer.Login, "requester_user_name": viewer.Name}, "Kind_Viewer", "started an ad break of 90 seconds", ""},
		{"automatic ad break", eventsub.ChannelAdBreakBegin, map[string]any{"is_automatic": true, "duration_seconds": 1}, "Demo_Streamer", "started an ad break of 1 second", "Scheduled by Ads Manager"},
		{"hype train begin", eventsub.ChannelHypeTrainBegin, nil, "", "Hype train level 1 — 27% to level 2", ""},
		{"hype train progress", eventsub.ChannelHypeTrainProgress, nil, "", "Hype train level 2 — 25% to level 3", ""},
		{"hype train end", eventsub.ChannelHypeTrainEnd, nil, "", "Hype train ended at level 3", ""},
		{"redemption", eventsub.ChannelPointsRedemption, nil, "Kind_Viewer", "redeemed Song request (500 points)", "play the boss music"},
	}
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				ev := e.send(notification(t, tc.typ, sample(t, tc.typ, viewer, tc.change)))
				if ev.Type != tc.typ || ev.BroadcasterID != demoID || ev.Hidden {
					t.Fatalf("stored %+v, want a visible %s of %s", ev, tc.typ, demoID)
				}
				var got *row
				for _, r := range rows(t, b.with(t).page("/dashboard")) {
					if r.id == ev.ID {
						got = &r
					}
				}
				if got == nil {
					t.Fatalf("no dashboard row for event %d", ev.ID)
				}
				action := strings.TrimSpace(got.sel.Find(".action").Text())
				detail := strings.TrimSpace(got.sel.Find(".detail").Text())
				if got.typ != tc.typ || got.user != tc.user || action != tc.action || detail != tc.detail {
					t.Fatalf("row %s: user %q action %q detail %q; want %q %q %q", got.typ, got.user, action, detail, tc.user, tc.action, tc.detail)
				}
			})
		}
	})
}

// A gift of 5 subs is one row: Twitch's gift event plus its 5 gifted subs are all stored (and
// exported), but only the gift is shown, on the page, in the stream and in its catch-up.
func TestGiftBombIsOneRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		s := b.stream("")
		s.wantReset(0)

		gifter := eventsub.Follower{ID: "888001", Login: "generous_one", Name: "Generous_One"}
		gift := e.send(notification(t, eventsub.ChannelSubscriptionGift, sample(t, eventsub.ChannelSubscriptionGift, gifter, nil)))
		for i := range 5 {
			lucky := eventsub.Follower{ID: fmt.Sprint(888100 + i), Login: fmt.Sprintf("lucky_%d", i), Name: fmt.Sprintf("Lucky_%d", i)}
			sub := e.send(notification(t, eventsub.ChannelSubscribe, sample(t, eventsub.ChannelSubscribe, lucky, map[string]any{"is_gift": true})))
			if !sub.Hidden {
				t.Fatalf("gifted sub %d stored visible", i)
			}
		}
		follow := e.post(demoID)

		if n := count(t, e.store, demoID); n != 7 {
			t.Fatalf("stored %d events, want 6 of the gift and a follow", n)
		}
		rs := rows(t, b.page("/dashboard"))
		if got := rowIDs(rs); !slices.Equal(got, []int64{follow.ID, gift.ID}) {
			t.Fatalf("dashboard rows %v, want the follow and the gift only [%d %d]", got, follow.ID, gift.ID)
		}
		if r := rs[1]; r.user != "Generous_One" || strings.TrimSpace(r.sel.Find(".action").Text()) != "gifted 5 subs" {
			t.Fatalf("gift row: %q %q", r.user, r.sel.Find(".action").Text())
		}

		// Live: the gift, then the follow; the gifted subs never.
		s.wantEvent(gift.ID)
		s.wantEvent(follow.ID)
		s.Close()
		// Catch-up after a reconnect and a fresh reset: the same two.
		s = b.stream("0")
		s.wantEvent(gift.ID)
		s.wantEvent(follow.ID)
		s.Close()
		if got := rowIDs(b.stream("").wantReset(follow.ID)); !slices.Equal(got, []int64{follow.ID, gift.ID}) {
			t.Fatalf("reset rows %v", got)
		}

		r := b.get("/dashboard/export.csv")
		records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("export: %d, %v", r.status, err)
		}
		if got := len(records) - 1; got != 7 {
			t.Fatalf("export has %d events, want all 7 (the gifted subs included)", got)
		}
	})
}

// Each test button sends a realistic event of its type through the webhook.
func TestDashboardTestEventButtons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		d := b.page("/dashboard")
		for _, k := range eventsub.Kinds {
			if d.Find(`[data-testid=test-event][data-type="`+k.Type+`"]`).Length() != 1 {
				t.Errorf("no test button for %s", k.Type)
			}
		}
		for _, k := range eventsub.Kinds {
			t.Run(k.Type, func(t *testing.T) {
				b := b.with(t)
				r := b.postForm("/dashboard/test-event", url.Values{"csrf_token": {b.csrf}, "type": {k.Type}})
				if r.status != http.StatusSeeOther {
					t.Fatalf("test %s = %d %q", k.Type, r.status, r.body)
				}
				evs, err := e.store.ListEvents(t.Context(), demoID, 0, 1)
				if err != nil || len(evs) != 1 || evs[0].Type != k.Type || evs[0].Version != k.Version || evs[0].Source != store.SourceWebhook {
					t.Fatalf("newest stored %+v, %v; want a %s v%s from the webhook", evs, err, k.Type, k.Version)
				}
				if rs := rows(t, b.page("/dashboard")); len(rs) == 0 || rs[0].id != evs[0].ID || rs[0].typ != k.Type {
					t.Fatalf("the test %s is not the newest row", k.Type)
				}
			})
		}
		for _, bad := range []string{"", "channel.unknown", eventsub.UserAuthorizationRevoke} {
			r := b.postForm("/dashboard/test-event", url.Values{"csrf_token": {b.csrf}, "type": {bad}})
			if r.status != http.StatusBadRequest {
				t.Errorf("test event %q = %d, want 400", bad, r.status)
			}
		}
		if r := b.postForm("/dashboard/test-event", url.Values{"type": {eventsub.ChannelCheer}}); r.status != http.StatusForbidden {
			t.Errorf("test event without the CSRF token = %d, want 403", r.status)
		}
	})
}

// insertTyped stores n events of typ for broadcaster straight into the database.
func (e *env) insertTyped(broadcaster, typ string, n int) []int64 {
	e.t.Helper()
	var ids []int64
	for range n {
		now := time.Now().UTC()
		ev := &store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub", Type: typ, Version: "1",
			BroadcasterID: broadcaster, UserName: "someone", OccurredAt: now, ReceivedAt: now, Payload: `{"bits":5}`}
		if _, err := e.store.InsertEvent(context.Background(), ev); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

// GET /dashboard?type= shows one type, on the page, through the pager and on the stream.
func TestDashboardFilterByType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		var cheers []int64
		var newest int64
		for range 3 {
			cheers = append(cheers, e.insertTyped(demoID, eventsub.ChannelCheer, 20)...)
			e.insertTyped(demoID, eventsub.ChannelRaid, 5)
			newest = e.insert(demoID, 5)[4]
		}

		d := b.page("/dashboard?type=" + eventsub.ChannelCheer)
		links := d.Find(`[data-testid=filter-link]`)
		if links.Length() != len(eventsub.Kinds)+1 || links.First().Text() != "All" {
			t.Fatalf("%d filter links (first %q), want All and one per type", links.Length(), links.First().Text())
		}
		if cur := d.Find(`[data-testid=filter-link][aria-current=page]`); cur.AttrOr("data-type", "") != eventsub.ChannelCheer {
			t.Fatalf("current filter %q, want cheers", cur.AttrOr("data-type", ""))
		}
		if got, err := url.Parse(d.Find(`[sse-connect]`).AttrOr("sse-connect", "")); err != nil || got.Path != "/dashboard/stream" || got.Query().Get("type") != eventsub.ChannelCheer {
			t.Fatalf("stream URL %q keeps no filter", got)
		}
		seen := rows(t, d)
		older := d.Find(`[data-testid=older]`).AttrOr("hx-get", "")
		if len(seen) != 50 || !strings.Contains(older, "type=channel.cheer") {
			t.Fatalf("first page %d rows, pager %q; want 50 and the filter kept", len(seen), older)
		}
		r := b.get(older, "HX-Request", "true")
		if r.status != http.StatusOK {
			t.Fatalf("pager = %d", r.status)
		}
		seen = append(seen, rows(t, r.doc(t))...)
		for _, r := range seen {
			if r.typ != eventsub.ChannelCheer {
				t.Fatalf("a %s row in the cheers filter", r.typ)
			}
		}
		if got := rowIDs(seen); !slices.Equal(got, newestFirst(cheers, len(cheers))) {
			t.Fatalf("cheer rows %v, want %v", got, newestFirst(cheers, len(cheers)))
		}
		if all := rows(t, b.page("/dashboard")); len(all) != 50 {
			t.Fatalf("unfiltered first page %d rows, want 50", len(all))
		}

		for _, path := range []string{"/dashboard?type=nope", "/dashboard/events?before=1.1&type=nope", "/dashboard/stream?type=nope"} {
			if r := b.get(path); r.status != http.StatusBadRequest {
				t.Errorf("GET %s = %d, want 400", path, r.status)
			}
		}

		// The stream: a filtered reset, then only cheers live, and a filtered catch-up.
		path := "/dashboard/stream?type=" + eventsub.ChannelCheer
		s := b.streamAt(path, "")
		if got := rowIDs(s.wantReset(newest)); !slices.Equal(got, newestFirst(cheers, 50)) {
			t.Fatalf("filtered reset rows %v, want the 50 newest cheers", got)
		}
		e.post(demoID) // a follow: not for this viewer
		cheer := e.send(notification(t, eventsub.ChannelCheer, sample(t, eventsub.ChannelCheer, demoStreamer, nil)))
		s.wantEvent(cheer.ID)
		s.Close()
		e.post(demoID)
		e.insertTyped(demoID, eventsub.ChannelRaid, 1)
		missed := e.send(notification(t, eventsub.ChannelCheer, sample(t, eventsub.ChannelCheer, demoStreamer, nil)))
		s = b.streamAt(path, strconv.FormatInt(cheer.ID, 10))
		s.wantEvent(missed.ID)
		e.post(demoID)
		last := e.send(notification(t, eventsub.ChannelCheer, sample(t, eventsub.ChannelCheer, demoStreamer, nil)))
		s.wantEvent(last.ID) // nothing of another type came in between
	})
}

// The demo shows the choice of event types too, and only stores it.
func TestDemoEventTypesStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		d := b.page("/dashboard")
		if d.Find(`[data-testid=event-types] [data-testid=event-type][checked]`).AttrOr("data-type", "") != eventsub.ChannelFollow {
			t.Fatal("the demo's form does not start with follows only checked")
		}
		r := b.postForm("/dashboard/event-types", url.Values{"csrf_token": {b.csrf}, "type": {eventsub.ChannelCheer, eventsub.StreamOnline}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("save = %d %q", r.status, r.body)
		}
		var checked []string
		b.page("/dashboard").Find(`[data-testid=event-type][checked]`).Each(func(_ int, s *goquery.Selection) {
			checked = append(checked, s.AttrOr("data-type", ""))
		})
		if !slices.Equal(checked, []string{eventsub.ChannelCheer, eventsub.StreamOnline}) {
			t.Fatalf("checked after saving: %v", checked)
		}
		if r := b.postForm("/dashboard/event-types", url.Values{"csrf_token": {b.csrf}, "type": {"channel.nope"}}); r.status != http.StatusBadRequest {
			t.Fatalf("unknown type = %d, want 400", r.status)
		}
		if r := b.postForm("/dashboard/event-types", url.Values{"type": {eventsub.ChannelCheer}}); r.status != http.StatusForbidden {
			t.Fatalf("no CSRF token = %d, want 403", r.status)
		}
	})
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

func TestStreamLiveThenResume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		first, second := e.post(demoID), e.post(demoID)

		s := b.stream("")
		if got := rowIDs(s.wantReset(second.ID)); !slices.Equal(got, []int64{second.ID, first.ID}) {
			t.Fatalf("reset rows = %v, want [%d %d]", got, second.ID, first.ID)
		}

		live := e.post(demoID)
		r := s.wantEvent(live.ID)
		if r.typ != eventsub.ChannelFollow || r.user != live.UserName {
			t.Fatalf("live row: type %q user %q, want %s by %q", r.typ, r.user, eventsub.ChannelFollow, live.UserName)
		}
		s.Close()

		// While the browser is away, two more arrive; its reconnect sends the last id it saw.
		missed1, missed2 := e.post(demoID), e.post(demoID)
		s = b.stream(strconv.FormatInt(live.ID, 10))
		s.wantEvent(missed1.ID)
		s.wantEvent(missed2.ID)
		// Nothing else was replayed: the next message is the next new event.
		s.wantEvent(e.post(demoID).ID)
	})
}

func TestStreamCatchUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			name      string
			stored    int
			last      func(ids []int64) string
			replay    func(ids []int64) []int64 // nil: a reset is expected instead
			resetRows int
		}{
			{"up to date", 3, func(ids []int64) string { return fmt.Sprint(ids[2]) },
				func([]int64) []int64 { return nil }, 0},
			{"two missed", 5, func(ids []int64) string { return fmt.Sprint(ids[2]) },
				func(ids []int64) []int64 { return ids[3:] }, 0},
			{"exactly 200 missed", 201, func(ids []int64) string { return fmt.Sprint(ids[0]) },
				func(ids []int64) []int64 { return ids[1:] }, 0},
			{"201 missed", 202, func(ids []int64) string { return fmt.Sprint(ids[0]) }, nil, 50},
			{"ahead of the log", 3, func(ids []int64) string { return fmt.Sprint(ids[2] + 100) }, nil, 3},
			{"empty log", 0, func([]int64) string { return "5" }, nil, 0},
			{"not a number", 3, func([]int64) string { return "three" }, nil, 3},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				broadcaster := strconv.Itoa(3000 + i) // each case its own channel on the shared database
				b := e.signedInAs(broadcaster)
				ids := e.insert(broadcaster, tt.stored)
				s := b.stream(tt.last(ids))
				if tt.replay != nil {
					for _, id := range tt.replay(ids) {
						s.wantEvent(id)
					}
				} else {
					var newest int64
					if len(ids) > 0 {
						newest = ids[len(ids)-1]
					}
					got := rowIDs(s.wantReset(newest))
					want := newestFirst(ids, tt.resetRows)
					if !slices.Equal(got, want) {
						t.Fatalf("reset rows = %v, want %v", got, want)
					}
				}
				s.wantEvent(e.post(broadcaster).ID)
			})
		}
	})
}

// newestFirst is the first n of ids, newest first.
func newestFirst(ids []int64, n int) []int64 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out[:min(n, len(out))]
}

func TestStreamHeartbeat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		s := e.signedIn().stream("")
		s.wantReset(0)
		for range 2 {
			if c := s.nextComment(); c != "keep-alive" {
				t.Fatalf("comment = %q, want keep-alive", c)
			}
		}
	})
}

func TestStreamOnlyOwnEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		const other = "4242"
		ownIDs, otherIDs := e.insert(demoID, 2), e.insert(other, 3)
		demo, streamer := e.signedIn(), e.signedInAs(other)
		sd, so := demo.stream(""), streamer.stream("")
		if got := rowIDs(sd.wantReset(ownIDs[1])); !slices.Equal(got, newestFirst(ownIDs, 50)) {
			t.Fatalf("demo reset rows = %v, want %v", got, newestFirst(ownIDs, 50))
		}
		if got := rowIDs(so.wantReset(otherIDs[2])); !slices.Equal(got, newestFirst(otherIDs, 50)) {
			t.Fatalf("other reset rows = %v, want %v", got, newestFirst(otherIDs, 50))
		}

		// Interleaved: a leak would show up before each viewer's next own event.
		d1, o1, d2, o2 := e.post(demoID), e.post(other), e.post(demoID), e.post(other)
		for _, want := range []int64{d1.ID, d2.ID} {
			sd.wantEvent(want)
		}
		for _, want := range []int64{o1.ID, o2.ID} {
			so.wantEvent(want)
		}
	})
}

// A stream request without a valid session gets no events. A browser's EventSource (no
// HX-Request) is told so in a short stream that replaces the list with a notice and ends with a
// "signed-out" event (sse-close), so that htmx stops reconnecting; htmx requests get 401.
func TestStreamRequiresSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		e.insert(demoID, 3)
		loggedOut := e.signedIn()
		oldCookie := loggedOut.cookie(sessionCookie)
		if r := loggedOut.postForm("/auth/logout", url.Values{"csrf_token": {loggedOut.csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("logout = %d", r.status)
		}
		tests := []struct {
			name   string
			cookie string // session cookie value; "" for none
		}{
			{"no cookie", ""},
			{"forged cookie", strings.Repeat("A", 43) + ".bm90LWEtc2lnbmF0dXJl"},
			{"signed out in another tab", oldCookie.Value},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				var cookie []string
				if tt.cookie != "" {
					cookie = []string{"Cookie", sessionCookie + "=" + tt.cookie}
				}
				if r := e.get("/dashboard/stream", append(cookie, "HX-Request", "true")...); r.status != http.StatusUnauthorized || r.header.Get("HX-Redirect") != "/" {
					t.Fatalf("htmx stream request = %d, HX-Redirect %q; want 401 to /", r.status, r.header.Get("HX-Redirect"))
				}

				b := e.browser()
				if tt.cookie != "" {
					u, _ := url.Parse(e.url)
					b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tt.cookie, Path: "/"}})
				}
				s := b.stream("")
				got := s.rest()
				if len(got) != 2 || got[0].Type != "reset" || got[1].Type != "signed-out" {
					t.Fatalf("signed-out stream = %+v, want a reset and a signed-out event, then the end", got)
				}
				for _, ev := range got {
					if ev.ID != "" {
						t.Errorf("%s carries id %q", ev.Type, ev.ID)
					}
				}
				d := parseHTML(t, got[0].Data)
				if d.Find(`[data-testid=signed-out]`).Length() != 1 || len(rows(t, d)) != 0 {
					t.Fatalf("reset data = %q, want only the signed-out notice", got[0].Data)
				}
				if n := e.hub.Viewers(); n != 0 {
					t.Fatalf("%d hub subscriptions for a signed-out visitor", n)
				}
			})
		}
	})
}

func TestStreamEndsOnServerClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		streams := []*stream{e.signedIn().stream(""), e.signedInAs("4242").stream("")}
		for _, s := range streams {
			s.wantReset(0)
		}
		e.srv.Close()
		for _, s := range streams {
			s.waitEOF()
		}
		// Webhooks are still answered while the HTTP server drains.
		e.post(demoID)
	})
}

// A cheer message may hold line breaks of any kind. EventSource ends a line at CR, LF or CRLF, so
// the row must reach the browser whole, live and in a reset, exactly as the page shows it.
func TestStreamRowWithLineBreaks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		live := b.stream("")
		live.wantReset(0)

		const msg = "line one\rline two\nline three\r\nline four\r"
		sub := subscription(eventsub.ChannelCheer, "1", "enabled", map[string]string{"broadcaster_user_id": demoID})
		out := message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub, "event": map[string]any{
			"is_anonymous": false, "user_id": "1234", "user_login": "cool_user", "user_name": "Cool_User",
			"broadcaster_user_id": demoID, "broadcaster_user_login": "cooler_user", "broadcaster_user_name": "Cooler_User",
			"message": msg, "bits": 1000}})
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("webhook = %d %q", r.status, r.body)
		}
		ev := e.stored(out.Header.Get(eventsub.HeaderMessageID))

		page := rows(t, b.page("/dashboard"))
		if len(page) != 1 || page[0].id != ev.ID {
			t.Fatalf("dashboard rows %v, want [%d]", rowIDs(page), ev.ID)
		}
		// HTML turns every CR and CRLF into LF.
		want := "line one\nline two\nline three\nline four\n"
		if got := page[0].sel.Find(".detail").Text(); got != want {
			t.Fatalf("page detail = %q, want %q", got, want)
		}
		check := func(how string, r row) {
			t.Helper()
			if got := r.sel.Find(".detail").Text(); got != want {
				t.Errorf("%s row detail = %q, want %q", how, got, want)
			}
			if got, want := r.sel.Text(), page[0].sel.Text(); got != want {
				t.Errorf("%s row text = %q, the page shows %q", how, got, want)
			}
		}
		check("live", live.wantEvent(ev.ID))
		reset := b.stream("").wantReset(ev.ID)
		if len(reset) != 1 {
			t.Fatalf("reset rows %v, want [%d]", rowIDs(reset), ev.ID)
		}
		check("reset", reset[0])
	})
}

// TestSlowViewerDroppedThenCatchesUp: a viewer that stops reading fills its socket. Rows that no
// longer fit wait in its queue (when a write takes part of a row, the rest goes first), and once
// it is too far behind it is dropped. What it did read is whole rows, in order, none missing; and
// reconnecting with the last id it saw brings it up to date.
func TestSlowViewerDroppedThenCatchesUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		first := e.post(demoID)
		s := b.stream("")
		s.wantReset(first.ID)
		// The test reads nothing more until the viewer is dropped: the parser stops once its
		// channel is full, then the socket buffers fill. Big rows fill them sooner.
		name := strings.Repeat("n", 4000)
		var newest int64
		for i := 0; e.hub.Viewers() > 0; i++ {
			if i == 5000 {
				t.Fatal("a viewer that reads nothing was never dropped")
			}
			evs := make([]*store.Event, 8)
			for j := range evs {
				now := time.Now().UTC()
				evs[j] = &store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub-slow", Type: eventsub.ChannelFollow,
					Version: "2", BroadcasterID: demoID, UserID: fmt.Sprint(i*8 + j), UserLogin: "slow", UserName: name,
					OccurredAt: now, ReceivedAt: now, Payload: `{}`}
			}
			if _, err := e.store.InsertEvents(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			newest = evs[len(evs)-1].ID
			e.hub.Ring(demoID, newest)
			time.Sleep(time.Millisecond) // pacing only: small deliveries, so that the socket fills first
		}

		var last int64
		for _, ev := range s.rest() {
			id, err := strconv.ParseInt(ev.ID, 10, 64)
			if err != nil || ev.Type != "event" || (last != 0 && id != last+1) || (last == 0 && id != first.ID+1) {
				t.Fatalf("after row %d got %q id %q; want the next row, whole", last, ev.Type, ev.ID)
			}
			if rs := rows(t, parseHTML(t, ev.Data)); len(rs) != 1 || rs[0].id != id || rs[0].user != name {
				t.Fatalf("row %d arrived damaged: %v", id, rowIDs(rs))
			}
			last = id
		}
		if last == 0 {
			t.Fatal("the slow viewer read no live row before it was dropped")
		}

		again := b.stream(strconv.FormatInt(last, 10))
		ev := again.next()
		switch ev.Type {
		case "reset": // too much missed for rows one by one: a fresh list, up to the newest
			if ev.ID != strconv.FormatInt(newest, 10) {
				t.Fatalf("reset id %q, want %d", ev.ID, newest)
			}
		case "event":
			for id := last + 1; ; id++ {
				if ev.ID != strconv.FormatInt(id, 10) {
					t.Fatalf("catch-up row %q, want %d", ev.ID, id)
				}
				if id == newest {
					break
				}
				ev = again.next()
			}
		default:
			t.Fatalf("reconnect got %q first", ev.Type)
		}
	})
}

// TestStreamLeftIsForgottenAtOnce: a browser that closes its stream gives its slot back at once,
// not at the next heartbeat: a viewer reloading a tab again and again never reaches the cap.
func TestStreamLeftIsForgottenAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("STREAMS_PER_SESSION", "2"),
			func(_ map[string]string, o *web.Options) { o.Heartbeat = time.Hour })
		b := e.signedIn()
		for range 6 { // three times the cap, one at a time
			s := b.stream("")
			s.next()
			s.Close()
			eventually(t, "the closed stream to leave the hub", func() bool { return e.hub.Viewers() == 0 })
		}
		s := b.stream("")
		s.next()
	})
}

// TestStreamBurstIsNotSlowness: a burst of more rows than a viewer may fall behind, read from the
// log in one go, reaches a viewer that keeps up, in order, without dropping it.
func TestStreamBurstIsNotSlowness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		first := e.post(demoID)
		s := b.stream("")
		s.wantReset(first.ID)
		ids := e.insert(demoID, 200) // stored without a ring; one ring then reads them together
		e.hub.Ring(demoID, ids[len(ids)-1])
		for _, id := range ids {
			s.wantEvent(id)
		}
		if n := e.hub.Viewers(); n != 1 {
			t.Fatalf("%d viewers after the burst, want the one that kept up", n)
		}
	})
}

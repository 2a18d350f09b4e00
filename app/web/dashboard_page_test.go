package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// A page made for a session that ended does not come back to life under the next one: its
// stream, reconnecting with the new session's cookie, ends with the "session ended" notice.
func TestStreamOfAnEndedSessionsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		streamURL := b.page("/dashboard").Find(`[sse-connect]`).AttrOr("sse-connect", "")
		if u, err := url.Parse(streamURL); err != nil || u.Query().Get("session") == "" {
			t.Fatalf("stream URL %q names no session", streamURL)
		}
		if s := b.streamAt(streamURL, ""); len(s.wantReset(0)) != 0 {
			t.Fatal("the page's own session got rows it does not have")
		} else {
			s.Close()
		}

		if r := b.postForm("/auth/logout", url.Values{"csrf_token": {b.csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("logout = %d", r.status)
		}
		b.signIn(e.url) // another tab signs in again: the cookie is a new session's
		got := b.streamAt(streamURL, "").rest()
		if len(got) != 2 || got[0].Type != "reset" || got[1].Type != "signed-out" {
			t.Fatalf("the old page's stream = %+v, want the signed-out notice and the end", got)
		}
		if n := e.hub.Viewers(); n != 0 {
			t.Fatalf("%d hub subscriptions for a page whose session ended", n)
		}
		// The new session's own page streams as usual.
		fresh := b.page("/dashboard").Find(`[sse-connect]`).AttrOr("sse-connect", "")
		if fresh == streamURL {
			t.Fatal("a new session's page has the old session's stream URL")
		}
		s := b.streamAt(fresh, "")
		s.wantReset(0)
		s.Close()
	})
}

// The list says which filter matched nothing, and offers every event; it is a polite live region.
func TestDashboardEmptyStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		for _, tc := range []struct{ path, want string }{
			{"/dashboard", "No events yet."},
			{"/dashboard?type=" + eventsub.ChannelRaid, "No raids yet."},
			{"/dashboard?type=" + eventsub.StreamOnline, "No stream online events yet."},
			{"/dashboard?type=" + eventsub.ChannelHypeTrainBegin, "No hype trains yet."},
		} {
			d := b.page(tc.path)
			empty := d.Find(`[data-testid=empty]`)
			if got := strings.TrimSpace(empty.Text()); !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s says %q, want %q", tc.path, got, tc.want)
			}
			if all := empty.Find(`[data-testid=empty-show-all]`).Length(); (all == 1) != strings.Contains(tc.path, "type=") {
				t.Errorf("%s: %d links to every event", tc.path, all)
			}
			if live := d.Find(`#event-list`).AttrOr("aria-live", ""); live != "polite" {
				t.Errorf("%s: the list's aria-live is %q, want polite", tc.path, live)
			}
		}
	})
}

// In the demo the Event types panel says what it does and visibly sorts the Test events
// buttons: the chosen types first, the others apart.
func TestDemoEventTypesEffect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		form := url.Values{"csrf_token": {b.csrf}, "type": {eventsub.ChannelCheer, eventsub.ChannelRaid}}
		if r := b.postForm("/dashboard/event-types", form); r.status != http.StatusSeeOther {
			t.Fatalf("save event types = %d", r.status)
		}
		d := b.page("/dashboard")
		if got := d.Find(`[data-testid=event-types-summary]`).Text(); !strings.Contains(got, "2 of ") {
			t.Errorf("event types summary %q, want 2 on", got)
		}
		if d.Find(`[data-testid=event-types-effect]`).Text() == "" {
			t.Error("the demo's Event types panel does not say what it does")
		}
		var chosen []string
		d.Find(`[data-testid=test-events] [data-testid=test-event]`).Each(func(_ int, s *goquery.Selection) {
			chosen = append(chosen, s.AttrOr("data-type", ""))
		})
		if strings.Join(chosen, " ") != eventsub.ChannelCheer+" "+eventsub.ChannelRaid {
			t.Errorf("first test buttons %v, want the chosen cheers and raids", chosen)
		}
		if n := d.Find(`[data-testid=test-events-off] [data-testid=test-event]`).Length(); n != len(eventsub.Kinds)-2 {
			t.Errorf("%d test buttons for types that are off, want %d", n, len(eventsub.Kinds)-2)
		}
	})
}

// The overlay URL comes with a Copy button and the OBS size; Rotate asks first (hx-confirm, no
// inline script); the two test rows say which is stored.
func TestOverlayPanelHelps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		d := b.page("/dashboard")
		if d.Find(`[data-testid=checklist-step]`).Length() != 3 {
			t.Fatal("a first-time streamer sees no three-step checklist")
		}
		if d.Find(`#overlay-panel[open]`).Length() != 1 || d.Find(`[data-testid=overlay-rotate]`).Closest("form").AttrOr("hx-confirm", "") != "" {
			t.Error("the first overlay URL should be one click away, without a confirmation")
		}
		b.rotateOverlay()
		panel := b.page("/dashboard")
		if panel.Find(`[data-testid=checklist]`).Length() != 0 || panel.Find(`#overlay-panel[open]`).Length() != 0 {
			t.Error("once the overlay exists the checklist should go and the panel collapse")
		}
		rotate := panel.Find(`[data-testid=overlay-rotate]`).Closest("form")
		if !strings.Contains(rotate.AttrOr("hx-confirm", ""), "stops working") {
			t.Errorf("Rotate's hx-confirm = %q, want a warning", rotate.AttrOr("hx-confirm", ""))
		}
		panel.Find(`form`).Each(func(_ int, f *goquery.Selection) {
			if _, ok := f.Attr("onsubmit"); ok && f.Closest(`#overlay-panel`).Length() == 1 {
				t.Error("an overlay form has an inline onsubmit")
			}
		})
		if got := panel.Find(`[data-testid=overlay-tests] .muted`).First().Text(); !strings.Contains(got, "not stored") {
			t.Errorf("the test alert row says %q, want that it is not stored", got)
		}
		if got := panel.Find(`[data-testid=test-events-panel] summary`).Text(); !strings.Contains(got, "stored") {
			t.Errorf("the test events say %q, want that they are stored", got)
		}
	})
}

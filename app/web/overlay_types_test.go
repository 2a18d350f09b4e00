package web_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// Every event type goes the whole way: a signed webhook is stored, shown as a dashboard row of
// its type, and played as an overlay alert. Stream online/offline alerts are off until the
// streamer switches them on.
func TestEveryTypeReachesRowAndOverlay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		overlay := b.rotateOverlay()
		s := b.streamAt(overlay+"/stream", "")
		if ready := s.next(); ready.Type != "ready" {
			t.Fatalf("first overlay message %+v, want ready", ready)
		}
		e.postType(eventsub.StreamOnline) // off by default: must not alert
		s.Close()
		b.page("/dashboard") // fresh CSRF token
		on := url.Values{"csrf_token": {b.csrf}}
		// every type that can alert, follows last: they are held briefly to detect floods
		var types []string
		for _, k := range eventsub.Kinds {
			if k.Alert != eventsub.NoAlert && k.Type != eventsub.ChannelFollow {
				types = append(types, k.Type)
			}
		}
		types = append(types, eventsub.ChannelFollow)
		if len(types) < 9 {
			t.Fatalf("alert types %v: some are missing", types)
		}
		for _, typ := range types {
			on.Set("enabled_"+typ, "1")
		}
		if r := b.postForm("/dashboard/overlay/alerts", on); r.status >= 400 {
			t.Fatalf("switching every alert on answered %d %q", r.status, r.body)
		}
		s = b.streamAt(overlay+"/stream", "")
		if ready := s.next(); ready.Type != "ready" {
			t.Fatalf("first overlay message %+v, want ready", ready)
		}
		for _, typ := range types {
			ev := e.postType(typ)
			if ev.Type != typ {
				t.Fatalf("%s stored as %s", typ, ev.Type)
			}
			row := b.page("/dashboard").Find(fmt.Sprintf(`[data-testid=event-row][data-type=%q][data-event-id="%d"]`, typ, ev.ID))
			if row.Length() != 1 || row.Find(".action").Text() == "" {
				t.Fatalf("%s: %d dashboard rows for event %d, want 1 reading what happened", typ, row.Length(), ev.ID)
			}
			// Follows are held briefly to detect floods; the alert still comes, once.
			if a := s.wantAlert(ev); a.Type != typ || a.Text == "" {
				t.Fatalf("%s alert %+v", typ, a)
			}
		}
	})
}

// A resub plays with the streamer's template: {amount} is the months, {message} the viewer's text.
func TestResubAlertTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		overlay := b.rotateOverlay()
		b.page("/dashboard") // fresh CSRF token
		hint := b.page("/dashboard").Find(`[data-testid=overlay-alert-setting][data-type="` + eventsub.ChannelSubscriptionMsg + `"]`)
		if hint.Length() != 1 {
			t.Fatal("no alert setting for resubs")
		}
		form := url.Values{"csrf_token": {b.csrf}, "enabled_" + eventsub.ChannelSubscriptionMsg: {"1"},
			"template_" + eventsub.ChannelSubscriptionMsg: {"{user}: {amount} months! {message}"}}
		if r := b.postForm("/dashboard/overlay/alerts", form); r.status >= 400 {
			t.Fatalf("save: %d %q", r.status, r.body)
		}
		s := b.streamAt(overlay+"/stream", "")
		if ready := s.next(); ready.Type != "ready" {
			t.Fatalf("first overlay message %+v, want ready", ready)
		}
		ev := e.postType(eventsub.ChannelSubscriptionMsg)
		a := s.nextAlert()
		if want := "[" + ev.UserName + "]: 12 months! Love the stream! FevziGG"; a.ID != ev.ID || a.line() != want || a.Amount != 12 {
			t.Fatalf("resub alert %+v, want text %q", a, want)
		}
	})
}

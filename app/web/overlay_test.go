package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// overlayAlert is the JSON of an overlay stream's "alert" event.
type overlayAlert struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`
	User   string `json:"user"`
	Text   string `json:"text"`
	Detail string `json:"detail"`
	// Line is the streamer's template filled in, in place of User and Text.
	Line   []struct{ Text, User string } `json:"line"`
	Amount int                           `json:"amount"`
	// DurationMs is the streamer's duration for the type; 0 the default.
	DurationMs int `json:"duration_ms"`
}

// line is the template's line as text, the highlighted names in [brackets].
func (a overlayAlert) line() string {
	var b strings.Builder
	for _, s := range a.Line {
		if s.User != "" {
			b.WriteString("[" + s.User + "]")
		}
		b.WriteString(s.Text)
	}
	return b.String()
}

// rotateOverlay presses the dashboard's overlay button and returns the new overlay's path.
func (b *browser) rotateOverlay() string {
	b.t.Helper()
	r := b.postForm("/dashboard/overlay/rotate", url.Values{"csrf_token": {b.csrf}}, "HX-Request", "true")
	if r.status != http.StatusOK {
		b.t.Fatalf("rotate overlay: %d %q", r.status, r.body)
	}
	u, err := url.Parse(r.doc(b.t).Find(`[data-testid=overlay-url]`).Text())
	if err != nil || !strings.HasPrefix(u.Path, "/overlay/") {
		b.t.Fatalf("rotate overlay shows no overlay URL: %q", r.body)
	}
	return u.Path
}

// nextAlert reads up to the next alert, skipping the stream's "ready".
func (s *stream) nextAlert() overlayAlert {
	s.t.Helper()
	ev := s.until(func(ev sseEvent) bool { return ev.Type == "alert" })
	var a overlayAlert
	if err := json.Unmarshal([]byte(ev.Data), &a); err != nil {
		s.t.Fatalf("alert data %q: %v", ev.Data, err)
	}
	if want := strconv.FormatInt(a.ID, 10); a.ID > 0 && ev.ID != want {
		s.t.Fatalf("alert SSE id %q, want its event id %s", ev.ID, want)
	}
	return a
}

func (s *stream) wantAlert(ev *store.Event) overlayAlert {
	s.t.Helper()
	a := s.nextAlert()
	if a.ID != ev.ID || a.User != ev.UserName {
		s.t.Fatalf("alert %+v, want event %d by %s", a, ev.ID, ev.UserName)
	}
	return a
}

func TestOverlayURLAndRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		d := b.page("/dashboard")
		if got := strings.TrimSpace(d.Find(`[data-testid=overlay-rotate]`).Text()); got != "Create overlay URL" {
			t.Fatalf("overlay button before any overlay: %q", got)
		}
		if r := b.postForm("/dashboard/overlay/rotate", url.Values{}); r.status != http.StatusForbidden {
			t.Fatalf("rotate without CSRF token: %d, want 403", r.status)
		}

		first := b.rotateOverlay()
		token := strings.TrimPrefix(first, "/overlay/")
		ov, err := e.store.OverlayOf(context.Background(), demoID)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(token))
		if ov.TokenHash != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored %q, want the token's SHA-256", ov.TokenHash)
		}
		if raw, err := base64URLLen(token); err != nil || raw != 32 {
			t.Fatalf("token %q is %d bytes (%v), want 32 random bytes", token, raw, err)
		}

		page := e.get(first)
		doc := page.doc(t)
		if page.status != http.StatusOK || doc.Find(`[data-testid=overlay]`).Length() != 1 ||
			!strings.HasPrefix(doc.Find(`script`).AttrOr("src", ""), "/assets/overlay.") {
			t.Fatalf("overlay page: %d\n%s", page.status, page.body)
		}
		if doc.Find(`body`).AttrOr("data-stream-url", "") != first+"/stream" {
			t.Fatalf("overlay page's stream URL: %q", doc.Find(`body`).AttrOr("data-stream-url", ""))
		}
		if !strings.Contains(b.page("/dashboard").Find(`[data-testid=overlay-rotate]`).Text(), "Rotate") {
			t.Fatal("the dashboard offers no rotation once an overlay exists")
		}

		old := b.streamAt(first+"/stream", "")
		second := b.rotateOverlay()
		if second == first {
			t.Fatal("rotation kept the token")
		}
		old.waitEOF() // the old URL's open stream ends at once
		for _, p := range []string{first, first + "/stream"} {
			if r := e.get(p); r.status != http.StatusNotFound {
				t.Fatalf("GET %s after rotation: %d, want 404", p, r.status)
			}
		}
		if r := e.get(second); r.status != http.StatusOK {
			t.Fatalf("new overlay page: %d", r.status)
		}
		if r := e.get("/overlay/not-a-token"); r.status != http.StatusNotFound {
			t.Fatalf("unknown overlay: %d, want 404", r.status)
		}
	})
}

// TestOverlayUnavailableIsTransparent: OBS shows an overlay URL over the stream, so a rotated or
// mistyped URL, or a database outage, gets the transparent overlay page with a small notice
// (and, in an outage, a reload), never an error page that covers the scene.
func TestOverlayUnavailableIsTransparent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		b.rotateOverlay() // path no longer works
		transparent := func(r reply, status int, retry bool) {
			t.Helper()
			d := r.doc(t)
			if r.status != status || d.Find(`body.overlay[data-testid=overlay-unavailable]`).Length() != 1 {
				t.Fatalf("overlay page: %d %q; want %d and the transparent overlay page", r.status, r.body, status)
			}
			if d.Find(`[data-testid=overlay-notice]`).Text() == "" || d.Find(`header, nav, main`).Length() != 0 {
				t.Fatalf("overlay page should hold only a notice: %q", r.body)
			}
			if got := d.Find(`meta[http-equiv=refresh]`).Length() == 1; got != retry {
				t.Fatalf("reloads itself: %v, want %v", got, retry)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		}
		transparent(e.get(path), http.StatusNotFound, false)
		transparent(e.get("/overlay/not-a-token"), http.StatusNotFound, false)

		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.get(path)
		transparent(r, http.StatusServiceUnavailable, true)
		if strings.Contains(r.body, "closed") || strings.Contains(r.body, "store:") {
			t.Fatalf("the overlay page leaks internals: %q", r.body)
		}
	})
}

func base64URLLen(s string) (int, error) {
	var n int
	for _, r := range s {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", r) {
			return 0, fmt.Errorf("not base64url: %q", r)
		}
		n++
	}
	return n * 6 / 8, nil
}

func TestOverlayStreamLiveAndResume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		before := e.post(demoID)

		// A first connect starts from now: what came before never plays.
		s := b.streamAt(path, "")
		if ready := s.next(); ready.Type != "ready" || ready.ID != strconv.FormatInt(before.ID, 10) {
			t.Fatalf("first message %+v, want ready with id %d", ready, before.ID)
		}
		live := e.post(demoID)
		if a := s.wantAlert(live); a.Type != eventsub.ChannelFollow || a.Text != "followed" {
			t.Fatalf("follow alert %+v", a)
		}
		s.Close()

		// Missed while away: the browser's reconnect (Last-Event-ID) plays each once, in order.
		missed1, missed2 := e.post(demoID), e.post(demoID)
		s = b.streamAt(path, strconv.FormatInt(live.ID, 10))
		s.wantAlert(missed1)
		s.wantAlert(missed2)
		next := e.post(demoID)
		s.wantAlert(next)
		s.Close()

		// An OBS reload: no Last-Event-ID, the page's last shown id as ?after=. Last-Event-ID wins.
		s = b.streamAt(path+"?after="+strconv.FormatInt(missed2.ID, 10), "")
		s.wantAlert(next)
		s.Close()
		s = b.streamAt(path+"?after="+strconv.FormatInt(live.ID, 10), strconv.FormatInt(next.ID, 10))
		last := e.post(demoID)
		s.wantAlert(last)
	})
}

// insertAt stores an event straight into the database, happened at at.
func (e *env) insertAt(typ string, at time.Time, hidden bool) *store.Event {
	e.t.Helper()
	k := followers.Add(1)
	ev := &store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub", Type: typ, Version: "1", BroadcasterID: demoID,
		UserID: fmt.Sprint(k), UserLogin: fmt.Sprintf("viewer_%d", k), UserName: fmt.Sprintf("Viewer_%d", k),
		OccurredAt: at, ReceivedAt: time.Now(), Payload: `{"bits": 100, "tier": "1000"}`, Hidden: hidden}
	if _, err := e.store.InsertEvent(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func TestOverlaySkipsOldAndHiddenAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		for _, tc := range []struct {
			name   string
			maxAge string // OVERLAY_MAX_AGE; "" the default, 2 minutes
			old    bool   // whether the 5-minute-old cheer plays
		}{{"default max age", "", false}, {"OVERLAY_MAX_AGE=10m", "10m", true}} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db, withVar("OVERLAY_MAX_AGE", tc.maxAge))
				b := e.signedIn()
				path := b.rotateOverlay() + "/stream"
				start := e.insertAt(eventsub.ChannelCheer, time.Now(), false)
				old := e.insertAt(eventsub.ChannelCheer, time.Now().Add(-5*time.Minute), false)
				e.insertAt(eventsub.ChannelSubscribe, time.Now(), true) // a gift's sub: hidden
				e.insertAt(eventsub.StreamOnline, time.Now(), false)
				fresh := e.insertAt(eventsub.ChannelCheer, time.Now(), false)

				s := b.streamAt(path, strconv.FormatInt(start.ID, 10))
				if tc.old {
					if a := s.wantAlert(old); a.Text != "cheered 100 bits" {
						t.Fatalf("cheer alert %+v", a)
					}
				}
				s.wantAlert(fresh) // neither the hidden gifted sub nor stream.online played
			})
		}
	})
}

func TestOverlayCollapsesFollowFloods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		s := b.streamAt(path, "")
		s.next() // ready

		var flood []*store.Event
		for range 25 {
			flood = append(flood, e.post(demoID))
		}
		a := s.nextAlert()
		if last := flood[len(flood)-1]; a.ID != last.ID || a.Text != "25 new followers" || a.Type != eventsub.ChannelFollow {
			t.Fatalf("flood alert %+v, want \"25 new followers\" with id %d", a, last.ID)
		}
		// After the burst, a follow plays on its own; a burst of 20 is not a flood.
		single := e.post(demoID)
		s.wantAlert(single)
		var few []*store.Event
		for range 20 {
			few = append(few, e.post(demoID))
		}
		for _, ev := range few {
			s.wantAlert(ev)
		}
		s.Close()

		// A flood missed while away collapses too, and resumes after its newest follow.
		for range 30 {
			flood = append(flood, e.post(demoID))
		}
		s = b.streamAt(path, strconv.FormatInt(few[len(few)-1].ID, 10))
		if a := s.nextAlert(); a.Text != "30 new followers" || a.ID != flood[len(flood)-1].ID {
			t.Fatalf("missed flood alert %+v", a)
		}
	})
}

func TestOverlayConnectedAndTestAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		connected := func() string {
			t.Helper()
			return b.page("/dashboard").Find(`[data-testid=overlay-status]`).AttrOr("data-connected", "")
		}
		if got := connected(); got != "0" {
			t.Fatalf("connected overlays before any: %q, want 0", got)
		}
		s := b.streamAt(path, "")
		s.next() // ready: the stream is subscribed
		if got := connected(); got != "1" {
			t.Fatalf("connected overlays with one open: %q, want 1", got)
		}
		if r := b.get("/dashboard/overlay/status", "HX-Request", "true"); !strings.Contains(r.body, `data-connected="1"`) {
			t.Fatalf("status fragment: %d %q", r.status, r.body)
		}

		if r := b.postForm("/dashboard/overlay/test-alert", url.Values{"csrf_token": {b.csrf}, "type": {"channel.goal.begin"}}); r.status != http.StatusBadRequest {
			t.Fatalf("test alert of a type the app does not offer: %d, want 400", r.status)
		}
		stored := count(t, e.store, demoID)
		r := b.postForm("/dashboard/overlay/test-alert", url.Values{"csrf_token": {b.csrf}, "type": {eventsub.ChannelCheer}}, "HX-Request", "true")
		if res := r.doc(t).Find(`[data-testid=overlay-test-result]`); r.status != http.StatusOK || res.AttrOr("data-played", "") != "true" || !strings.Contains(res.Text(), "sent") {
			t.Fatalf("test alert: %d %q, want the line that says it was sent", r.status, r.body)
		}
		if a := s.nextAlert(); a.ID != 0 || a.Type != eventsub.ChannelCheer || !strings.HasPrefix(a.Text, "cheered ") || a.User == "" {
			t.Fatalf("test alert %+v, want a sample cheer without an id", a)
		}
		if n := count(t, e.store, demoID); n != stored {
			t.Fatalf("a test alert stored an event: %d events, want %d", n, stored)
		}
		s.Close()
	})
}

func TestOverlaySafeMode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		s := b.streamAt(path, "")
		s.next() // ready

		safe := func(on string) {
			t.Helper()
			r := b.postForm("/dashboard/overlay/safe-mode", url.Values{"csrf_token": {b.csrf}, "on": {on}}, "HX-Request", "true")
			if got := r.doc(t).Find(`[data-testid=overlay-safe-mode]`).AttrOr("data-on", ""); r.status != http.StatusOK || got != map[string]string{"1": "true", "0": "false"}[on] {
				t.Fatalf("safe mode %s: %d, panel says on=%q", on, r.status, got)
			}
		}
		safe("1")
		quiet := e.post(demoID) // stored and listed, but no alert
		cheer := e.postType(eventsub.ChannelCheer)
		// The held-back follow would have come first: the cheer being next proves it never plays.
		s.wantAlert(cheer)
		if ids := rowIDs(rows(t, b.page("/dashboard"))); !slices.Contains(ids, quiet.ID) {
			t.Fatalf("the follow in safe mode is not listed: %v", ids)
		}
		// Safe mode survives a reconnect: a catch-up skips the follow too.
		s.Close()
		s = b.streamAt(path, strconv.FormatInt(quiet.ID-1, 10))
		s.wantAlert(cheer)

		safe("0")
		s.wantAlert(e.post(demoID))
	})
}

// postType delivers a fresh signed sample event of typ for the demo streamer and returns it as stored.
func (e *env) postType(typ string) *store.Event {
	e.t.Helper()
	k := followers.Add(1)
	out, err := eventsub.NewSample(testSecret, "https://tev.example.com/webhooks/twitch", typ,
		eventsub.Follower{ID: demoID, Login: "streamer", Name: "Streamer"},
		eventsub.Follower{ID: fmt.Sprint(600000 + k), Login: fmt.Sprintf("viewer_%d", k), Name: fmt.Sprintf("Viewer_%d", k)}, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if r := e.deliver(out); r.status != http.StatusNoContent {
		e.t.Fatalf("webhook answered %d %q, want 204", r.status, r.body)
	}
	return e.stored(out.Header.Get(eventsub.HeaderMessageID))
}

func TestOverlayQueueControls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		var actions []string
		b.page("/dashboard").Find(`[data-testid=overlay-control]`).Each(func(_ int, sel *goquery.Selection) {
			actions = append(actions, sel.AttrOr("data-action", ""))
		})
		// One button pauses or resumes, as the overlays' reported state says (none reported: Pause).
		if want := []string{"pause", "skip", "clear"}; !slices.Equal(actions, want) {
			t.Fatalf("queue buttons %q, want %q", actions, want)
		}

		s := b.streamAt(path, "")
		s.next() // ready: the stream is subscribed
		if r := b.postForm("/dashboard/overlay/control", url.Values{"action": {"pause"}}); r.status != http.StatusForbidden {
			t.Fatalf("control without CSRF token: %d, want 403", r.status)
		}
		if r := b.postForm("/dashboard/overlay/control", url.Values{"csrf_token": {b.csrf}, "action": {"explode"}}); r.status != http.StatusBadRequest {
			t.Fatalf("unknown control: %d, want 400", r.status)
		}
		for _, action := range []string{"pause", "resume", "skip", "clear"} {
			r := b.postForm("/dashboard/overlay/control", url.Values{"csrf_token": {b.csrf}, "action": {action}}, "HX-Request", "true")
			if r.status != http.StatusNoContent {
				t.Fatalf("control %s: %d %q", action, r.status, r.body)
			}
			ev := s.until(func(ev sseEvent) bool { return ev.Type == "control" })
			if ev.Data != action || ev.ID != "" {
				t.Fatalf("control event %+v, want data %q and no id", ev, action)
			}
		}
		// Without htmx the form answers with the dashboard.
		if r := b.postForm("/dashboard/overlay/control", url.Values{"csrf_token": {b.csrf}, "action": {"skip"}}); r.status != http.StatusSeeOther {
			t.Fatalf("control without htmx: %d, want 303", r.status)
		}
		// Alerts still play after the commands: the server keeps no pause of its own.
		live := e.post(demoID)
		s.wantAlert(live)
	})
}

func TestOverlayAlertSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		const css = `</style><script>alert(1)</script> .alert { color: red }`
		form := func(edit func(url.Values)) url.Values {
			v := url.Values{"csrf_token": {b.csrf}, "css": {css},
				"enabled_" + eventsub.ChannelCheer: {"1"}, "template_" + eventsub.ChannelCheer: {"{user} cheered {amount}!"},
				"duration_" + eventsub.ChannelCheer: {"9"}}
			if edit != nil {
				edit(v)
			}
			return v
		}
		if r := b.postForm("/dashboard/overlay/alerts", form(func(v url.Values) { v.Del("csrf_token") })); r.status != http.StatusForbidden {
			t.Fatalf("save without CSRF token: %d, want 403", r.status)
		}
		for name, edit := range map[string]func(url.Values){
			"duration 0":  func(v url.Values) { v.Set("duration_"+eventsub.ChannelCheer, "0") },
			"duration 61": func(v url.Values) { v.Set("duration_"+eventsub.ChannelCheer, "61") },
			"CSS too big": func(v url.Values) { v.Set("css", strings.Repeat("a", 10*1024+1)) },
			"long text":   func(v url.Values) { v.Set("template_"+eventsub.ChannelCheer, strings.Repeat("x", 201)) },
		} {
			if r := b.postForm("/dashboard/overlay/alerts", form(edit)); r.status != http.StatusBadRequest {
				t.Fatalf("%s: %d, want 400", name, r.status)
			}
		}
		// A placeholder the type cannot fill is refused, and the answer says which and where.
		for _, tc := range []struct{ typ, tmpl, label, placeholder string }{
			{eventsub.ChannelFollow, "{user} followed with {amount}", "Follows", "{amount}"},
			{eventsub.ChannelRaid, "{user} says {message}", "Raids", "{message}"},
			{eventsub.ChannelCheer, "{user} cheered {bits}", "Cheers", "{bits}"},
		} {
			r := b.postForm("/dashboard/overlay/alerts", form(func(v url.Values) { v.Set("template_"+tc.typ, tc.tmpl) }))
			if msg := r.doc(t).Text(); r.status != http.StatusBadRequest || !strings.Contains(msg, tc.label) || !strings.Contains(msg, tc.placeholder) {
				t.Fatalf("template %q for %s: %d %q, want 400 naming %s and %s", tc.tmpl, tc.typ, r.status, msg, tc.label, tc.placeholder)
			}
		}

		// Follows (not in the form) off; cheers with a template and a duration.
		if r := b.postForm("/dashboard/overlay/alerts", form(nil)); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %q", r.status, r.body)
		}
		d := b.page("/dashboard")
		row := d.Find(`[data-testid=overlay-alert-setting][data-type="` + eventsub.ChannelCheer + `"]`)
		if row.Find(`input[type=checkbox]`).AttrOr("checked", "none") == "none" || row.Find(`input[type=number]`).AttrOr("value", "") != "9" {
			t.Fatal("the form does not show the saved cheer settings")
		}
		if _, on := d.Find(`[data-testid=overlay-alert-setting][data-type="` + eventsub.ChannelFollow + `"] input[type=checkbox]`).Attr("checked"); on {
			t.Fatal("the form shows follow alerts on")
		}
		if got := d.Find(`[data-testid=overlay-css]`).Text(); got != css {
			t.Fatalf("the form's CSS %q", got)
		}

		start := e.insertAt(eventsub.ChannelCheer, time.Now(), false)
		e.insertAt(eventsub.ChannelFollow, time.Now(), false) // follows are off: no alert
		cheer := e.insertAt(eventsub.ChannelCheer, time.Now(), false)
		s := b.streamAt(path+"/stream", strconv.FormatInt(start.ID, 10))
		a := s.nextAlert()
		if a.ID != cheer.ID || a.line() != "["+cheer.UserName+"] cheered 100!" || a.User != "" || a.Text != "" || a.Amount != 100 || a.DurationMs != 9000 {
			t.Fatalf("cheer alert %+v, want the template's line, the name highlighted, and 9000 ms", a)
		}
		// A change reaches the open stream: follows back on, in the dashboard's wording.
		if r := b.postForm("/dashboard/overlay/alerts", form(func(v url.Values) { v.Set("enabled_"+eventsub.ChannelFollow, "1") })); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %q", r.status, r.body)
		}
		if a := s.wantAlert(e.post(demoID)); a.Text != "followed" || a.DurationMs != 0 {
			t.Fatalf("follow alert after turning follows on: %+v", a)
		}

		// The overlay page carries the CSS as an attribute, for overlay.js to set as a <style>'s text.
		page := e.get(path).doc(t)
		if got := page.Find(`body`).AttrOr("data-custom-css", ""); got != css || page.Find(`script`).Length() != 1 || page.Find(`style`).Length() != 0 {
			t.Fatalf("overlay page: custom CSS %q, %d scripts, %d styles", got, page.Find(`script`).Length(), page.Find(`style`).Length())
		}

		// The preview plays the unsaved settings.
		r := b.postForm("/dashboard/overlay/preview", form(func(v url.Values) {
			v.Set("template_"+eventsub.ChannelCheer, "Preview {amount}")
			v.Set("preview_type", eventsub.ChannelCheer)
		}))
		var sample overlayAlert
		pd := r.doc(t)
		if err := json.Unmarshal([]byte(pd.Find(`body`).AttrOr("data-preview", "")), &sample); err != nil || r.status != http.StatusOK ||
			!strings.HasPrefix(sample.line(), "Preview ") || sample.DurationMs != 9000 || pd.Find(`body`).AttrOr("data-custom-css", "") != css {
			t.Fatalf("preview: %d %+v %v", r.status, sample, err)
		}
	})
}

func TestFloodThresholdAndBurstNote(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("OVERLAY_FLOOD_FOLLOWS", "5"))
		b := e.signedIn()
		s := b.streamAt(b.rotateOverlay()+"/stream", "")
		s.next() // ready
		var flood []*store.Event
		for range 6 {
			flood = append(flood, e.post(demoID))
		}
		if a := s.nextAlert(); a.Text != "6 new followers" || a.ID != flood[5].ID {
			t.Fatalf("flood alert %+v, want \"6 new followers\" past a threshold of 5", a)
		}

		// The dashboard marks each follow of a flood with the whole burst's size; 5 follows (the
		// threshold) and a lone follow are not a flood.
		t0 := time.Now().Add(-time.Hour)
		var burst, few []*store.Event
		for i := range 7 {
			burst = append(burst, e.insertAt(eventsub.ChannelFollow, t0.Add(time.Duration(i)*500*time.Millisecond), false))
		}
		for i := range 5 {
			few = append(few, e.insertAt(eventsub.ChannelFollow, t0.Add(time.Minute+time.Duration(i)*500*time.Millisecond), false))
		}
		notes := map[string]string{}
		b.page("/dashboard").Find(`[data-testid=event-row]`).Each(func(_ int, row *goquery.Selection) {
			notes[row.AttrOr("data-event-id", "")] = row.Find(`[data-testid=burst-note]`).AttrOr("data-burst", "")
		})
		for _, ev := range burst {
			if got := notes[strconv.FormatInt(ev.ID, 10)]; got != "7" {
				t.Fatalf("follow %d of the burst notes %q, want 7", ev.ID, got)
			}
		}
		for _, ev := range append(few, flood...) {
			want := ""
			if slices.Contains(flood, ev) {
				want = "6"
			}
			if got := notes[strconv.FormatInt(ev.ID, 10)]; got != want {
				t.Fatalf("follow %d notes %q, want %q", ev.ID, got, want)
			}
		}
	})
}

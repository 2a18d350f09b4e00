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

		if r := b.postForm("/dashboard/overlay/test-alert", url.Values{"csrf_token": {b.csrf}, "type": {"stream.online"}}); r.status != http.StatusBadRequest {
			t.Fatalf("test alert of a type that never alerts: %d, want 400", r.status)
		}
		stored := count(t, e.store, demoID)
		r := b.postForm("/dashboard/overlay/test-alert", url.Values{"csrf_token": {b.csrf}, "type": {eventsub.ChannelCheer}}, "HX-Request", "true")
		if r.status != http.StatusNoContent {
			t.Fatalf("test alert: %d %q", r.status, r.body)
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

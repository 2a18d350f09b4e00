package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestOverlayStatusAcrossInstances runs two instances on one PostgreSQL database: an overlay
// opened on B shows as connected on A's dashboard, and stops counting when B shuts down.
func TestOverlayStatusAcrossInstances(t *testing.T) {
	db := storetest.Postgres(t)
	a := startApp(t, db)
	b := startApp(t, db) // after A: A wrote the demo secret to the shared DATA_DIR
	user := signIn(t, a.URL)
	path := createOverlay(t, user, a.URL)

	if got := overlayConnected(t, user, a.URL); got != "0" {
		t.Fatalf("connected overlays before any: %q, want 0", got)
	}
	overlay := openSSE(t, &http.Client{}, b.URL+path+"/stream")
	if m := overlay.next(t); m.Event != "ready" {
		t.Fatalf("the overlay stream on B began with %q, want ready", m.Event)
	}
	// B writes its count at once, but asynchronously: poll, with hangGuard as the deadline.
	deadline := time.Now().Add(hangGuard)
	for overlayConnected(t, user, a.URL) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("A never counted the overlay open on B: %q", overlayConnected(t, user, a.URL))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// B deletes its rows before it stops: A stops counting its overlay at once.
	if err := b.stop(t); err != nil {
		t.Fatalf("stop B: %v", err)
	}
	if got := overlayConnected(t, user, a.URL); got != "0" {
		t.Fatalf("connected overlays after B stopped: %q, want 0", got)
	}
}

// createOverlay posts the dashboard's "make overlay URL" form and returns the overlay's path.
func createOverlay(t *testing.T, client *http.Client, appURL string) string {
	t.Helper()
	dash := getDoc(t, client, appURL+"/dashboard")
	form := dash.Find(`[data-testid="overlay-rotate"]`).Closest("form")
	action, _ := form.Attr("action")
	token, _ := form.Find(`input[name="csrf_token"]`).Attr("value")
	if action == "" || token == "" {
		t.Fatalf("the overlay form lacks an action (%q) or a CSRF token", action)
	}
	resp, err := client.PostForm(appURL+action, url.Values{"csrf_token": {token}})
	if err != nil {
		t.Fatalf("create overlay: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create overlay: %d", resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatalf("parse the created overlay: %v", err)
	}
	u, err := url.Parse(strings.TrimSpace(doc.Find(`[data-testid="overlay-url"]`).Text()))
	if err != nil || !strings.HasPrefix(u.Path, "/overlay/") {
		t.Fatalf("create overlay shows no overlay URL: %v", err)
	}
	return u.Path
}

// overlayConnected is data-connected of the panel's status line, as the dashboard refreshes it.
func overlayConnected(t *testing.T, client *http.Client, appURL string) string {
	t.Helper()
	doc := getDoc(t, client, appURL+"/dashboard/overlay/status")
	return doc.Find(`[data-testid="overlay-status"]`).AttrOr("data-connected", "")
}

// TestOverlayAcrossInstances: with two instances on one PostgreSQL database, an overlay open on B
// plays the alert of a follow that A received, and obeys the queue controls pressed on A's
// dashboard.
func TestOverlayAcrossInstances(t *testing.T) {
	db := storetest.Postgres(t)
	a := startApp(t, db)
	b := startApp(t, db)
	user := signIn(t, a.URL)
	path := createOverlay(t, user, a.URL)
	overlay := openSSE(t, &http.Client{}, b.URL+path+"/stream")
	if m := overlay.next(t); m.Event != "ready" {
		t.Fatalf("the overlay stream on B began with %q, want ready", m.Event)
	}

	follower := eventsub.Follower{ID: "4242", Login: "cross_instance", Name: "Cross_Instance"}
	if code := deliver(t, a.URL, newFollow(t, a.eventsubSecret(t), a.URL, demoBroadcaster, follower)); code != http.StatusNoContent {
		t.Fatalf("follow to A answered %d, want 204", code)
	}
	if m := nextOfKind(t, overlay, "alert"); !strings.Contains(m.Data, follower.Name) {
		t.Fatalf("B's overlay alert %q does not name %s", m.Data, follower.Name)
	}

	dash := getDoc(t, user, a.URL+"/dashboard")
	token, _ := dash.Find(`[data-testid="overlay-controls"] input[name="csrf_token"]`).First().Attr("value")
	for _, action := range []string{"pause", "skip"} {
		resp, err := user.PostForm(a.URL+"/dashboard/overlay/control", url.Values{"csrf_token": {token}, "action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Fatalf("control %s on A: %d", action, resp.StatusCode)
		}
		if m := nextOfKind(t, overlay, "control"); m.Data != action {
			t.Fatalf("B's overlay got control %q, want %q", m.Data, action)
		}
	}
}

// nextOfKind reads s up to its next message of event type kind.
func nextOfKind(t *testing.T, s *sseStream, kind string) sseMessage {
	t.Helper()
	for {
		if m := s.next(t); m.Event == kind {
			return m
		}
	}
}

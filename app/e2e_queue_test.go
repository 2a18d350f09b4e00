package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestOverlayQueueAcrossInstances runs two instances on one PostgreSQL database: the queue that
// an overlay open on B reports shows on A's dashboard, and settings saved on A (custom CSS,
// queue rules) reach the overlay on B at once.
func TestOverlayQueueAcrossInstances(t *testing.T) {
	db := storetest.Postgres(t)
	a := startApp(t, db)
	b := startApp(t, db)
	user := signIn(t, a.URL)
	path := createOverlay(t, user, a.URL)
	overlay := openSSE(t, &http.Client{}, b.URL+path+"/stream")
	if m := overlay.next(t); m.Event != "ready" {
		t.Fatalf("the overlay stream on B began with %q, want ready", m.Event)
	}
	nextOfKind(t, overlay, "settings") // the settings at the start

	report := func(body string) {
		t.Helper()
		resp, err := http.Post(b.URL+path+"/state", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("report to B: %d, want 204", resp.StatusCode)
		}
	}
	// awaitQueue polls A's queue status (B writes its presence asynchronously).
	awaitQueue := func(paused, waiting string) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for {
			q := getDoc(t, user, a.URL+"/dashboard/overlay/status").Find(`[data-testid="overlay-queue"]`)
			if q.AttrOr("data-paused", "") == paused && q.AttrOr("data-waiting", "") == waiting {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("A's queue status %q (paused %s, waiting %s), want paused %s and %s waiting",
					q.Text(), q.AttrOr("data-paused", ""), q.AttrOr("data-waiting", ""), paused, waiting)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	report(`{"page":"0123456789abcdef","paused":true,"waiting":2,"behind_ms":10000,"dropped":0}`)
	awaitQueue("true", "2")
	report(`{"page":"0123456789abcdef","paused":false,"waiting":0,"behind_ms":0,"dropped":0}`)
	awaitQueue("false", "0")

	dash := getDoc(t, user, a.URL+"/dashboard")
	token, _ := dash.Find(`[data-testid="overlay-alerts"] input[name="csrf_token"]`).Attr("value")
	resp, err := user.PostForm(a.URL+"/dashboard/overlay/alerts", url.Values{"csrf_token": {token}, "css": {".alert { color: lime }"}, "queue_max": {"5"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("save the settings on A: %d", resp.StatusCode)
	}
	var got struct {
		CSS   string `json:"css"`
		Queue struct {
			Max int `json:"max"`
		} `json:"queue"`
	}
	m := nextOfKind(t, overlay, "settings")
	if err := json.Unmarshal([]byte(m.Data), &got); err != nil || got.CSS != ".alert { color: lime }" || got.Queue.Max != 5 {
		t.Fatalf("B's overlay got settings %s (%v), want the CSS and the longest queue saved on A", m.Data, err)
	}
}

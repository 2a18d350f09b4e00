package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// report posts an overlay page's queue report.
func (b *browser) report(path, body string) reply {
	b.t.Helper()
	return do(b.t, b.e.http, newRequest(b.t, http.MethodPost, b.e.url+path+"/state", strings.NewReader(body), "Content-Type", "application/json"))
}

// queueStatus is the dashboard's queue status fragment.
func (b *browser) queueStatus() *goquery.Selection {
	b.t.Helper()
	r := b.get("/dashboard/overlay/status", "HX-Request", "true")
	if r.status != http.StatusOK {
		b.t.Fatalf("queue status: %d %q", r.status, r.body)
	}
	return r.doc(b.t).Find(`[data-testid=overlay-queue]`)
}

func buttons(sel *goquery.Selection) []string {
	var actions []string
	sel.Find(`[data-testid=overlay-control]`).Each(func(_ int, b *goquery.Selection) { actions = append(actions, b.AttrOr("data-action", "")) })
	return actions
}

// TestOverlayQueueState: the pages' reports of their queue show on the dashboard, the one
// furthest behind first; the Pause button becomes Resume while paused; an unchanged state
// answers 204; a report older than the TTL is left out.
func TestOverlayQueueState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		page := e.get(path).doc(t).Find("body")
		if page.AttrOr("data-state-url", "") != path+"/state" || page.AttrOr("data-queue-rules", "") != `{"max":0,"busy_ms":0}` {
			t.Fatalf("overlay page: state URL %q, rules %q", page.AttrOr("data-state-url", ""), page.AttrOr("data-queue-rules", ""))
		}
		s := b.streamAt(path+"/stream", "")
		s.next() // ready: the stream is subscribed
		defer s.Close()

		q := b.queueStatus()
		if q.AttrOr("data-reporting", "") != "0" || q.Find(`[data-testid=overlay-paused], [data-testid=overlay-playing]`).Length() != 0 {
			t.Fatalf("status before any report: %s", q.Text())
		}
		const pageA, pageB = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
		if r := b.report(path, `{"page":"`+pageA+`","paused":true,"waiting":2,"behind_ms":10000,"dropped":0}`); r.status != http.StatusNoContent {
			t.Fatalf("report: %d %q", r.status, r.body)
		}
		q = b.queueStatus()
		if q.Find(`[data-testid=overlay-paused]`).Length() != 1 || q.AttrOr("data-waiting", "") != "2" ||
			!strings.Contains(q.Find(`[data-testid=overlay-backlog]`).Text(), "2 alerts waiting, 10 s behind") {
			t.Fatalf("status with a paused page: %q", q.Text())
		}
		if got := buttons(q); !slices.Equal(got, []string{"resume", "skip", "clear"}) {
			t.Fatalf("buttons while paused: %q", got)
		}
		// The refresh carries the state it shows: unchanged, nothing to swap.
		seen := q.AttrOr("hx-get", "")
		if r := b.get(seen, "HX-Request", "true"); r.status != http.StatusNoContent {
			t.Fatalf("unchanged status: %d, want 204", r.status)
		}

		// A second page, further behind, not paused: its queue shows, the pause still does.
		if r := b.report(path, `{"page":"`+pageB+`","paused":false,"waiting":40,"behind_ms":200000,"dropped":3}`); r.status != http.StatusNoContent {
			t.Fatalf("report: %d %q", r.status, r.body)
		}
		if r := b.get(seen, "HX-Request", "true"); r.status != http.StatusOK {
			t.Fatalf("changed status: %d, want 200", r.status)
		}
		q = b.queueStatus()
		if q.AttrOr("data-reporting", "") != "2" || q.AttrOr("data-paused", "") != "true" ||
			q.Find(`[data-testid=overlay-backlog]`).Text() != "40 alerts waiting, 3 min behind. 3 dropped by the queue limit." {
			t.Fatalf("status with two pages: %q", q.Text())
		}
		// A page that stopped reporting longer ago than the TTL is left out.
		old := store.QueueState{BroadcasterID: demoID, PageID: "cccccccccccccccc", Paused: true, Waiting: 99, BehindMs: 999000, UpdatedAt: time.Now().Add(-time.Minute)}
		if err := e.store.SetQueueState(context.Background(), old, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{
			`{"page":"` + pageA + `","paused":false,"waiting":0,"behind_ms":0,"dropped":0}`,
			`{"page":"` + pageB + `","paused":false,"waiting":0,"behind_ms":0,"dropped":0}`,
		} {
			if r := b.report(path, body); r.status != http.StatusNoContent {
				t.Fatalf("report: %d %q", r.status, r.body)
			}
		}
		q = b.queueStatus()
		if q.AttrOr("data-reporting", "") != "2" || q.Find(`[data-testid=overlay-playing]`).Length() != 1 ||
			q.Find(`[data-testid=overlay-backlog]`).Text() != "Nothing waiting." || !slices.Equal(buttons(q), []string{"pause", "skip", "clear"}) {
			t.Fatalf("status once both play with nothing waiting: %q", q.Text())
		}
		// Without an open overlay there is no queue to show.
		s.Close()
		deadline := time.Now().Add(waitLong)
		for b.queueStatus().AttrOr("data-reporting", "") != "0" {
			if time.Now().After(deadline) {
				t.Fatal("the status still shows a queue after the overlay closed")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestOverlayStateReports: a report needs the current overlay URL, is size-limited, validated and
// rate-limited per overlay.
func TestOverlayStateReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		const good = `{"page":"0123456789abcdef","paused":false,"waiting":1,"behind_ms":5000,"dropped":0}`
		if r := b.report("/overlay/not-a-token", good); r.status != http.StatusNotFound {
			t.Fatalf("report to an unknown overlay: %d, want 404", r.status)
		}
		for name, body := range map[string]string{
			"not JSON":         `paused`,
			"short page":       `{"page":"abc","waiting":1}`,
			"page not hex":     `{"page":"0123456789abcdeZ","waiting":1}`,
			"negative waiting": `{"page":"0123456789abcdef","waiting":-1}`,
			"negative behind":  `{"page":"0123456789abcdef","behind_ms":-5}`,
			"too far behind":   `{"page":"0123456789abcdef","behind_ms":999999999999}`,
		} {
			if r := b.report(path, body); r.status != http.StatusBadRequest {
				t.Fatalf("%s: %d, want 400", name, r.status)
			}
		}
		if r := b.report(path, `{"page":"0123456789abcdef","pad":"`+strings.Repeat("x", 600)+`"}`); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized report: %d, want 413", r.status)
		}
		// A page gone wrong: past a burst, reports are refused (at most about four a second).
		var codes []int
		for range 30 {
			codes = append(codes, b.report(path, good).status)
		}
		if !slices.Contains(codes, http.StatusTooManyRequests) || codes[0] != http.StatusNoContent {
			t.Fatalf("30 reports at once answered %v, want 204 first and then 429s", codes)
		}
		// Rotating the URL ends its reports too.
		b.rotateOverlay()
		if r := b.report(path, good); r.status != http.StatusNotFound {
			t.Fatalf("report to a rotated URL: %d, want 404", r.status)
		}
	})
}

// TestOverlayQueueRules: the rules are saved with the alert settings, validated, shown in the
// form, given to the overlay page, and sent to open overlays (with the custom CSS) as a
// "settings" event as soon as they are saved.
func TestOverlayQueueRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		s := b.streamAt(path+"/stream", "")
		defer s.Close()
		settings := func() map[string]any {
			t.Helper()
			ev := s.until(func(ev sseEvent) bool { return ev.Type == "settings" })
			var v map[string]any
			if err := json.Unmarshal([]byte(ev.Data), &v); err != nil || ev.ID != "" {
				t.Fatalf("settings event %+v: %v", ev, err)
			}
			return v
		}
		// The stream starts with the settings: the page may be older than them.
		if v := settings(); v["css"] != "" || !jsonEqual(v["queue"], `{"max":0,"busy_ms":0}`) {
			t.Fatalf("settings at the start %v, want every rule off", v)
		}
		form := func(edit func(url.Values)) url.Values {
			v := url.Values{"csrf_token": {b.csrf}, "css": {".alert { color: red }"}, "enabled_" + eventsub.ChannelFollow: {"1"}, "enabled_" + eventsub.ChannelCheer: {"1"},
				"queue_max": {"3"}, "queue_busy_seconds": {"2"}, "queue_combine": {"1"}}
			if edit != nil {
				edit(v)
			}
			return v
		}
		for name, edit := range map[string]func(url.Values){
			"max 101":   func(v url.Values) { v.Set("queue_max", "101") },
			"max words": func(v url.Values) { v.Set("queue_max", "ten") },
			"max -1":    func(v url.Values) { v.Set("queue_max", "-1") },
			"busy 61":   func(v url.Values) { v.Set("queue_busy_seconds", "61") },
			"busy 1.5":  func(v url.Values) { v.Set("queue_busy_seconds", "1.5") },
		} {
			if r := b.postForm("/dashboard/overlay/alerts", form(edit)); r.status != http.StatusBadRequest {
				t.Fatalf("%s: %d, want 400", name, r.status)
			}
		}
		// In place (htmx), a wrong value is named beside its field, and the values typed are kept.
		r := b.postForm("/dashboard/overlay/alerts", form(func(v url.Values) { v.Set("queue_busy_seconds", "99") }), "HX-Request", "true")
		d := r.doc(t)
		if r.status != http.StatusBadRequest || d.Find(`[data-testid=alert-error][data-field=queue_busy_seconds]`).Length() != 1 ||
			d.Find(`[data-testid=queue-busy]`).AttrOr("value", "") != "99" || d.Find(`[data-testid=queue-busy]`).AttrOr("aria-invalid", "") != "true" ||
			d.Find(`[data-testid=queue-max]`).AttrOr("value", "") != "3" || d.Find(`[data-testid=queue-combine]`).AttrOr("checked", "none") == "none" {
			t.Fatalf("save with a wrong shortened duration: %d %q", r.status, d.Find(`[data-testid=queue-rules]`).Text())
		}
		if r := b.postForm("/dashboard/overlay/alerts", form(nil)); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %q", r.status, r.body)
		}
		const rules = `{"max":3,"busy_ms":2000,"combine":{"channel.cheer":"{n} cheers: {amount} bits","channel.follow":"{n} new followers","channel.subscribe":"{n} new subscribers"}}`
		if v := settings(); v["css"] != ".alert { color: red }" || !jsonEqual(v["queue"], rules) {
			t.Fatalf("settings after the save %v, want the CSS and %s", v, rules)
		}
		q := b.page("/dashboard").Find(`[data-testid=queue-rules]`)
		if q.Find(`[data-testid=queue-max]`).AttrOr("value", "") != "3" || q.Find(`[data-testid=queue-busy]`).AttrOr("value", "") != "2" ||
			q.Find(`[data-testid=queue-combine]`).AttrOr("checked", "none") == "none" {
			t.Fatal("the form does not show the saved queue rules")
		}
		if got := e.get(path).doc(t).Find("body").AttrOr("data-queue-rules", ""); !jsonEqual(got, rules) {
			t.Fatalf("overlay page rules %s, want %s", got, rules)
		}

		// Alerts say whether they may be combined: a follow may, a cheer with a message may not.
		follow := e.post(demoID)
		cheer := e.postType(eventsub.ChannelCheer)
		for _, want := range []struct {
			ev      *store.Event
			combine bool
		}{{follow, true}, {cheer, false}} {
			ev := s.until(func(ev sseEvent) bool { return ev.Type == "alert" })
			var a struct {
				ID      int64 `json:"id"`
				Combine bool  `json:"combine"`
				Amount  int   `json:"amount"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &a); err != nil || a.ID != want.ev.ID || a.Combine != want.combine {
				t.Fatalf("alert %s: %+v %v, want id %d and combine %v", ev.Data, a, err, want.ev.ID, want.combine)
			}
			if want.ev == cheer && a.Amount <= 0 {
				t.Fatalf("cheer alert %s carries no amount", ev.Data)
			}
		}

		// Every rule off again: the empty fields save as off.
		if r := b.postForm("/dashboard/overlay/alerts", form(func(v url.Values) {
			v.Set("queue_max", "")
			v.Set("queue_busy_seconds", " ")
			v.Del("queue_combine")
		})); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %q", r.status, r.body)
		}
		if v := settings(); !jsonEqual(v["queue"], `{"max":0,"busy_ms":0}`) {
			t.Fatalf("settings with every rule off: %v", v)
		}
	})
}

// jsonEqual reports whether v (decoded JSON, or a JSON string) is the JSON want.
func jsonEqual(v any, want string) bool {
	if s, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return false
		}
	}
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return false
	}
	got, _ := json.Marshal(v)
	exp, _ := json.Marshal(w)
	return string(got) == string(exp)
}

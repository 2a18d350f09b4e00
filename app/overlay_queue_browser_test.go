package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestBrowserOverlayQueue proves in Chromium that the overlay and the dashboard stay in step
// without reloads: saved custom CSS reaches an open overlay; the overlay's queue shows on the
// dashboard (paused, how many wait, how far behind, then playing again); and the queue rules for
// heavy traffic (longest queue, shortened duration while others wait, combined alerts) are
// applied by the page. The dashboard and the overlay are two tabs of one browser.
func TestBrowserOverlayQueue(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db, "OVERLAY_ALERT_DURATION", "3s")
		secret := app.eventsubSecret(t)
		dash := openBrowser(t, chromium)
		dash.do(chromedp.Navigate(app.URL + "/"))
		if resp := dash.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		overlayPath := dash.rotateOverlay("")
		o := dash.newTab()
		o.recordOverlay()
		o.do(chromedp.Navigate(app.URL + overlayPath))
		o.poll("the overlay's stream to open", `document.body.dataset.state === "live"`)
		o.do(chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`))
		n := 0
		follow := func(name string) {
			n++
			mustDeliver(t, app.URL, newFollow(t, secret, app.URL, demoBroadcaster, eventsub.Follower{ID: fmt.Sprint(80000 + n), Login: strings.ToLower(name), Name: name}))
		}
		cheer := func(name string) {
			n++
			mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
				"is_anonymous": false, "user_id": fmt.Sprint(80000 + n), "user_login": strings.ToLower(name), "user_name": name,
				"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
				"message": "Cheer100 read this on stream!", "bits": 100,
			}))
		}

		// Saved custom CSS restyles the open overlay's alert box at once.
		dash.do(chromedp.Navigate(app.URL + "/dashboard"))
		dash.saveAlertSettings(`form.querySelector('[data-testid="overlay-css"]').value = '[data-testid="alert"] { letter-spacing: 7px; }';`)
		o.poll("the saved CSS to restyle the open overlay", `getComputedStyle(document.querySelector('[data-testid="alert"]')).letterSpacing === "7px"`)
		o.expectNoReload()

		// Paused, two follows wait: the dashboard says so, and offers Resume instead of Pause.
		dash.queueButton("pause")
		o.poll("the overlay to pause", `window.__tev.controls.join(" ") === "pause"`)
		follow("Waiting_Wanda")
		follow("Waiting_Walt")
		o.poll("two follows to wait in the paused queue", `document.body.dataset.queued === "2"`)
		dash.poll("the dashboard to show the paused queue", queueShows(true, 2, 6)+` &&
			document.querySelector('[data-testid="overlay-backlog"]').textContent.trim() === "2 alerts waiting, 6 s behind."`)
		dash.queueButton("resume")
		o.waitPlayed("Waiting_Wanda followed")
		dash.poll("the dashboard to show the queue playing, nothing waiting", queueShows(false, 0, 0))
		o.waitPlayed("Waiting_Walt followed")

		// Rules for heavy traffic: at most 3 wait, 1 s each while others wait, combined follows.
		dash.saveAlertSettings(`form.querySelector('[data-testid="queue-max"]').value = "3";
			form.querySelector('[data-testid="queue-busy"]').value = "1";
			form.querySelector('[data-testid="queue-combine"]').checked = true;`)
		o.poll("the rules to reach the overlay", `window.__tev.settings?.queue.max === 3`)
		dash.queueButton("pause")
		o.poll("the overlay to pause again", `window.__tev.controls.join(" ") === "pause resume pause"`)
		cheer("Cheer_One")
		cheer("Cheer_Two")
		for _, name := range []string{"Combined_A", "Combined_B", "Combined_C"} {
			follow(name)
		}
		o.poll("three follows to wait as one alert", `document.body.dataset.queued === "3"`)
		cheer("Cheer_Three") // a fourth waiting alert: the oldest, Cheer_One, is dropped
		o.poll("the oldest waiting alert to be dropped", `document.body.dataset.queued === "3" && document.body.dataset.dropped === "1"`)
		// Behind: Cheer_Two and the combined follows at 1 s each (others wait), Cheer_Three at 3 s.
		dash.poll("the dashboard to show the queue and the drop", queueShows(true, 3, 5)+` &&
			document.querySelector('[data-testid="overlay-backlog"]').textContent.includes("1 dropped by the queue limit")`)
		dash.queueButton("resume")
		o.waitPlayed("Cheer_Three cheered 100 bits")
		o.expectPlayed([]string{"Waiting_Wanda followed", "Waiting_Walt followed", "Cheer_Two cheered 100 bits", "3 new followers", "Cheer_Three cheered 100 bits"})

		// A follow shows for 60 s when alone; one arriving meanwhile cuts it to 1 s (the hang
		// guard, 30 s, is shorter than the full 60).
		dash.saveAlertSettings(`form.querySelector('input[name="duration_channel.follow"]').value = "60";`)
		follow("Long_Lou")
		o.waitPlayed("Long_Lou followed")
		follow("Short_Sam")
		o.waitPlayed("Short_Sam followed")

		// Cheers without a message combine, and the combined alert plays as its sum does: 2,001
		// bits get the 1,000-bit treatment (level 2), not the first cheer's 1-bit look.
		dash.queueButton("pause")
		o.poll("the overlay to pause a third time", `window.__tev.controls.join(" ") === "pause resume pause resume pause"`)
		o.do(chromedp.Evaluate[chromedp.Void](`document.addEventListener("tev:played", (e) => {
			if (e.detail.text.includes("cheers")) window.__combinedLevel = document.querySelector('[data-testid="alert"]').dataset.level;
		}); undefined`))
		for _, bits := range []int{1, 1000, 1000} {
			n++
			mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
				"is_anonymous": false, "user_id": fmt.Sprint(80000 + n), "user_login": fmt.Sprint("bits_", n), "user_name": fmt.Sprint("Bits_", n),
				"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
				"message": fmt.Sprint("Cheer", bits), "bits": bits,
			}))
		}
		o.poll("the three cheers to wait as one alert", `document.body.dataset.queued === "1"`)
		dash.queueButton("resume")
		o.waitPlayed("3 cheers: 2,001 bits")
		if level := browserRun(o, chromedp.Evaluate[string](`window.__combinedLevel`)); level != "2" {
			t.Errorf("the combined 2,001-bit alert played at level %q, want 2 (as 1,000 bits and more)", level)
		}
		o.expectNoReload()
		o.expectNoExceptions()
		dash.expectNoExceptions()
	})
}

// saveAlertSettings edits the dashboard's alert settings form with the script edit (form is the
// form) and posts it, as its Save button does, from this tab, and waits for the answer; the page
// stays as it is.
func (b *browser) saveAlertSettings(edit string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const form = document.querySelector('[data-testid="overlay-alerts"]');
		` + edit + `
		window.__saved = false;
		fetch(form.action, { method: "POST", body: new FormData(form) }).then((r) => { window.__saved = r.ok; });
	})()`))
	b.poll("the alert settings to be saved", `window.__saved === true`)
}

// queueShows is true when the dashboard's queue status shows the state.
func queueShows(paused bool, waiting, behindSeconds int) string {
	badge := "overlay-playing"
	if paused {
		badge = "overlay-paused"
	}
	return fmt.Sprintf(`((q) => !!q && q.dataset.paused === "%t" && q.dataset.waiting === "%d" && q.dataset.behind === "%d" &&
		!!q.querySelector('[data-testid="%s"]'))(document.querySelector('[data-testid="overlay-queue"]'))`, paused, waiting, behindSeconds, badge)
}

// queueButton presses the dashboard's queue button for action, once the status offers it.
func (b *browser) queueButton(action string) {
	b.t.Helper()
	sel := fmt.Sprintf(`[data-testid="overlay-control"][data-action=%q]`, action)
	b.poll("the "+action+" button", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// recordOverlay makes every page of this tab record what an overlay announces, as openBrowser's
// tab does.
func (b *browser) recordOverlay() {
	b.t.Helper()
	b.do(func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: overlayRecorder})
		return chromedp.Void{}, err
	})
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// feedTopJS is where the event list starts, in CSS pixels from the top of the page.
const feedTopJS = `Math.round(document.getElementById("event-list").getBoundingClientRect().top + scrollY)`

// TestBrowserDashboardFeedFirst walks the dashboard as a first-time streamer in Chromium: the
// checklist guides through the setup; once the overlay exists the setup panels collapse and the
// feed starts in the top half of the window, at 1280×900 and on a phone (390×844). The overlay
// URL has a Copy button and the OBS size; Rotate asks first. Times are local and relative, and the
// live list keeps at most 200 rows while the "Older events" pager still reaches every event.
func TestBrowserDashboardFeedFirst(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		secret := app.eventsubSecret(t)
		b := openBrowser(t, chromium)
		b.do(func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Los_Angeles"})
			return chromedp.Void{}, err
		})
		b.do(chromedp.Navigate(app.URL + "/"))
		if resp := b.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		b.poll("the stream to open", `document.getElementById("live-status").dataset.state === "live"`)

		// A first-time streamer: three steps, in order, none done but the default event types.
		steps := browserRun(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="checklist-step"] > a')].map((a) => a.textContent.trim())`))
		if len(steps) != 3 || !strings.Contains(steps[1], "overlay URL") || !strings.Contains(steps[2], "test alert") {
			t.Fatalf("checklist steps %q, want event types, the overlay URL and a test alert", steps)
		}
		// The second step opens the overlay panel, where the streamer creates the URL.
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="checklist-step"]:nth-child(2) > a`)))
		b.poll("the overlay panel to be open", `document.getElementById("overlay-panel").open`)
		path := b.rotateOverlay("")
		// In place, beside the new URL: the checklist ticks the step, and the queue bar appears,
		// to say when OBS has the overlay open.
		b.poll("the overlay step ticked", `document.querySelector('[data-testid="checklist-step"]:nth-child(2)').dataset.done === "true"`)
		obs := b.newTab()
		obs.do(chromedp.Navigate(app.URL + path))
		b.poll("the queue bar to show the connected overlay", `document.querySelector('[data-testid="overlay-status"]')?.dataset.connected === "1"`)
		if hint := browserRun(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="obs-hint"]').textContent`)); !strings.Contains(hint, "width 1920, height 1080") {
			t.Errorf("OBS hint %q, want the browser source's size", hint)
		}
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-url-copy"]`)))
		b.poll("the Copy button to answer", `document.querySelector('[data-testid="overlay-url-copied"]').textContent !== ""`)

		// Rotate asks first; declining keeps the URL.
		b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = (m) => { window.__asked = m; return false }; undefined`))
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-rotate"]`)))
		b.poll("the confirmation", `(window.__asked ?? "").includes("stops working")`)
		if now := browserRun(b, chromedp.Evaluate[string](`new URL(document.querySelector('[data-testid="overlay-url"]').textContent.trim()).pathname`)); now != path {
			t.Fatalf("declining the confirmation changed the overlay URL from %s to %s", path, now)
		}
		b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true; undefined`))
		if now := b.rotateOverlay(path); now == path {
			t.Fatal("confirming Rotate kept the overlay URL")
		}

		// Configured: the checklist is gone, the panels are collapsed, the feed is near the top.
		// The panel the checklist opened is not one the streamer asked to keep open.
		b.do(chromedp.Navigate(app.URL + "/dashboard"))
		b.poll("the stream to open", `document.getElementById("live-status").dataset.state === "live"`)
		if n := browserRun(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="checklist"], #setup > details[open]').length`)); n != 0 {
			t.Errorf("%d checklist or open setup panels once the overlay exists, want none", n)
		}
		if top := browserRun(b, chromedp.Evaluate[int](feedTopJS)); top > 450 {
			t.Errorf("at 1280×900 the feed starts %d px down, want the top half of the window", top)
		}

		// Events arrive live; times are local and relative.
		msgs := make([]eventsub.Outgoing, 0, 210)
		for i := range cap(msgs) {
			msgs = append(msgs, newFollow(t, secret, app.URL, demoBroadcaster,
				eventsub.Follower{ID: fmt.Sprint(80000 + i), Login: fmt.Sprintf("fan_%03d", i), Name: fmt.Sprintf("Fan_%03d", i)}))
		}
		mustDeliver(t, app.URL, msgs[0])
		b.waitRow("Fan_000")
		if got := browserRun(b, chromedp.Evaluate[string](`document.querySelector('#event-list time').textContent.trim()`)); got != "just now" {
			t.Errorf("a new row's time reads %q, want %q", got, "just now")
		}
		// The viewer is in California: the full time on hover is theirs, not UTC.
		if title := browserRun(b, chromedp.Evaluate[string](`document.querySelector('#event-list time').title`)); !strings.Contains(title, "PST") {
			t.Errorf("a row's full time is %q, want the viewer's local time (PST)", title)
		}

		// 210 live rows: the list keeps 200, and the pager continues right after the last one.
		for i := 1; i < len(msgs); i++ {
			mustDeliver(t, app.URL, msgs[i])
			if i%30 == 0 || i == len(msgs)-1 {
				b.waitRow(fmt.Sprintf("Fan_%03d", i))
			}
		}
		b.poll("the list to keep 200 rows", rowCountJS("")+` === 200`)
		b.expectRows("Fan_209", 1)
		b.expectRows("Fan_009", 0)
		b.expectRows("Fan_010", 1)
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="older"]`)))
		b.waitRow("Fan_009")
		b.poll("every event once", rowCountJS("")+` === 210`)
		b.expectRows("Fan_000", 1)
		b.expectNoExceptions()

		// A phone: the feed still starts in the top half.
		b.do(chromedp.Emulate(device.IPhone13))
		b.do(chromedp.Navigate(app.URL + "/dashboard"))
		b.poll("the stream to open", `document.getElementById("live-status").dataset.state === "live"`)
		if top := browserRun(b, chromedp.Evaluate[int](feedTopJS)); top > 422 {
			t.Errorf("on a phone (390×844) the feed starts %d px down, want the top half of the screen", top)
		}
	})
}

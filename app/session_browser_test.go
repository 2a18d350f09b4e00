package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestBrowserSignOutEndsOtherTabs proves that signing out in one tab ends the session's other
// open dashboards: their stream stops with the "session ended" notice and the state "ended", and
// a button pressed there afterwards says the session ended instead of failing silently.
func TestBrowserSignOutEndsOtherTabs(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		one := openBrowser(t, chromium)
		one.do(chromedp.Navigate(app.URL + "/"))
		if resp := one.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		one.poll("the first tab's stream to open", `document.getElementById("live-status").dataset.state === "live"`)

		two := one.newTab()
		two.do(chromedp.Navigate(app.URL + "/dashboard"))
		two.poll("the second tab's stream to open", `document.getElementById("live-status").dataset.state === "live"`)

		one.clickAndLoad(`[data-testid="sign-out"]`)
		two.poll("the notice in the other tab", `document.querySelector('[data-testid="signed-out"]') !== null`)
		two.poll("the other tab's state to be ended", `document.getElementById("live-status").dataset.state === "ended"`)
		if !browserRun(two, chromedp.Evaluate[bool](`!document.querySelector('[data-testid="session-notice"]').hidden`)) {
			t.Error("the other tab's header shows no session notice")
		}

		// Its buttons do not fail silently: a 403 (the session and its CSRF token are gone) shows
		// the notice with a way to sign in again.
		two.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="session-notice"]').hidden = true;
			document.getElementById("live-status").dataset.state = "live"; undefined`))
		two.do(chromedp.Click(chromedp.CSS(`[data-testid="test-follow"]`)))
		two.poll("the notice after a refused click", `!document.querySelector('[data-testid="session-notice"]').hidden &&
			document.querySelector('[data-testid="session-notice"] a').getAttribute("href") === "/"`)
		two.expectNoExceptions()
	})
}

// TestBrowserSignOutKeepsTheNoticeWithAnOverlay: a dashboard with an overlay polls its queue
// bar. When that poll is the first to find the session gone (its answer is a 401 with
// HX-Redirect), the page stays and shows the "session ended" notice instead of leaving for the
// start page, and the bar, whose state can no longer be refreshed, goes.
func TestBrowserSignOutKeepsTheNoticeWithAnOverlay(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		one := openBrowser(t, chromium)
		one.do(chromedp.Navigate(app.URL + "/"))
		if resp := one.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		one.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-rotate"]`)))
		one.poll("the new overlay URL", `document.querySelector('[data-testid="overlay-url"]') !== null`)

		two := one.newTab()
		two.do(chromedp.Navigate(app.URL + "/dashboard"))
		two.poll("the queue bar", `document.querySelector('[data-testid="overlay-queue"]') !== null`)
		two.poll("the second tab's stream to open", `document.getElementById("live-status").dataset.state === "live"`)
		// The stream would notice the sign-out first: close it, so that the bar's poll does.
		two.do(chromedp.Evaluate[chromedp.Void](`window.__noReload = 1;
			document.getElementById("feed")["htmx-internal-data"].sseEventSource.close(); undefined`))

		one.clickAndLoad(`[data-testid="sign-out"]`)
		two.poll("the notice after the bar's poll", `!document.querySelector('[data-testid="session-notice"]').hidden`)
		two.poll("the queue bar to go", `getComputedStyle(document.querySelector('[data-testid="overlay-queue"]')).display === "none"`)
		two.expectNoReload()
		if state := browserRun(two, chromedp.Evaluate[string](`document.getElementById("live-status").dataset.state`)); state != "ended" {
			t.Errorf("the live badge says %q, want ended", state)
		}
		two.expectNoExceptions()
	})
}

// newTab opens another tab of the same browser (and profile: it shares the cookies).
func (b *browser) newTab() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	nb := &browser{t: b.t, ctx: ctx}
	started := make(chan error, 1)
	go func() { started <- chromedp.Listen(ctx, nb.record) }()
	select {
	case err := <-started:
		if err != nil {
			b.t.Fatalf("open a tab: %v", err)
		}
	case <-time.After(hangGuard):
		b.t.Fatal("the new tab did not open")
	}
	return nb
}

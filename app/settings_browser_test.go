package main

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestBrowserAlertSettingsInPlace proves in Chromium that the alert settings feel safe: a save
// with a bad value shows the error beside the field, and a good save says Saved, both without
// reloading the page or losing a just-made overlay URL, the preview picker's choice or the
// values typed; the preview frame shows a 1920×1080 page scaled to the panel; safe mode and the
// Follows "On" box move together; a test alert of a type that is off says why. One database is
// enough: nothing here depends on it.
func TestBrowserAlertSettingsInPlace(t *testing.T) {
	chromium := chromiumPath(t)
	app := startApp(t, storetest.SQLite(t))
	b := openBrowser(t, chromium)
	b.do(chromedp.Navigate(app.URL + "/"))
	if resp := b.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
		t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
	}
	path := b.rotateOverlay("")
	// Right after the URL is made the settings are folded, the test alerts at hand.
	if browserRun(b, chromedp.Evaluate[bool](`document.getElementById("alert-settings").open`)) {
		t.Error("the alert settings are open right after the overlay URL was made, want them folded")
	}
	b.do(chromedp.Click(chromedp.CSS(`#alert-settings > summary`)))
	b.do(chromedp.Evaluate[chromedp.Void](`window.__noReload = 1;
		document.querySelector('[data-testid="overlay-preview-type"]').value = "channel.raid";
		document.querySelector('input[name="template_channel.follow"]').value = "{user} brought {amount}"; undefined`))
	// .htmx-added: htmx has not yet processed the swapped-in form, whose Save button would then
	// post without htmx (a page load) if clicked.
	kept := `window.__noReload === 1 && document.querySelector('[data-testid="overlay-url"]')?.textContent.endsWith(` + strconv.Quote(path) + `) &&
		document.querySelector('[data-testid="overlay-preview-type"]').value === "channel.raid" && !document.querySelector(".htmx-added")`

	// A bad value: the error beside its field, the value still typed, nothing else lost.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-alerts-save"]`)))
	b.poll("the follow template's error beside it", `(() => {
		const e = document.querySelector('[data-testid="alert-error"][data-field="template_channel.follow"]');
		return !!e && e.textContent.includes("{amount}") && e.textContent.includes("Follows") &&
			document.querySelector('input[name="template_channel.follow"]').value === "{user} brought {amount}";
	})()`)
	b.poll("the page kept as it was", kept)

	// Fixed and saved: "Saved", in place.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="template_channel.follow"]').value = "Welcome {user}!"; undefined`))
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-alerts-save"]`)))
	b.poll("Saved", `!!document.querySelector('[data-testid="overlay-alerts-saved"]') && !document.querySelector('[data-testid="alert-error"]')`)
	b.poll("the page kept as it was after saving", kept)

	// The preview: before the first one, the frame says what it is for; then a 1920×1080 page,
	// scaled to the panel's width, 16:9.
	hint := `getComputedStyle(document.querySelector('[data-testid="overlay-preview-hint"]')).display !== "none" &&
		getComputedStyle(document.querySelector('iframe[name="overlay-preview"]')).visibility === "hidden"`
	b.poll("the preview frame's hint", hint)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-preview-button"]`)))
	b.poll("the preview at 1920×1080, scaled to the panel", `(() => {
		const f = document.querySelector('iframe[name="overlay-preview"]');
		const w = f.contentWindow, box = f.getBoundingClientRect(), frame = f.parentElement;
		return !!w.document.querySelector('[data-testid="alert"]') && w.innerWidth === 1920 && w.innerHeight === 1080 &&
			Math.abs(box.width - frame.clientWidth) < 1 && Math.abs(box.height - frame.clientHeight) < 1 &&
			Math.abs(box.height - box.width * 9 / 16) < 1 && box.width < 1920 &&
			getComputedStyle(f).visibility === "visible" && getComputedStyle(frame.querySelector('[data-testid="overlay-preview-hint"]')).display === "none";
	})()`)

	// Safe mode and the Follows box are one switch.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-safe-toggle"]`)))
	b.poll("safe mode on, and the Follows box unchecked", `document.querySelector('[data-testid="overlay-safe-mode"]').dataset.on === "true" &&
		!document.querySelector('input[name="enabled_channel.follow"]').checked`)
	b.poll("the page kept as it was after safe mode", kept)

	// Test alerts that cannot play say why.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-test"][data-type="channel.follow"]`)))
	b.poll("the follow test says it is suppressed", `document.querySelector('[data-testid="overlay-test-result"]').textContent.includes("suppressed")`)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-test"][data-type="stream.online"]`)))
	b.poll("the stream-online test says it is off", `document.querySelector('[data-testid="overlay-test-result"]').textContent ===
		"Alerts for Stream online are off — turn them on in alert settings."`)

	// The Follows box turns follow alerts back on: safe mode follows.
	b.do(chromedp.Click(chromedp.CSS(`input[name="enabled_channel.follow"]`)))
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-alerts-save"]`)))
	b.poll("safe mode off after the Follows box was saved", `document.querySelector('[data-testid="overlay-safe-mode"]').dataset.on === "false"`)
	b.poll("the page kept as it was at the end", kept)
	b.expectNoExceptions()
}

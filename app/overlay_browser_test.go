package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestBrowserOverlay proves the OBS overlay in a real Chromium: an alert plays for each signed
// event that reaches the webhook; after a dropped connection the missed alert plays once and
// earlier ones do not replay; a reload replays nothing already shown; a flood of follows plays
// as one alert; what was cleared or came in safe mode does not play after a reload either; and
// rotating the URL stops the old overlay. The overlay tab reaches the app
// through the cut proxy; a second tab is the streamer's dashboard.
func TestBrowserOverlay(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db, "OVERLAY_ALERT_DURATION", "200ms")
		secret := app.eventsubSecret(t)
		proxy := startCutProxy(t, app.Addr)
		dash := openBrowser(t, chromium)
		n := 0
		follower := func(name string) eventsub.Outgoing {
			n++
			return newFollow(t, secret, app.URL, demoBroadcaster, eventsub.Follower{ID: fmt.Sprint(70000 + n), Login: strings.ToLower(name), Name: name})
		}

		// The streamer signs in and makes the overlay URL on the dashboard.
		dash.do(chromedp.Navigate(proxy.URL + "/"))
		if resp := dash.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		dash.poll("the dashboard's stream to open", `document.getElementById("live-status").dataset.state === "live"`)
		overlayPath := dash.rotateOverlay("")

		// The same tab becomes the browser source.
		o := dash
		o.do(chromedp.Navigate(proxy.URL + overlayPath))
		o.poll("the overlay's stream to open", `document.body.dataset.state === "live"`)

		mustDeliver(t, app.URL, follower("Alert_Alice"))
		o.waitPlayed("Alert_Alice followed")

		// The connection drops; a follow arrives meanwhile; the overlay reconnects and plays it once.
		proxy.cut()
		o.poll("the overlay to notice the cut", `document.body.dataset.state !== "live"`)
		mustDeliver(t, app.URL, follower("Missed_Mo"))
		proxy.restore()
		o.waitPlayed("Missed_Mo followed")
		o.expectPlayed([]string{"Alert_Alice followed", "Missed_Mo followed"})

		// An OBS reload: nothing already shown plays again; the next event does.
		o.do(chromedp.Reload())
		o.poll("the reloaded overlay's stream to open", `document.body.dataset.state === "live"`)
		mustDeliver(t, app.URL, follower("After_Reload"))
		o.waitPlayed("After_Reload followed")
		o.expectPlayed([]string{"After_Reload followed"})

		// 200 follows within moments: one collapsed alert.
		flood := make([]eventsub.Outgoing, 200)
		for i := range flood {
			flood[i] = follower(fmt.Sprintf("Bot_%03d", i))
		}
		deliverAll(t, app.URL, flood)
		o.waitPlayed("200 new followers")
		mustDeliver(t, app.URL, follower("After_Flood"))
		o.waitPlayed("After_Flood followed")
		o.expectPlayed([]string{"After_Reload followed", "200 new followers", "After_Flood followed"})

		// The dashboard's queue buttons: paused, a follow waits; clear drops it; after resume only
		// the follow that came after the clear plays.
		o.overlayControl("pause", "pause")
		mustDeliver(t, app.URL, follower("Held_Then_Cleared"))
		o.poll("the follow to wait in the paused queue", `document.body.dataset.queued === "1"`)
		o.overlayControl("clear", "pause clear")
		mustDeliver(t, app.URL, follower("After_Clear"))
		o.poll("the next follow to wait in the paused queue", `document.body.dataset.queued === "1"`)
		o.overlayControl("resume", "pause clear resume")
		o.waitPlayed("After_Clear followed")
		o.expectPlayed([]string{"After_Reload followed", "200 new followers", "After_Flood followed", "After_Clear followed"})

		// What the overlay was not to play stays unplayed after an OBS reload: a follow cleared from
		// the queue, and one that came in safe mode, once follow alerts are back on.
		o.overlayControl("pause", "pause clear resume pause")
		mustDeliver(t, app.URL, follower("Cleared_Then_Reload"))
		o.poll("the follow to wait in the paused queue", `document.body.dataset.queued === "1"`)
		o.overlayControl("clear", "pause clear resume pause clear")
		o.overlayControl("resume", "pause clear resume pause clear resume")
		o.safeMode(true)
		resumeAt := `Number(localStorage.getItem(document.body.dataset.storageKey))`
		before := browserRun(o, chromedp.Evaluate[int64](resumeAt))
		mustDeliver(t, app.URL, follower("In_Safe_Mode"))
		o.poll("the overlay to note the follow it skips", fmt.Sprintf(`%s > %d`, resumeAt, before))
		o.safeMode(false)
		o.do(chromedp.Reload())
		o.poll("the reloaded overlay's stream to open", `document.body.dataset.state === "live"`)
		mustDeliver(t, app.URL, follower("After_Safe_Mode"))
		o.waitPlayed("After_Safe_Mode followed")
		o.expectPlayed([]string{"After_Safe_Mode followed"})

		// The dashboard's preview frame plays a sample with the unsaved template and CSS; the CSS is
		// a <style>'s text, so markup in it never runs.
		o.do(chromedp.Navigate(proxy.URL + "/dashboard"))
		o.do(chromedp.Click(chromedp.CSS(`#overlay-panel > summary`))) // collapsed once the overlay exists
		o.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="overlay-css"]').value =
			".alert-text { color: rgb(255, 0, 0) } </style><script>window.pwned = 1</script>";
		document.querySelector('input[name="template_channel.cheer"]').value = "Preview {amount} bits from {user}";
		document.querySelector('select[name="preview_type"]').value = "channel.cheer"; undefined`))
		o.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-preview-button"]`)))
		o.poll("the preview to play the sample with the custom CSS", `(() => {
			const d = document.querySelector('iframe[name="overlay-preview"]').contentDocument;
			const t = d?.querySelector(".alert-text");
			const u = d?.querySelector(".alert-line strong.alert-user"); // the template keeps the name highlighted
			return !!t && t.textContent.startsWith("Preview ") && getComputedStyle(t).color === "rgb(255, 0, 0)" &&
				!!u && u.textContent !== "" && u.previousElementSibling === t &&
				d.defaultView.pwned === undefined && d.querySelectorAll("script").length === 1;
		})()`)
		o.do(chromedp.Navigate(proxy.URL + overlayPath))
		o.poll("the overlay's stream to open again", `document.body.dataset.state === "live"`)

		// Rotating the URL stops the old overlay at once: its stream ends and its page is gone. The
		// streamer's dashboard form is posted from the overlay's tab, which has the session cookie.
		o.do(chromedp.Evaluate[chromedp.Void](`fetch("/dashboard").then((r) => r.text()).then((html) => {
			const doc = new DOMParser().parseFromString(html, "text/html");
			const form = new FormData(doc.querySelector('[data-testid="overlay-panel"] form'));
			return fetch("/dashboard/overlay/rotate", { method: "POST", body: new URLSearchParams(form) });
		}); undefined`))
		o.poll("the old overlay to stop", `document.body.dataset.state === "closed"`)
		resp, err := http.Get(app.URL + overlayPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the old overlay URL answered %d after rotation, want 404", resp.StatusCode)
		}
		o.expectNoExceptions()
	})
}

// safeMode turns safe mode (follow alerts off) on or off with the dashboard's form, posted from
// this tab (which has the streamer's session cookie).
func (b *browser) safeMode(on bool) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__safe = undefined;
	fetch("/dashboard").then((r) => r.text()).then((html) => {
		const doc = new DOMParser().parseFromString(html, "text/html");
		const form = new FormData(doc.querySelector('[data-testid="overlay-safe-toggle"]').form);
		form.set("on", %q);
		return fetch("/dashboard/overlay/safe-mode", { method: "POST", body: new URLSearchParams(form) });
	}).then((r) => { window.__safe = r.ok; }); undefined`, map[bool]string{true: "1", false: "0"}[on])))
	b.poll("safe mode to be saved", `window.__safe === true`)
}

// rotateOverlay presses the dashboard's overlay button and returns the overlay path it shows,
// once it differs from old.
func (b *browser) rotateOverlay(old string) string {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-rotate"]`)))
	b.poll("the new overlay URL", fmt.Sprintf(`((u) => u.includes("/overlay/") && (%q === "" || !u.endsWith(%q)))(
		document.querySelector('[data-testid="overlay-url"]')?.textContent.trim() ?? "")`, old, old))
	u := browserRun(b, chromedp.Evaluate[string](`new URL(document.querySelector('[data-testid="overlay-url"]').textContent.trim()).pathname`))
	if u == old || !strings.HasPrefix(u, "/overlay/") {
		b.t.Fatalf("the dashboard shows overlay path %q (before: %q)", u, old)
	}
	return u
}

// overlayControl posts the dashboard's queue button for action from this tab (which has the
// streamer's session cookie), and waits until the overlay has obeyed the commands in seen.
func (b *browser) overlayControl(action, seen string) {
	b.t.Helper()
	// The dashboard offers Pause or Resume as the overlay last reported: ask until it offers action.
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(async () => {
		for (;;) {
			const doc = new DOMParser().parseFromString(await (await fetch("/dashboard")).text(), "text/html");
			const button = doc.querySelector('[data-testid="overlay-control"][data-action=%q]');
			if (button) return fetch("/dashboard/overlay/control", { method: "POST", body: new URLSearchParams(new FormData(button.form)) });
			await new Promise((done) => setTimeout(done, 200));
		}
	})(); undefined`, action)))
	b.poll("the overlay to obey "+action, fmt.Sprintf(`window.__tev.controls.join(" ") === %q`, seen))
}

// played is what the overlay has played since the page loaded, in order.
func (b *browser) played() []string {
	b.t.Helper()
	raw := browserRun(b, chromedp.Evaluate[string](`JSON.stringify(window.__tev.played)`))
	var log []string
	if err := json.Unmarshal([]byte(raw), &log); err != nil {
		b.t.Fatalf("played %q: %v", raw, err)
	}
	return log
}

func (b *browser) waitPlayed(text string) {
	b.t.Helper()
	b.poll("the alert "+text, fmt.Sprintf(`window.__tev.played.includes(%q)`, text))
}

func (b *browser) expectPlayed(want []string) {
	b.t.Helper()
	if got := b.played(); strings.Join(got, "|") != strings.Join(want, "|") {
		b.t.Errorf("the overlay played %q, want %q", got, want)
	}
}

// deliverAll delivers the messages from several goroutines at once, as a follow bot's burst
// arrives, and requires every one to be accepted.
func deliverAll(t *testing.T, appURL string, msgs []eventsub.Outgoing) {
	t.Helper()
	reqs := make([]*http.Request, len(msgs))
	for i, m := range msgs {
		r, err := m.Request(appURL + "/webhooks/twitch")
		if err != nil {
			t.Fatal(err)
		}
		reqs[i] = r
	}
	codes := make([]int, len(reqs))
	var wg sync.WaitGroup
	client := &http.Client{Timeout: hangGuard}
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if resp, err := client.Do(reqs[i]); err == nil {
					resp.Body.Close()
					codes[i] = resp.StatusCode
				}
			}
		})
	}
	for i := range reqs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("follow %d of the burst answered %d, want 204", i, c)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// screenshotPath is where UPDATE_SCREENSHOT=1 writes the README's screenshot.
var screenshotPath = filepath.Join("..", "assets", "screenshot.png")

// TestBrowserLiveDashboard proves the live dashboard in a real Chromium: a streamer signs in to
// the demo, and events that Twitch delivers appear without a reload, also those delivered while
// the page's connection was cut, each exactly once. The browser reaches the app through a proxy
// the test can cut; Twitch's webhooks go to the app directly, as on a real deployment.
func TestBrowserLiveDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		secret := app.eventsubSecret(t)
		proxy := startCutProxy(t, app.Addr)
		b := openBrowser(t, chromium)
		followers := 0
		follow := func(login, name string) {
			t.Helper()
			followers++
			msg := newFollow(t, secret, app.URL, demoBroadcaster, eventsub.Follower{ID: fmt.Sprint(50000 + followers), Login: login, Name: name})
			if code := deliver(t, app.URL, msg); code != http.StatusNoContent {
				t.Fatalf("follow by %s answered %d, want 204", name, code)
			}
		}

		// Sign in to the demo from the landing page.
		b.do(chromedp.Navigate(proxy.URL + "/"))
		resp := b.clickAndLoad(`[data-testid="demo-sign-in"]`)
		if want := proxy.URL + "/dashboard"; resp.Status != http.StatusOK || resp.URL != want {
			t.Fatalf("the demo sign-in loaded %s with %d, want %s with 200", resp.URL, resp.Status, want)
		}
		b.do(chromedp.WaitReady(chromedp.CSS(`#event-list`)))
		b.poll("the stream to open", `document.getElementById("live-status").dataset.state === "live"`)
		b.do(chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`))

		// A follow arrives while the page is connected.
		follow("live_lucy", "Live_Lucy")
		b.waitRow("Live_Lucy")
		b.expectRows("Live_Lucy", 1)
		b.expectNoReload()

		// The connection drops; a follow arrives meanwhile; the page reconnects and catches up.
		proxy.cut()
		b.poll("the page to notice the cut", `document.getElementById("live-status").dataset.state !== "live"`)
		follow("offline_olga", "Offline_Olga")
		b.expectRows("Offline_Olga", 0) // cannot have arrived: the page has no connection
		proxy.restore()
		b.waitRow("Offline_Olga")
		b.poll("the stream to reopen", `document.getElementById("live-status").dataset.state === "live"`)
		b.expectRows("Offline_Olga", 1)
		b.expectRows("Live_Lucy", 1)
		b.expectNoReload()

		// The demo's own button sends a signed follow through the real webhook.
		before := b.rowCount("")
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="test-follow"]`)))
		b.poll("the test follow's row", fmt.Sprintf(`%s > %d`, rowCountJS(""), before))
		if n := b.rowCount(""); n != before+1 {
			t.Errorf("after one test follow the list has %d rows, want %d", n, before+1)
		}
		if typ := browserRun(b, chromedp.Evaluate[string](`document.querySelector('#event-list [data-testid="event-row"]').dataset.type`)); typ != eventsub.ChannelFollow {
			t.Errorf("the newest row after a test follow is a %q, want %s", typ, eventsub.ChannelFollow)
		}
		b.expectNoReload()

		// A busier channel, for the screenshot.
		names := []string{"PixelPanda", "cozy_otter_77", "TurboWizard", "Sleepy_Falcon", "MightyGoblin"}
		for _, n := range names {
			follow(strings.ToLower(n), n)
		}
		mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelSubscribe, "1", map[string]any{
			"user_id": "9001", "user_login": "lucky_lurker", "user_name": "Lucky_Lurker", "broadcaster_user_id": demoBroadcaster,
			"broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer", "tier": "1000", "is_gift": false,
		}))
		mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
			"is_anonymous": false, "user_id": "9002", "user_login": "cosmic_gamer", "user_name": "CosmicGamer",
			"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
			"message": "Cheer100 great run!", "bits": 100,
		}))
		mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelRaid, "1", map[string]any{
			"from_broadcaster_user_id": "9003", "from_broadcaster_user_login": "salty_speedrunner", "from_broadcaster_user_name": "SaltySpeedrunner",
			"to_broadcaster_user_id": demoBroadcaster, "to_broadcaster_user_login": "demo_streamer", "to_broadcaster_user_name": "Demo Streamer",
			"viewers": 128,
		}))
		// The newer types, as their catalog samples: a resub, a shoutout, an ad break, and a hype
		// train's begin and progress, which are one row.
		demo := eventsub.Follower{ID: demoBroadcaster, Login: "demo_streamer", Name: "Demo Streamer"}
		for _, s := range []struct {
			typ  string
			user eventsub.Follower
		}{
			{eventsub.ChannelSubscriptionMsg, eventsub.Follower{ID: "9004", Login: "loyal_larry", Name: "Loyal_Larry"}},
			{eventsub.ChannelShoutoutReceive, eventsub.Follower{ID: "9005", Login: "friendly_fox", Name: "FriendlyFox"}},
			{eventsub.ChannelAdBreakBegin, demo},
			{eventsub.ChannelHypeTrainBegin, demo},
			{eventsub.ChannelHypeTrainProgress, demo},
		} {
			msg, err := eventsub.NewSample(secret, app.URL+"/webhooks/twitch", s.typ, demo, s.user, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			mustDeliver(t, app.URL, msg)
		}
		b.waitRow("SaltySpeedrunner")
		b.waitRow("FriendlyFox")
		for _, n := range append(names, "Live_Lucy", "Offline_Olga", "Lucky_Lurker", "CosmicGamer", "SaltySpeedrunner", "Loyal_Larry", "FriendlyFox") {
			b.expectRows(n, 1)
		}
		b.poll("the ad break's row", `document.querySelector('#event-list [data-type="channel.ad_break.begin"]') !== null`)
		// The train's progress replaced its begin's row in place: one row, the train's DOM id.
		b.poll("the hype train's one row at level 2", `(() => {
			const rs = document.querySelectorAll('#event-list [id="hype-train-1b0AsbInCHZW2SQFQkCzqN07Ib2"]');
			return rs.length === 1 && rs[0].dataset.type === "channel.hype_train.progress" &&
				rs[0].querySelector('.action').textContent.includes("Hype train level 2")
		})()`)
		if n, want := b.rowCount(""), before+1+len(names)+7; n != want {
			t.Errorf("the list has %d rows, want %d: one per stored event", n, want)
		}
		b.expectNoReload()
		b.expectNoExceptions()

		// For the screenshot, the dashboard as a streamer sees it once set up: the overlay open in
		// OBS (another tab), paused with alerts waiting, in the queue bar above the feed; the setup
		// panels folded away.
		path := b.rotateOverlay("")
		obs := b.newTab()
		obs.do(chromedp.Navigate(app.URL + path))
		b.do(chromedp.Navigate(proxy.URL + "/dashboard"))
		b.poll("the stream to open again", `document.getElementById("live-status").dataset.state === "live"`)
		// (and htmx to have processed the bar it swapped in: its buttons post without htmx before)
		b.poll("the queue bar to show the overlay", `document.querySelector('[data-testid="overlay-status"]')?.dataset.connected === "1" &&
			!document.querySelector(".htmx-added")`)
		b.do(chromedp.Click(chromedp.CSS(`[data-testid="overlay-control"][data-action="pause"]`)))
		b.poll("the paused badge", `document.querySelector('[data-testid="overlay-paused"]') !== null`)
		for i, n := range []string{"BitBaron", "GenerousGwen", "NightOwl_Nia"} {
			mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
				"is_anonymous": false, "user_id": fmt.Sprint(9100 + i), "user_login": strings.ToLower(n), "user_name": n,
				"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
				"message": "", "bits": 500 * (i + 1),
			}))
		}
		b.waitRow("NightOwl_Nia")
		b.poll("three alerts waiting in the bar", `document.querySelector('[data-testid="overlay-queue"]').dataset.waiting === "3"`)
		b.expectNoExceptions()

		// Rows fade in when they arrive; a headless tab only advances animations on frames that
		// something asks for, so poll on animation frames until every fade has finished.
		b.do(chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => a.playState === "finished")`,
			chromedp.WithPollingTimeout(hangGuard)))
		shot := browserRun(b, fullPageScreenshot())
		if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
			t.Fatalf("the screenshot is not a PNG: %v", err)
		}
		if os.Getenv("UPDATE_SCREENSHOT") == "1" && db.Name == "sqlite" {
			if err := os.WriteFile(screenshotPath, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", screenshotPath, len(shot))
		}
	})
}

// chromiumPath finds Chromium. Without it the test is skipped on a developer's machine and
// fails in CI, which must run it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const hint = "Chromium not found (looked for chromium, chromium-browser, google-chrome): install it, e.g. apt-get install chromium"
	if os.Getenv("CI") != "" {
		t.Fatal(hint + "; CI must run the browser test")
	}
	t.Skip(hint)
	return ""
}

// ---- the browser ------------------------------------------------------------------------

// browser is one Chromium tab driven over the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
	console    []string
}

// openBrowser starts a headless Chromium with a fresh profile, closed when the test ends.
func openBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	var output lockedBuffer
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners as root have no user namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is tiny in containers
		// The page's reconnect timers must run on time although no one looks at the window.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// Overlay alerts play sound without a click, as OBS's browser source allows.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	b := &browser{t: t, ctx: ctx}

	// The first action starts the browser. Its context must not carry a timeout (that would end
	// the browser with it), so the guard watches from outside.
	started := make(chan error, 1)
	go func() {
		started <- chromedp.Listen(ctx, b.record)
	}()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium %s: %v\n%s", execPath, err, output.String())
		}
	case <-time.After(hangGuard):
		cancelTab()
		t.Fatalf("chromium %s did not start\n%s", execPath, output.String())
	}
	// Every page of this tab records what an overlay announces (see assets/overlay.js), from
	// its first script on: the overlay itself keeps no record of a long stream.
	ctx2, cancel := context.WithTimeout(ctx, hangGuard)
	defer cancel()
	if err := chromedp.Do(ctx2, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: overlayRecorder})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatalf("install the overlay recorder: %v", err)
	}
	return b
}

// overlayRecorder keeps, per page load, the overlay's played alerts and obeyed commands, and
// the settings it was sent last.
const overlayRecorder = `window.__tev = { played: [], controls: [], settings: null };
document.addEventListener("tev:played", (e) => window.__tev.played.push(e.detail.text));
document.addEventListener("tev:control", (e) => window.__tev.controls.push(e.detail));
document.addEventListener("tev:settings", (e) => { window.__tev.settings = e.detail; });`

// record keeps the page's uncaught exceptions and console messages (it runs on the browser's
// reading goroutine, so it only appends).
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			args = append(args, string(a.Value)+a.Description)
		}
		b.console = append(b.console, fmt.Sprintf("console.%s %s", ev.Type, strings.Join(args, " ")))
	}
}

// do runs actions in the tab, bounded by the hang guard.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("browser: %v", err)
	}
}

// browserRun runs one action that returns a value, bounded by the hang guard.
func browserRun[T any](b *browser, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.fatalf("browser: %v", err)
	}
	return v
}

// clickAndLoad clicks an element that navigates and waits for the new page to load.
func (b *browser) clickAndLoad(selector string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		b.fatalf("browser: click %s: %v", selector, err)
	}
	return resp
}

// poll waits until a JavaScript expression is true in the page.
func (b *browser) poll(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(hangGuard)))
	if err != nil {
		b.fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// rowCountJS counts the event list's rows by user name ("" counts every row).
func rowCountJS(user string) string {
	name, _ := json.Marshal(user)
	return fmt.Sprintf(`[...document.querySelectorAll('#event-list [data-testid="event-row"]')].filter(r => %s === "" ||
		(r.querySelector('[data-testid="event-user"]')?.textContent ?? "").trim() === %s).length`, name, name)
}

func (b *browser) rowCount(user string) int {
	b.t.Helper()
	return browserRun(b, chromedp.Evaluate[int](rowCountJS(user)))
}

// waitRow waits until a row of user is in the list.
func (b *browser) waitRow(user string) {
	b.t.Helper()
	b.poll("a row of "+user, rowCountJS(user)+" > 0")
}

func (b *browser) expectRows(user string, want int) {
	b.t.Helper()
	if n := b.rowCount(user); n != want {
		b.t.Errorf("%d rows of %s in the list, want %d", n, user, want)
	}
}

// expectNoReload checks the marker set on window after the dashboard loaded: a reload or a
// navigation would have dropped it.
func (b *browser) expectNoReload() {
	b.t.Helper()
	if v := browserRun(b, chromedp.Evaluate[*int](`window.__noReload`)); v == nil || *v != 1 {
		b.t.Fatal("the page was reloaded: the marker set on window is gone")
	}
}

func (b *browser) expectNoExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 {
		b.t.Errorf("the page threw uncaught exceptions:\n%s", strings.Join(b.exceptions, "\n"))
	}
}

func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.mu.Lock()
	console := strings.Join(append(b.console, b.exceptions...), "\n")
	b.mu.Unlock()
	html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	b.t.Fatalf(format+"\npage console:\n%s\npage HTML:\n%s", append(args, console, html)...)
}

// mustDeliver delivers a webhook message that the app must accept.
func mustDeliver(t *testing.T, appURL string, msg eventsub.Outgoing) {
	t.Helper()
	if code := deliver(t, appURL, msg); code != http.StatusNoContent {
		t.Fatalf("%s notification answered %d, want 204", msg.Header.Get(eventsub.HeaderSubscriptionType), code)
	}
}

// fullPageScreenshot captures the whole page as PNG, below the fold too (chromedp's
// FullScreenshot captures the viewport only).
func fullPageScreenshot() chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		yes := true
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, FromSurface: &yes, CaptureBeyondViewport: &yes,
			Clip: &page.Viewport{Width: m.CSSContentSize.Width, Height: m.CSSContentSize.Height, Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}
}

// notification builds a signed notification of any type for the demo channel.
func notification(t *testing.T, secret, appURL, typ, version string, event map[string]any) eventsub.Outgoing {
	t.Helper()
	raw, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	sub := eventsub.Subscription{
		ID: eventsub.NewID(), Type: typ, Version: version, Status: "enabled",
		Condition: map[string]string{"broadcaster_user_id": demoBroadcaster},
		Transport: eventsub.Transport{Method: "webhook", Callback: appURL + "/webhooks/twitch"},
		CreatedAt: time.Now().Add(-time.Hour).UTC(),
	}
	if typ == eventsub.ChannelRaid {
		sub.Condition = map[string]string{"to_broadcaster_user_id": demoBroadcaster}
	}
	body, err := json.Marshal(eventsub.Message{Subscription: sub, Event: raw})
	if err != nil {
		t.Fatal(err)
	}
	return eventsub.Sign(secret, eventsub.TypeNotification, eventsub.NewID(), sub, body, time.Now())
}

// ---- a network the test can cut ---------------------------------------------------------

// cutProxy forwards TCP connections to the app. cut closes every open connection and closes new
// ones at once, as a dropped network does to a page, until restore.
type cutProxy struct {
	URL    string
	ln     net.Listener
	target string

	mu    sync.Mutex
	isCut bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{URL: "http://" + ln.Addr().String(), ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.forward(down)
	}
}

func (p *cutProxy) forward(down net.Conn) {
	defer p.wg.Done()
	if p.down() {
		down.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(down, up) {
		down.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done // either side ended: end both
	down.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, down)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *cutProxy) down() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.isCut
}

// track registers a forwarded pair, unless the proxy was cut meanwhile.
func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = false
}

func (p *cutProxy) close() {
	_ = p.ln.Close()
	p.cut()
	p.wg.Wait()
}

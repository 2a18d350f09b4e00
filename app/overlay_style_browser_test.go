package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestBrowserOverlayAlertImageAndSound proves the alert box in a real Chromium: a follow plays
// with the generated default image and chime; the streamer uploads an image and, for cheers of
// 1,000 bits and more, a sound; after a signed cheer of 5,000 bits reaches the webhook, the
// overlay shows the uploaded image (loaded) and plays the tier's uploaded sound (started).
func TestBrowserOverlayAlertImageAndSound(t *testing.T) {
	chromium := chromiumPath(t)
	dir := t.TempDir()
	imageFile, soundFile := filepath.Join(dir, "alert.png"), filepath.Join(dir, "big.wav")
	writeTestPNG(t, imageFile)
	if err := os.WriteFile(soundFile, testWAV(3), 0o644); err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db, "OVERLAY_ALERT_DURATION", "1s")
		secret := app.eventsubSecret(t)
		b := openBrowser(t, chromium)
		b.do(chromedp.Navigate(app.URL + "/"))
		if resp := b.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		overlayPath := b.rotateOverlay("")

		// The settings form: the cheer's image and its 1,000-bit tier's sound are uploads; a cheer shows 30 s.
		b.do(chromedp.Navigate(app.URL + "/dashboard"))
		cheer := `[data-testid="alert-style"][data-type="channel.cheer"] `
		b.do(chromedp.SetUploadFiles(chromedp.CSS(cheer+`[data-testid="style-image-file"]`), []string{imageFile}))
		b.do(chromedp.SetUploadFiles(chromedp.CSS(cheer+`input[name="tier_sound_file_0_channel.cheer"]`), []string{soundFile}))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="tier_min_0_channel.cheer"]').value = "1000";
			document.querySelector('input[name="duration_channel.cheer"]').value = "30"; undefined`))
		status := browserRun(b, chromedp.Evaluate[int](`(async () => {
			const form = document.querySelector('[data-testid="overlay-alerts"]');
			const r = await fetch(form.action, { method: "POST", body: new FormData(form) });
			return r.status;
		})()`, chromedp.EvalAwaitPromise))
		if status != http.StatusOK {
			t.Fatalf("saving the alert settings with uploads answered %d, want 200 (after the redirect)", status)
		}

		b.do(chromedp.Navigate(app.URL + overlayPath))
		b.poll("the overlay's stream to open", `document.body.dataset.state === "live"`)

		// A follow: the default image (generated SVG) and the default chime.
		mustDeliver(t, app.URL, newFollow(t, secret, app.URL, demoBroadcaster, eventsub.Follower{ID: "81001", Login: "sound_sam", Name: "Sound_Sam"}))
		b.waitPlayed("Sound_Sam followed")
		b.poll("the follow's default image and chime", alertPlaying(`/assets/alerts/heart.`, `/assets/alerts/chime.`))

		mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
			"is_anonymous": false, "user_id": "81002", "user_login": "big_bits", "user_name": "Big_Bits",
			"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
			"message": "Cheer5000 take my bits", "bits": 5000,
		}))
		b.waitPlayed("Big_Bits cheered 5,000 bits")
		b.poll("the cheer's uploaded image and its tier's uploaded sound", alertPlaying(`/media/`, `/media/`))
		if tier := browserRun(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="alert"]').dataset.tier`)); tier != "1" {
			t.Errorf("the 5,000-bit cheer played tier %q, want 1", tier)
		}
		// The uploads are served without a session, with year-long caching.
		src := browserRun(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="alert-image"]').getAttribute("src")`))
		resp, err := http.Get(app.URL + src)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s without a session: %d %q %q", src, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		b.expectNoExceptions()
	})
}

// alertPlaying is true while the alert on screen shows an image from a URL starting with
// imagePrefix that has loaded, and plays a sound from soundPrefix that has started.
func alertPlaying(imagePrefix, soundPrefix string) string {
	return fmt.Sprintf(`(() => {
		const box = document.querySelector('[data-testid="alert"]');
		const img = box.querySelector('[data-testid="alert-image"]');
		const snd = document.querySelector('[data-testid="alert-sound"]');
		return !box.hidden && !img.hidden && (img.getAttribute("src") || "").startsWith(%q) && img.complete && img.naturalWidth > 0 &&
			(snd.getAttribute("src") || "").startsWith(%q) && (box.dataset.sound === "playing" || box.dataset.sound === "ended" || (!snd.paused && snd.currentTime > 0));
	})()`, imagePrefix, soundPrefix)
}

// TestBrowserOverlayUnavailableIsTransparent: a wrong overlay URL paints nothing over the scene
// but its corner notice: every pixel of the screenshot outside the notice is fully transparent.
func TestBrowserOverlayUnavailableIsTransparent(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		b := openBrowser(t, chromium)
		// As OBS composites a browser source: the page's own background, else nothing.
		transparent := cdp.Command[map[string]any, cdp.Empty]{Method: "Emulation.setDefaultBackgroundColorOverride"}
		b.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, transparent, map[string]any{"color": map[string]any{"r": 0, "g": 0, "b": 0, "a": 0}})
			return chromedp.Void{}, err
		})
		b.do(chromedp.Navigate(app.URL + "/overlay/not-a-valid-token"))
		b.poll("the notice", `document.querySelector('[data-testid="overlay-notice"]') !== null`)
		rect := browserRun(b, chromedp.Evaluate[[]float64](`(() => {
			const r = document.querySelector('[data-testid="overlay-notice"]').getBoundingClientRect();
			return [r.left, r.top, r.right, r.bottom, window.devicePixelRatio];
		})()`))
		shot := browserRun(b, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
			if err != nil {
				return nil, err
			}
			return r.Data, nil
		})
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		scale := rect[4]
		notice := image.Rect(int(rect[0]*scale)-2, int(rect[1]*scale)-2, int(math.Ceil(rect[2]*scale))+2, int(math.Ceil(rect[3]*scale))+2)
		opaqueOutside, paintedInside := 0, 0
		bounds := img.Bounds()
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			for x := bounds.Min.X; x < bounds.Max.X; x++ {
				_, _, _, a := img.At(x, y).RGBA()
				switch in := image.Pt(x, y).In(notice); {
				case !in && a != 0:
					opaqueOutside++
				case in && a != 0:
					paintedInside++
				}
			}
		}
		if bounds.Dx() < 600 || bounds.Dy() < 400 {
			t.Fatalf("the screenshot is %v: too small to mean anything", bounds)
		}
		if opaqueOutside != 0 {
			t.Errorf("%d pixels outside the corner notice %v are painted; the page must be transparent", opaqueOutside, notice)
		}
		if paintedInside == 0 {
			t.Errorf("the corner notice %v paints nothing", notice)
		}
		if notice.Dx()*notice.Dy()*20 > bounds.Dx()*bounds.Dy() {
			t.Errorf("the notice %v covers more than 5%% of the %v page", notice, bounds)
		}
	})
}

// writeTestPNG writes a 64×32 image.
func writeTestPNG(t *testing.T, name string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: 120, B: uint8(y * 8), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testWAV is seconds of a quiet 440 Hz tone as 8 kHz 16-bit mono WAV.
func testWAV(seconds int) []byte {
	const rate = 8000
	n := rate * seconds
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		le(v) // PCM, mono, 16-bit
	}
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16(3000 * math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}

// alertScreenshotPath is where UPDATE_SCREENSHOT=1 writes the README's alert screenshot.
var alertScreenshotPath = filepath.Join("..", "assets", "alert-screenshot.png")

// gameScene is a made-up game frame put behind the overlay, as OBS composites it over a game:
// sky, sun and clouds, mountains, grass and earth, trees, a player and a slime, and a HUD (health
// and mana bars, level, score, a hotbar and a minimap). Every size is relative to the page, so it
// looks the same at any viewport; no two pieces of text overlap.
const gameScene = `(() => {
	const s = document.createElement("div");
	s.style.cssText = "position:fixed;inset:0;z-index:-1;overflow:hidden;font:700 2.6vh/1 monospace;color:#fff;" +
		"background:linear-gradient(#4f9fe8 0%,#a9dcff 58%,#76c45f 58%,#3d8a3a 100%)";
	const add = (css, text) => { const d = document.createElement("div"); d.style.cssText = "position:absolute;" + css; if (text) d.textContent = text; s.append(d); };
	add("left:78%;top:9%;width:9%;aspect-ratio:1;border-radius:50%;background:#fff4b0;box-shadow:0 0 6vh #fff4b0");
	for (const [x, y, w] of [[10, 12, 14], [40, 7, 10], [58, 20, 12]]) {
		add("left:" + x + "%;top:" + y + "%;width:" + w + "%;height:4.5%;border-radius:999px;background:rgba(255,255,255,.9)");
		add("left:" + (x + w * 0.25) + "%;top:" + (y - 2.5) + "%;width:" + (w * 0.4) + "%;height:5%;border-radius:999px;background:rgba(255,255,255,.9)");
	}
	add("left:-10%;width:60%;top:30%;height:28%;background:#5c8fb0;clip-path:polygon(0 100%,35% 15%,55% 55%,75% 0,100% 100%)");
	add("left:40%;width:70%;top:36%;height:22%;background:#6f9fbd;clip-path:polygon(0 100%,30% 20%,50% 60%,80% 5%,100% 100%)");
	add("left:0;right:0;top:58%;height:6%;background:#5aa84a");
	add("left:0;right:0;top:78%;bottom:0;background:#8b6a43");
	add("left:0;right:0;top:76%;height:3%;background:#6bbf4f");
	for (const x of [8, 22, 64, 86]) {
		add("left:" + (x + 1.1) + "%;top:62%;width:0.8%;height:10%;background:#6b4a2b");
		add("left:" + x + "%;top:52%;width:3%;height:14%;border-radius:50% 50% 45% 45%;background:#2f7a36");
	}
	add("left:30%;top:65%;width:2.6%;height:11%;border-radius:1vh 1vh .4vh .4vh;background:#d94f3d");
	add("left:30.4%;top:61%;width:1.8%;height:5%;border-radius:50%;background:#f2c9a0");
	add("left:55%;top:71%;width:4%;height:5%;border-radius:50% 50% 12% 12%;background:#8fd14f;box-shadow:inset 0 -.6vh 0 #6aa83a");
	const bar = (top, colour, full) => {
		add("left:2%;top:" + top + "%;width:18%;height:2.2%;box-sizing:border-box;background:rgba(0,0,0,.55);border:.2vh solid #fff;border-radius:.6vh");
		add("left:2.3%;top:" + (top + 0.5) + "%;width:" + (17.4 * full) + "%;height:1.2%;background:" + colour + ";border-radius:.3vh");
	};
	bar(3, "#e0443e", 0.87);
	bar(6.5, "#3e7be0", 0.66);
	add("left:2%;top:10%;padding:.6vh 1vh;background:rgba(0,0,0,.55);border-radius:.6vh", "LV 12");
	add("right:2%;top:3%;padding:.8vh 1.4vh;background:rgba(0,0,0,.55);border-radius:.6vh", "SCORE 012,450");
	add("right:2%;bottom:3%;width:12%;aspect-ratio:1;box-sizing:border-box;background:rgba(20,40,20,.7);border:.3vh solid #fff;border-radius:.8vh");
	add("right:7.5%;bottom:9%;width:1vh;height:1vh;border-radius:50%;background:#ffd84a");
	for (let i = 0; i < 6; i++) add("left:" + (35 + i * 5.2) + "%;bottom:3%;width:4.4%;aspect-ratio:1;box-sizing:border-box;background:rgba(0,0,0,.5);border:.2vh solid rgba(255,255,255,.8);border-radius:.6vh");
	document.body.append(s);
})(); undefined`

// TestBrowserOverlayAlertScalesOverAScene: a big cheer plays over a game scene with the
// defaults (the generated gem and fanfare, the biggest treatment), in a box that covers the scene
// behind it and is half as big in a browser source half as big.
func TestBrowserOverlayAlertScalesOverAScene(t *testing.T) {
	chromium := chromiumPath(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db, "OVERLAY_ALERT_DURATION", "60s")
		secret := app.eventsubSecret(t)
		b := openBrowser(t, chromium)
		b.do(chromedp.Navigate(app.URL + "/"))
		if resp := b.clickAndLoad(`[data-testid="demo-sign-in"]`); resp.Status != http.StatusOK {
			t.Fatalf("the demo sign-in loaded %s with %d, want 200", resp.URL, resp.Status)
		}
		overlayPath := b.rotateOverlay("")
		b.viewport(1920, 1080)
		b.do(chromedp.Navigate(app.URL + overlayPath))
		b.poll("the overlay's stream to open", `document.body.dataset.state === "live"`)
		b.do(chromedp.Evaluate[chromedp.Void](gameScene))

		mustDeliver(t, app.URL, notification(t, secret, app.URL, eventsub.ChannelCheer, "1", map[string]any{
			"is_anonymous": false, "user_id": "81003", "user_login": "cosmic_gamer", "user_name": "CosmicGamer",
			"broadcaster_user_id": demoBroadcaster, "broadcaster_user_login": "demo_streamer", "broadcaster_user_name": "Demo Streamer",
			"message": "Cheer10000 for the dragon fight, you earned every one of these", "bits": 10000,
		}))
		b.poll("the cheer with the default gem and fanfare", alertPlaying(`/assets/alerts/gem.`, `/assets/alerts/fanfare.`))
		if detail := browserRun(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="alert"] .alert-detail').textContent`)); detail != "for the dragon fight, you earned every one of these" {
			t.Errorf("the cheer's message reads %q on stream, want it without its cheermote", detail)
		}
		// Wait for the enter animation to finish (headless tabs advance animations on frames asked for).
		b.do(chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => a.playState !== "running" || a.effect.getTiming().iterations === Infinity)`,
			chromedp.WithPollingTimeout(hangGuard)))
		box := b.alertBox()
		if box.Level != "3" || box.Alpha != 1 || box.DetailPx < 28 || box.Width < 800 || box.Right > 1920 || box.Bottom > 1080 {
			t.Errorf("the 10,000-bit alert at 1920×1080: %+v; want level 3, an opaque box, a detail line of at least 28 px, inside the canvas", box)
		}
		// The same alert in a source half as big is half as big.
		b.viewport(960, 540)
		half := b.alertBox()
		if r := half.Width / box.Width; r < 0.45 || r > 0.55 {
			t.Errorf("at 960×540 the box is %.0f px wide, at 1920×1080 %.0f px: want half", half.Width, box.Width)
		}
		if os.Getenv("UPDATE_SCREENSHOT") == "1" && db.Name == "sqlite" {
			b.viewport(1280, 720) // the README's size
			shot := browserRun(b, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
				r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
				if err != nil {
					return nil, err
				}
				return r.Data, nil
			})
			if err := os.WriteFile(alertScreenshotPath, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", alertScreenshotPath, len(shot))
		}

		// Skipped, it leaves with its exit animation.
		b.do(chromedp.Evaluate[chromedp.Void](`window.__animations = [];
			document.addEventListener("animationstart", (e) => window.__animations.push(e.animationName)); undefined`))
		b.overlayControl("skip", "skip")
		b.poll("the alert to leave with its exit animation", `document.querySelector('[data-testid="alert"]').hidden && window.__animations.includes("alert-out")`)

		// With reduced motion asked for, the next alert only fades in.
		b.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, cdp.Command[map[string]any, cdp.Empty]{Method: "Emulation.setEmulatedMedia"},
				map[string]any{"features": []map[string]string{{"name": "prefers-reduced-motion", "value": "reduce"}}})
			return chromedp.Void{}, err
		})
		mustDeliver(t, app.URL, newFollow(t, secret, app.URL, demoBroadcaster, eventsub.Follower{ID: "81004", Login: "calm_carla", Name: "Calm_Carla"}))
		b.waitPlayed("Calm_Carla followed")
		if name := browserRun(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-testid="alert"]')).animationName`)); name != "alert-fade" {
			t.Errorf("with prefers-reduced-motion the alert enters with %q, want alert-fade", name)
		}
		b.expectNoExceptions()
	})
}

// alertShape is the alert box as drawn.
type alertShape struct {
	Level                string
	Width, Right, Bottom float64
	Alpha                float64 // of the box's background colour
	DetailPx             float64 // the message line's font size
}

func (b *browser) alertBox() alertShape {
	b.t.Helper()
	return browserRun(b, chromedp.Evaluate[alertShape](`(() => {
		const box = document.querySelector('[data-testid="alert"]');
		const r = box.getBoundingClientRect();
		const bg = getComputedStyle(box).backgroundColor.match(/[\d.]+/g).map(Number);
		return { Level: box.dataset.level, Width: r.width, Right: r.right, Bottom: r.bottom, Alpha: bg.length > 3 ? bg[3] : 1,
			DetailPx: parseFloat(getComputedStyle(box.querySelector(".alert-detail")).fontSize) };
	})()`))
}

// viewport sizes the tab's page as a browser source of width×height.
func (b *browser) viewport(width, height int) {
	b.t.Helper()
	b.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdp.Command[map[string]any, cdp.Empty]{Method: "Emulation.setDeviceMetricsOverride"},
			map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false})
		return chromedp.Void{}, err
	})
}

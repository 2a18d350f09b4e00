package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// alertRow is the settings form's row of one alert type.
func alertRow(d *goquery.Document, typ string) *goquery.Selection {
	return d.Find(`[data-testid=overlay-alert-setting][data-type="` + typ + `"]`)
}

func checked(s *goquery.Selection) bool {
	_, on := s.Attr("checked")
	return on
}

// Saving the alert settings with htmx answers in place: the form as saved with "Saved", or the
// form with the posted values and each error beside its field. The answer holds nothing else of
// the panel (a just-made overlay URL, the preview frame stay as they are on the page), and the
// preview picker keeps its choice. Without htmx, errors come on a page with the form, not a
// dead-end error page.
func TestAlertSettingsSaveInPlace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		b.rotateOverlay()
		b.page("/dashboard") // fresh CSRF token
		form := url.Values{"csrf_token": {b.csrf}, "preview_type": {eventsub.ChannelRaid},
			"enabled_" + eventsub.ChannelFollow: {"1"}, "template_" + eventsub.ChannelFollow: {"Welcome {user}!"},
			"enabled_" + eventsub.ChannelCheer: {"1"}, "duration_" + eventsub.ChannelCheer: {"7"}}

		r := b.postForm("/dashboard/overlay/alerts", form, "HX-Request", "true")
		d := r.doc(t)
		if r.status != http.StatusOK || d.Find(`form#overlay-alerts [data-testid=overlay-alerts-saved]`).Length() != 1 {
			t.Fatalf("save with htmx: %d %q, want the form saying Saved", r.status, r.body)
		}
		if d.Find(`[data-testid=overlay-url], [data-testid=overlay-preview], [data-testid=overlay-rotate]`).Length() != 0 {
			t.Fatal("the answer replaces more than the form")
		}
		if got := d.Find(`select[name=preview_type] option[selected]`).AttrOr("value", ""); got != eventsub.ChannelRaid {
			t.Fatalf("preview picker after saving: %q, want %s", got, eventsub.ChannelRaid)
		}
		if got := alertRow(d, eventsub.ChannelCheer).Find(`input[type=number]`).AttrOr("value", ""); got != "7" {
			t.Fatalf("saved duration shown as %q", got)
		}

		// Bad values: 400, each named beside its field, the posted values kept, nothing saved.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("template_"+eventsub.ChannelFollow, "{user} brought {amount}")
		bad.Set("duration_"+eventsub.ChannelCheer, "90")
		r = b.postForm("/dashboard/overlay/alerts", bad, "HX-Request", "true")
		d = r.doc(t)
		if r.status != http.StatusBadRequest || d.Find(`form#overlay-alerts [data-testid=overlay-alerts-errors]`).Length() != 1 {
			t.Fatalf("bad values with htmx: %d %q, want 400 and the form with its errors", r.status, r.body)
		}
		follow := alertRow(d, eventsub.ChannelFollow)
		msg := follow.Find(`[data-testid=alert-error][data-field="template_channel.follow"]`).Text()
		if !strings.Contains(msg, "Follows") || !strings.Contains(msg, "{amount}") {
			t.Fatalf("the follow template's error says %q, want the type and the placeholder", msg)
		}
		if in := follow.Find(`input[type=text]`); in.AttrOr("value", "") != "{user} brought {amount}" || in.AttrOr("aria-invalid", "") != "true" {
			t.Fatalf("the follow template's field lost the posted value or is not marked: %q", in.AttrOr("value", ""))
		}
		cheer := alertRow(d, eventsub.ChannelCheer)
		if cheer.Find(`[data-testid=alert-error][data-field="duration_channel.cheer"]`).Length() != 1 || cheer.Find(`input[type=number]`).AttrOr("value", "") != "90" {
			t.Fatal("the cheer duration's error is not beside it, with the posted value")
		}
		if got := d.Find(`select[name=preview_type] option[selected]`).AttrOr("value", ""); got != eventsub.ChannelRaid {
			t.Fatalf("preview picker after an error: %q", got)
		}
		if got := alertRow(b.page("/dashboard"), eventsub.ChannelFollow).Find(`input[type=text]`).AttrOr("value", ""); got != "Welcome {user}!" {
			t.Fatalf("a refused save changed the saved template to %q", got)
		}

		// A look-and-sound field refused: said at the top of the form, the values typed kept.
		styled := url.Values{}
		for k, v := range form {
			styled[k] = v
		}
		styled.Set("style_sound_channel.cheer", "http://example.com/a.mp3")
		styled.Set("template_"+eventsub.ChannelCheer, "{user} cheered {amount}")
		r = b.postForm("/dashboard/overlay/alerts", styled, "HX-Request", "true")
		d = r.doc(t)
		if msg := d.Find(`[data-testid=alert-error][data-field=style]`).Text(); r.status != http.StatusBadRequest || !strings.Contains(msg, "Cheers") || !strings.Contains(msg, "https://") {
			t.Fatalf("a refused sound URL: %d, the form says %q", r.status, msg)
		}
		if d.Find(`input[name="style_sound_channel.cheer"]`).AttrOr("value", "") != "http://example.com/a.mp3" ||
			alertRow(d, eventsub.ChannelCheer).Find(`input[type=text]`).AttrOr("value", "") != "{user} cheered {amount}" {
			t.Fatal("a refused sound URL lost the values typed")
		}

		// Without htmx: the errors on a page with the form and the way back, status 400.
		r = b.postForm("/dashboard/overlay/alerts", bad)
		d = r.doc(t)
		if r.status != http.StatusBadRequest || d.Find(`header`).Length() == 0 || d.Find(`a[href="/dashboard"]`).Length() == 0 ||
			d.Find(`#overlay-panel[open] form#overlay-alerts`).Length() != 1 ||
			!strings.Contains(alertRow(d, eventsub.ChannelFollow).Find(`[data-testid=alert-error]`).Text(), "{amount}") ||
			alertRow(d, eventsub.ChannelFollow).Find(`input[type=text]`).AttrOr("value", "") != "{user} brought {amount}" {
			t.Fatalf("bad values without htmx: %d %q, want a page with the form, its errors and the posted values", r.status, r.body)
		}
		// And a good save without htmx goes back to the dashboard.
		if r := b.postForm("/dashboard/overlay/alerts", form); r.status != http.StatusSeeOther {
			t.Fatalf("save without htmx: %d, want 303", r.status)
		}
	})
}

// Safe mode and the Follows row's "On" box are one switch: each shows the other's change, and
// each answer in place updates the other on the page.
func TestSafeModeIsTheFollowSwitch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		b.rotateOverlay()
		state := func() (safe string, followOn bool) {
			d := b.page("/dashboard")
			return d.Find(`[data-testid=overlay-safe-mode]`).AttrOr("data-on", ""), checked(alertRow(d, eventsub.ChannelFollow).Find(`input[type=checkbox]`))
		}
		if safe, on := state(); safe != "false" || !on {
			t.Fatalf("at first: safe mode %s, follows on %v", safe, on)
		}

		r := b.postForm("/dashboard/overlay/safe-mode", url.Values{"csrf_token": {b.csrf}, "on": {"1"}}, "HX-Request", "true")
		box := r.doc(t).Find(`input#alert-on-channel-follow[hx-swap-oob]`)
		if r.status != http.StatusOK || box.Length() != 1 || checked(box) {
			t.Fatalf("safe mode on: %d %q, want the form's follow box, unchecked, swapped in too", r.status, r.body)
		}
		if safe, on := state(); safe != "true" || on {
			t.Fatalf("after safe mode on: safe mode %s, follows on %v", safe, on)
		}

		// The form's box turns follows back on, and the answer puts the safe-mode switch right.
		b.page("/dashboard")
		form := url.Values{"csrf_token": {b.csrf}, "enabled_" + eventsub.ChannelFollow: {"1"}}
		r = b.postForm("/dashboard/overlay/alerts", form, "HX-Request", "true")
		if got := r.doc(t).Find(`#overlay-safe-mode-form[hx-swap-oob] [data-testid=overlay-safe-mode]`).AttrOr("data-on", ""); r.status != http.StatusOK || got != "false" {
			t.Fatalf("save with follows on: %d, the swapped-in safe mode says on=%q", r.status, got)
		}
		if safe, on := state(); safe != "false" || !on {
			t.Fatalf("after turning follows on in the form: safe mode %s, follows on %v", safe, on)
		}
		form.Del("enabled_" + eventsub.ChannelFollow)
		if r := b.postForm("/dashboard/overlay/alerts", form, "HX-Request", "true"); r.status != http.StatusOK {
			t.Fatalf("save with follows off: %d", r.status)
		}
		if safe, on := state(); safe != "true" || on {
			t.Fatalf("after turning follows off in the form: safe mode %s, follows on %v", safe, on)
		}
	})
}

// A test alert of a type that is off plays nothing and says why; in safe mode the follow test
// says it is suppressed. The overlay gets nothing from either.
func TestTestAlertOfAnOffTypeSaysWhy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay() + "/stream"
		s := b.streamAt(path, "")
		s.next() // ready
		test := func(typ string, headers ...string) (reply, *goquery.Selection) {
			t.Helper()
			r := b.postForm("/dashboard/overlay/test-alert", url.Values{"csrf_token": {b.csrf}, "type": {typ}}, headers...)
			return r, r.doc(t).Find(`[data-testid=overlay-test-result]`)
		}

		r, res := test(eventsub.StreamOnline, "HX-Request", "true") // off by default
		if r.status != http.StatusOK || res.AttrOr("data-played", "") != "false" ||
			strings.TrimSpace(res.Text()) != "Alerts for Stream online are off — turn them on in alert settings." {
			t.Fatalf("test of an off type: %d %q", r.status, r.body)
		}
		// Without htmx the reason is on a page, not lost to a redirect.
		if r, res := test(eventsub.StreamOnline); r.status != http.StatusOK || !strings.Contains(res.Text(), "are off") {
			t.Fatalf("test of an off type without htmx: %d %q", r.status, r.body)
		}

		if r := b.postForm("/dashboard/overlay/safe-mode", url.Values{"csrf_token": {b.csrf}, "on": {"1"}}, "HX-Request", "true"); r.status != http.StatusOK {
			t.Fatalf("safe mode: %d", r.status)
		}
		if r, res := test(eventsub.ChannelFollow, "HX-Request", "true"); r.status != http.StatusOK || res.AttrOr("data-played", "") != "false" ||
			!strings.Contains(res.Text(), "Safe mode is on") || !strings.Contains(res.Text(), "suppressed") {
			t.Fatalf("test follow in safe mode: %d %q", r.status, r.body)
		}

		// Neither played: the next alert on the overlay is the cheer tested after them.
		if r, res := test(eventsub.ChannelCheer, "HX-Request", "true"); r.status != http.StatusOK || res.AttrOr("data-played", "") != "true" {
			t.Fatalf("test cheer: %d %q", r.status, r.body)
		}
		if a := s.nextAlert(); a.Type != eventsub.ChannelCheer {
			t.Fatalf("the overlay played %+v, want only the test cheer", a)
		}
	})
}

// The preview frame is a 1920×1080 page: what OBS shows, scaled down by the page's CSS.
func TestPreviewFrameIsFullHD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		b.rotateOverlay()
		d := b.page("/dashboard")
		f := d.Find(`[data-testid=overlay-preview-frame] iframe[name=overlay-preview]`)
		if f.AttrOr("width", "") != "1920" || f.AttrOr("height", "") != "1080" {
			t.Fatalf("preview frame %v x %v, want 1920 x 1080", f.AttrOr("width", ""), f.AttrOr("height", ""))
		}
		// The scale and the in-place errors come from app.js: no inline script.
		d.Find(`#overlay-panel *`).Each(func(_ int, el *goquery.Selection) {
			for _, a := range el.Nodes[0].Attr {
				if strings.HasPrefix(a.Key, "on") || strings.HasPrefix(a.Key, "hx-on") {
					t.Errorf("<%s %s=%q> in the overlay panel: inline script", el.Nodes[0].Data, a.Key, a.Val)
				}
			}
		})
	})
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

var (
	testPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	testWAV = append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 40)...)
)

// styledAlert is an overlay alert with its look and sound.
type styledAlert struct {
	ID         int64 `json:"id"`
	DurationMs int   `json:"duration_ms"`
	Style      struct {
		Image, Sound, Layout string
		Volume               float64
		TextColor            string `json:"text_color"`
		NameColor            string `json:"name_color"`
		Background           string
		FontSize             int `json:"font_size"`
		Tier, Level          int
	} `json:"style"`
}

func (s *stream) nextStyled() styledAlert {
	s.t.Helper()
	ev := s.until(func(ev sseEvent) bool { return ev.Type == "alert" })
	var a styledAlert
	if err := json.Unmarshal([]byte(ev.Data), &a); err != nil {
		s.t.Fatalf("alert data %q: %v", ev.Data, err)
	}
	return a
}

// postMultipart submits the alert settings form with files (field name to bytes).
func (b *browser) postMultipart(path string, form url.Values, files map[string][]byte) reply {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	for name, data := range files {
		f, _ := w.CreateFormFile(name, "upload.bin")
		_, _ = f.Write(data)
	}
	_ = w.Close()
	return b.do(newRequest(b.t, http.MethodPost, b.e.url+path, &body, "Content-Type", w.FormDataContentType()))
}

func (e *env) insertCheer(bits int) *store.Event {
	e.t.Helper()
	ev := &store.Event{MessageID: eventsub.NewID(), SubscriptionID: "sub", Type: eventsub.ChannelCheer, Version: "1", BroadcasterID: demoID,
		UserID: "4242", UserLogin: "bits_bob", UserName: "Bits_Bob", OccurredAt: time.Now(), ReceivedAt: time.Now(),
		Payload: fmt.Sprintf(`{"bits": %d, "message": "hi"}`, bits)}
	if _, err := e.store.InsertEvent(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// TestOverlayAlertStyle: per-type image and sound (uploads or https URLs), volume, layout,
// colours, font size and tiers are saved from the settings form, checked with messages that
// name the field, served without a session, and reach the overlay's alerts; uploads no alert
// uses any more are deleted.
func TestOverlayAlertStyle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		path := b.rotateOverlay()
		cheer := func(name string) string { return "style_" + name + "_" + eventsub.ChannelCheer }
		tier := func(name string, i int) string {
			return "tier_" + name + "_" + strconv.Itoa(i) + "_" + eventsub.ChannelCheer
		}
		form := func(edit func(url.Values)) url.Values {
			v := url.Values{"csrf_token": {b.csrf}, "enabled_" + eventsub.ChannelCheer: {"1"},
				cheer("volume"): {"50"}, cheer("layout"): {"beside"}, cheer("text_color"): {"#FFFFFF"},
				cheer("name_color"): {"#bf94ff"}, cheer("background"): {"#000000"}, cheer("font_size"): {"60"},
				tier("min", 1): {"1000"}, tier("seconds", 1): {"12"}}
			if edit != nil {
				edit(v)
			}
			return v
		}

		// Refused, with the field named.
		for _, c := range []struct {
			name  string
			edit  func(url.Values)
			files map[string][]byte
			want  string
		}{
			{"text as an image", nil, map[string][]byte{cheer("image_file"): []byte("just text")}, "The Cheers alert's image file is not a PNG, GIF, JPEG or WebP image"},
			{"SVG as an image", nil, map[string][]byte{cheer("image_file"): []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)}, "image file is not a PNG"},
			{"an image as a sound", nil, map[string][]byte{tier("sound_file", 1): testPNG}, "tier 2 sound file is not an MP3, Ogg or WAV sound"},
			{"too big", nil, map[string][]byte{cheer("image_file"): append(testPNG, make([]byte, 2<<20)...)}, "image file is larger than 2 MiB"},
			{"http URL", func(v url.Values) { v.Set(cheer("sound"), "http://example.com/a.mp3") }, nil, "sound must be an https:// URL or an upload"},
			{"someone else's upload", func(v url.Values) { v.Set(cheer("image"), "/media/AAAAAAAAAAAAAAAAAAAAAA") }, nil, "image is not one of your uploads"},
			{"volume", func(v url.Values) { v.Set(cheer("volume"), "0") }, nil, "volume must be 1 to 100"},
			{"font size", func(v url.Values) { v.Set(cheer("font_size"), "500") }, nil, "font size must be 16 to 160"},
			{"colour", func(v url.Values) { v.Set(cheer("background"), "red;x") }, nil, "background colour must be a colour"},
			{"tier without minimum", func(v url.Values) { v.Set(tier("sound", 0), "https://example.com/a.mp3") }, nil, "tier 1 needs a minimum number of bits"},
			{"same minimum", func(v url.Values) { v.Set(tier("min", 0), "1000") }, nil, "tier 2 has the same minimum"},
		} {
			r := b.postMultipart("/dashboard/overlay/alerts", form(c.edit), c.files)
			if r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), c.want) { // the form's page, with the error beside it
				t.Errorf("%s: %d, want 400 saying %q: %s", c.name, r.status, c.want, r.body)
			}
		}

		// Every accepted kind, told by its bytes.
		for name, f := range map[string]map[string][]byte{
			"GIF":             {cheer("image_file"): []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
			"JPEG":            {cheer("image_file"): []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")},
			"WebP":            {cheer("image_file"): []byte("RIFF\x1a\x00\x00\x00WEBPVP8 ")},
			"MP3 with ID3":    {cheer("sound_file"): []byte("ID3\x03\x00\x00\x00\x00\x00\x00")},
			"MP3 without ID3": {cheer("sound_file"): []byte("\xff\xfb\x90\x64\x00\x00\x00\x00")},
			"Ogg":             {cheer("sound_file"): []byte("OggS\x00\x02\x00\x00\x00\x00")},
		} {
			if r := b.postMultipart("/dashboard/overlay/alerts", form(nil), f); r.status != http.StatusSeeOther {
				t.Errorf("%s upload: %d %s", name, r.status, r.body)
			}
		}

		// An image for the type and a sound for its 1,000-bit tier, uploaded.
		r := b.postMultipart("/dashboard/overlay/alerts", form(nil), map[string][]byte{cheer("image_file"): testPNG, tier("sound_file", 1): testWAV})
		if r.status != http.StatusSeeOther {
			t.Fatalf("save with uploads: %d %s", r.status, r.body)
		}
		d := b.page("/dashboard")
		st := d.Find(`[data-testid=alert-style][data-type="` + eventsub.ChannelCheer + `"]`)
		image := st.Find(`input[name="`+cheer("image")+`"]`).AttrOr("value", "")
		sound := st.Find(`input[name="`+tier("sound", 0)+`"]`).AttrOr("value", "")
		if !strings.HasPrefix(image, "/media/") || !strings.HasPrefix(sound, "/media/") ||
			st.Find(`input[name="`+tier("min", 0)+`"]`).AttrOr("value", "") != "1000" ||
			st.Find(`select[name="`+cheer("layout")+`"] option[selected]`).AttrOr("value", "") != "beside" {
			t.Fatalf("the form does not show the saved style: image %q, tier sound %q", image, sound)
		}
		if st.Find(`[data-testid=style-image-now]`).AttrOr("src", "") != image || !strings.HasPrefix(st.Find(`[data-testid=style-sound-now]`).AttrOr("src", ""), "/assets/alerts/chime.") {
			t.Fatal("the form does not show the image and sound that play now")
		}

		// Served to anyone with the id (the overlay has no session), cached for a year.
		for _, c := range []struct{ path, typ string }{{image, "image/png"}, {sound, "audio/wav"}} {
			r := e.get(c.path)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != c.typ || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Fatalf("GET %s: %d %q %q", c.path, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
			}
			if again := e.get(c.path, "If-None-Match", r.header.Get("ETag")); again.status != http.StatusNotModified {
				t.Fatalf("GET %s with its ETag: %d, want 304", c.path, again.status)
			}
		}
		if r := e.get("/media/AAAAAAAAAAAAAAAAAAAAAA"); r.status != http.StatusNotFound {
			t.Fatalf("unknown media: %d", r.status)
		}

		// The alerts: below the tier the type's look; from 1,000 bits the tier's sound and duration.
		start := e.insertCheer(1)
		e.insertCheer(999)
		e.insertCheer(1000)
		s := b.streamAt(path+"/stream", strconv.FormatInt(start.ID, 10)) // what it missed: the two cheers
		a := s.nextStyled()
		if a.Style.Image != image || !strings.HasPrefix(a.Style.Sound, "/assets/alerts/chime.") || a.Style.Volume != .5 || a.Style.Layout != "beside" ||
			a.Style.TextColor != "#ffffff" || a.Style.NameColor != "#bf94ff" || a.Style.Background != "#000000" || a.Style.FontSize != 60 ||
			a.Style.Tier != 0 || a.DurationMs != 0 {
			t.Fatalf("999 bits: %+v", a)
		}
		if a := s.nextStyled(); a.Style.Image != image || a.Style.Sound != sound || a.Style.Tier != 1 || a.Style.Level != 1 || a.DurationMs != 12000 {
			t.Fatalf("1,000 bits: %+v", a)
		}
		s.Close()

		// The image becomes a URL: the upload no alert uses any more is deleted.
		r = b.postMultipart("/dashboard/overlay/alerts", form(func(v url.Values) {
			v.Set(cheer("image"), "https://cdn.example.com/cheer.gif")
			v.Set(tier("sound", 1), sound)
		}), nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", r.status, r.body)
		}
		if r := e.get(image); r.status != http.StatusNotFound {
			t.Fatalf("the replaced upload is still served: %d", r.status)
		}
		if r := e.get(sound); r.status != http.StatusOK {
			t.Fatalf("the upload still in use is gone: %d", r.status)
		}
	})
}

package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/assets"
)

const (
	maxMedia        = 2 << 20  // bytes of one uploaded image or sound
	maxSettingsBody = 24 << 20 // bytes of the alert settings form with its uploads
)

// overlayMedia serves an uploaded image or sound. The overlay page has no session, so the
// random id is what it needs; it names one upload's bytes forever, so browsers keep it a year.
func (s *Server) overlayMedia(c *gin.Context) error {
	id := c.Param("id")
	if _, ok := overlay.MediaID(overlay.MediaPath + id); !ok {
		return notFoundErr("There is no such image or sound.")
	}
	m, err := s.store.MediaByID(c.Request.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFoundErr("There is no such image or sound.")
	case err != nil:
		return unavailable("The database is not answering.", err)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", m.ContentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+m.SHA256+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// ServeContent answers If-None-Match and the Range requests audio elements make.
	http.ServeContent(c.Writer, c.Request, "", m.CreatedAt, bytes.NewReader(m.Data))
	return nil
}

// alertDefaults are the generated images and sounds (assets/alerts) that play unless the
// streamer chose their own; the server works them out once.
func alertDefaults(cat *assets.Catalog) overlay.Defaults {
	img := func(name string) string { return cat.URL("alerts/" + name + ".svg") }
	return overlay.Defaults{
		Image: map[string]string{
			eventsub.ChannelFollow:            img("heart"),
			eventsub.ChannelSubscribe:         img("star"),
			eventsub.ChannelSubscriptionMsg:   img("star"),
			eventsub.ChannelSubscriptionGift:  img("gift"),
			eventsub.ChannelCheer:             img("gem"),
			eventsub.ChannelRaid:              img("people"),
			eventsub.ChannelHypeTrainBegin:    img("bolt"),
			eventsub.ChannelHypeTrainProgress: img("bolt"),
			eventsub.ChannelHypeTrainEnd:      img("bolt"),
			"":                                img("bell"),
		},
		Sound:    cat.URL("alerts/chime.wav"),
		BigSound: cat.URL("alerts/fanfare.wav"),
	}
}

// upload is an image or sound from the settings form, checked but not stored yet.
type upload struct {
	field       string // the style field it fills, e.g. "image" or "tier 2 sound"
	contentType string
	data        []byte
	set         func(ref string) // puts the stored upload's reference into the style
}

// readUpload reads an uploaded file for a style field of kind "image" or "sound". It checks the
// size and, by sniffing the bytes (never the file name or the browser's word), the type.
func readUpload(fh *multipart.FileHeader, kind string) ([]byte, string, error) {
	if fh.Size > maxMedia {
		return nil, "", fmt.Errorf("is larger than %d MiB", maxMedia>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "", fmt.Errorf("could not be read")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMedia+1))
	if err != nil || len(data) > maxMedia {
		return nil, "", fmt.Errorf("is larger than %d MiB", maxMedia>>20)
	}
	typ := sniffMedia(data)
	switch {
	case kind == "image" && !imageTypes[typ]:
		return nil, "", fmt.Errorf("is not a PNG, GIF, JPEG or WebP image")
	case kind == "sound" && !soundTypes[typ]:
		return nil, "", fmt.Errorf("is not an MP3, Ogg or WAV sound")
	}
	return data, typ, nil
}

var (
	imageTypes = map[string]bool{"image/png": true, "image/gif": true, "image/jpeg": true, "image/webp": true}
	soundTypes = map[string]bool{"audio/mpeg": true, "audio/ogg": true, "audio/wav": true}
)

// sniffMedia is the content type of an upload by its first bytes ("" for none we accept).
func sniffMedia(data []byte) string {
	switch typ := http.DetectContentType(data); typ {
	case "image/png", "image/gif", "image/jpeg", "image/webp", "audio/mpeg":
		return typ
	case "application/ogg":
		return "audio/ogg"
	case "audio/wave":
		return "audio/wav"
	}
	// An MP3 without an ID3 tag starts with a frame sync: 11 bits set, MPEG audio layer III.
	if len(data) > 2 && data[0] == 0xFF && data[1]&0xE0 == 0xE0 && data[1]&0x06 == 0x02 {
		return "audio/mpeg"
	}
	return ""
}

// storeUploads stores the checked uploads and fills their references into the styles.
func (s *Server) storeUploads(c *gin.Context, broadcaster string, ups []upload) error {
	for _, u := range ups {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		sum := sha256.Sum256(u.data)
		m := &store.Media{ID: base64.RawURLEncoding.EncodeToString(b), BroadcasterID: broadcaster, ContentType: u.contentType,
			SHA256: hex.EncodeToString(sum[:]), Data: u.data, CreatedAt: s.now()}
		if err := s.store.SaveMedia(c.Request.Context(), m); err != nil {
			return unavailable("The uploads could not be saved: the database is not answering.", err)
		}
		u.set(overlay.MediaPath + m.ID)
	}
	return nil
}

// dropUnusedMedia deletes the streamer's uploads that no alert uses after a save.
func (s *Server) dropUnusedMedia(c *gin.Context, broadcaster string, settings []store.AlertSetting) {
	var keep []string
	for _, set := range settings {
		st, _ := overlay.ParseStyle(set.Style)
		keep = append(keep, st.MediaIDs()...)
	}
	if err := s.store.DeleteMediaExcept(c.Request.Context(), broadcaster, keep); err != nil {
		s.log.Warn("delete unused overlay media", "broadcaster_id", broadcaster, "err", err)
	}
}

// limitBody caps a request's body, before anything reads it.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

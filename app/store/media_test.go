package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestMediaAndStyle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "h", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\xff binary")
		for _, m := range []store.Media{
			{ID: "keep", BroadcasterID: "100", ContentType: "image/png", SHA256: "abc", Data: png, CreatedAt: time.Now()},
			{ID: "unused", BroadcasterID: "100", ContentType: "audio/wave", SHA256: "def", Data: []byte("RIFF"), CreatedAt: time.Now()},
			{ID: "other", BroadcasterID: "200", ContentType: "image/gif", SHA256: "ghi", Data: []byte("GIF89a"), CreatedAt: time.Now()},
		} {
			if err := s.SaveMedia(ctx, &m); err != nil {
				t.Fatal(err)
			}
		}
		m, err := s.MediaByID(ctx, "keep")
		if err != nil || m.BroadcasterID != "100" || m.ContentType != "image/png" || !bytes.Equal(m.Data, png) {
			t.Fatalf("media: %+v, %v", m, err)
		}
		if _, err := s.MediaByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown media: %v, want ErrNotFound", err)
		}
		if err := s.DeleteMediaExcept(ctx, "100", []string{"keep"}); err != nil {
			t.Fatal(err)
		}
		ids, err := s.MediaIDsOf(ctx, "100")
		if err != nil || len(ids) != 1 || !ids["keep"] {
			t.Fatalf("after deleting the unused: %v, %v", ids, err)
		}

		style := `{"image":"/media/keep","volume":50}`
		if err := s.SaveAlertSettings(ctx, "100", []store.AlertSetting{{Type: "channel.cheer", Enabled: true, Style: style}}, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AlertSettings(ctx, "100"); err != nil || got["channel.cheer"].Style != style {
			t.Fatalf("style %+v, %v", got, err)
		}

		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MediaByID(ctx, "keep"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("media after account deletion: %v", err)
		}
		if _, err := s.MediaByID(ctx, "other"); err != nil {
			t.Fatalf("another streamer's media: %v", err)
		}
		if err := s.DeleteMediaExcept(ctx, "200", nil); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.MediaIDsOf(ctx, "200"); len(ids) != 0 {
			t.Fatalf("keep nothing: %v", ids)
		}
	})
}

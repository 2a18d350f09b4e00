package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestOverlayRotationAndSafeMode(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.OverlayOf(ctx, "100"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("overlay before any: %v, want ErrNotFound", err)
		}
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "old", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveAlertSettings(ctx, "100", []store.AlertSetting{{Type: "channel.follow", Enabled: true, Template: "Hi {user}"}}, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAlertEnabled(ctx, "100", "channel.follow", false); err != nil { // safe mode on
			t.Fatal(err)
		}
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "new", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverlayByTokenHash(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rotated-away token: %v, want ErrNotFound", err)
		}
		ov, err := s.OverlayByTokenHash(ctx, "new")
		if err != nil || ov.BroadcasterID != "100" {
			t.Fatalf("new token: %+v, %v; want streamer 100", ov, err)
		}
		if got, err := s.AlertSettings(ctx, "100"); err != nil || got["channel.follow"].Enabled || got["channel.follow"].Template != "Hi {user}" {
			t.Fatalf("follow setting %+v, %v; want safe mode (follows off) kept across rotation, the template kept", got, err)
		}
		if err := s.SetAlertEnabled(ctx, "100", "channel.raid", false); err != nil { // a type never saved
			t.Fatal(err)
		}
		if got, err := s.AlertSettings(ctx, "100"); err != nil || len(got) != 2 || got["channel.raid"].Enabled {
			t.Fatalf("settings %+v, %v; want raids off too", got, err)
		}
		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverlayByTokenHash(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("overlay after account deletion: %v, want ErrNotFound", err)
		}
	})
}

func TestAlertSettings(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "h", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		want := []store.AlertSetting{
			{Type: "channel.follow", Enabled: false},
			{Type: "channel.cheer", Enabled: true, Template: "{user}: {amount}!", DurationSeconds: 9},
		}
		if err := s.SaveAlertSettings(ctx, "100", want, "body { color: red }"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AlertSettings(ctx, "100")
		if err != nil || len(got) != 2 || got["channel.follow"].Enabled || got["channel.cheer"] != want[1] {
			t.Fatalf("settings %+v, %v; want %+v", got, err, want)
		}
		if ov, err := s.OverlayOf(ctx, "100"); err != nil || ov.CustomCSS != "body { color: red }" {
			t.Fatalf("overlay %+v, %v; want the custom CSS", ov, err)
		}
		if err := s.SaveAlertSettings(ctx, "100", nil, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AlertSettings(ctx, "100"); err != nil || len(got) != 0 {
			t.Fatalf("settings after reset %+v, %v", got, err)
		}
		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
	})
}

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
		if err := s.SetOverlaySafeMode(ctx, "100", true); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "new", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverlayByTokenHash(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rotated-away token: %v, want ErrNotFound", err)
		}
		ov, err := s.OverlayByTokenHash(ctx, "new")
		if err != nil || ov.BroadcasterID != "100" || !ov.SafeMode {
			t.Fatalf("new token: %+v, %v; want streamer 100 with safe mode kept across rotation", ov, err)
		}
		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverlayByTokenHash(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("overlay after account deletion: %v, want ErrNotFound", err)
		}
	})
}

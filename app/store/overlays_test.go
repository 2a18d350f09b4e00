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

func TestQueueRulesAndState(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "h", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if ov, err := s.OverlayOf(ctx, "100"); err != nil || ov.QueueRules != (store.QueueRules{}) {
			t.Fatalf("a new overlay's rules: %+v, %v; want every rule off", ov, err)
		}
		rules := store.QueueRules{Max: 10, BusySeconds: 3, Combine: true}
		if err := s.SaveQueueRules(ctx, "100", rules); err != nil {
			t.Fatal(err)
		}
		// Rotating the URL keeps the rules.
		if err := s.SaveOverlay(ctx, &store.Overlay{BroadcasterID: "100", TokenHash: "h2", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if ov, err := s.OverlayByTokenHash(ctx, "h2"); err != nil || ov.QueueRules != rules {
			t.Fatalf("rules after rotation: %+v, %v; want %+v", ov, err, rules)
		}

		now := time.Now()
		report := func(page string, behind int64, at time.Time) {
			t.Helper()
			st := store.QueueState{BroadcasterID: "100", PageID: page, Waiting: int(behind / 1000), BehindMs: behind, UpdatedAt: at}
			if err := s.SetQueueState(ctx, st, now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		report("old", 1000, now.Add(-2*time.Minute)) // written late, then swept by the next report
		report("a", 5000, now.Add(-20*time.Second))
		report("b", 9000, now)
		report("a", 7000, now) // the same page again: one row, updated
		got, err := s.QueueStates(ctx, "100", now.Add(-30*time.Second))
		if err != nil || len(got) != 2 || got[0].PageID != "b" || got[1].PageID != "a" || got[1].BehindMs != 7000 || !got[1].UpdatedAt.Equal(now.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("queue states %+v, %v; want b (9 s), then a (7 s)", got, err)
		}
		if got, err := s.QueueStates(ctx, "100", now.Add(-3*time.Minute)); err != nil || len(got) != 2 {
			t.Fatalf("queue states since long ago %+v, %v; want the stale row deleted", got, err)
		}
		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.QueueStates(ctx, "100", now.Add(-time.Hour)); err != nil || len(got) != 0 {
			t.Fatalf("queue states after account deletion: %+v, %v", got, err)
		}
	})
}

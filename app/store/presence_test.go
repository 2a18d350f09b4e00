package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestPresence(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().Add(-time.Hour)
		count := func(broadcaster, kind, except string, since time.Time) int {
			t.Helper()
			n, err := s.CountPresence(ctx, broadcaster, kind, except, since)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		set := func(instance, broadcaster, kind string, n int, at time.Time) {
			t.Helper()
			if err := s.SetPresence(ctx, instance, broadcaster, kind, n, at); err != nil {
				t.Fatal(err)
			}
		}

		if got := count("100", "overlay", "", t0); got != 0 {
			t.Fatalf("count with no rows = %d, want 0", got)
		}
		set("a", "100", "overlay", 1, t0)
		set("b", "100", "overlay", 2, t0)
		set("b", "100", "dashboard", 5, t0)
		set("c", "200", "overlay", 7, t0)
		if got := count("100", "overlay", "", t0); got != 3 {
			t.Fatalf("overlays of 100 = %d, want 3", got)
		}
		if got := count("100", "overlay", "a", t0); got != 2 {
			t.Fatalf("overlays of 100 but a's = %d, want 2", got)
		}
		set("b", "100", "overlay", 4, t0) // an upsert replaces the count
		if got := count("100", "overlay", "a", t0); got != 4 {
			t.Fatalf("overlays of 100 after b's update = %d, want 4", got)
		}
		set("b", "100", "overlay", 0, t0) // zero deletes
		if got := count("100", "overlay", "a", t0); got != 0 {
			t.Fatalf("overlays of 100 after b's went to 0 = %d, want 0", got)
		}
		set("b", "100", "overlay", 0, t0) // deleting what is not there is fine

		// Freshness: rows older than since do not count until touched.
		later := t0.Add(time.Minute)
		if got := count("100", "dashboard", "", later); got != 0 {
			t.Fatalf("stale dashboards counted: %d", got)
		}
		if n, err := s.TouchPresence(ctx, "b", later); err != nil || n != 1 {
			t.Fatalf("touch b = %d, %v; want 1 row", n, err)
		}
		if got := count("100", "dashboard", "", later); got != 5 {
			t.Fatalf("dashboards after touch = %d, want 5", got)
		}
		if got := count("100", "overlay", "", later); got != 0 {
			t.Fatalf("a's untouched overlay counted as fresh: %d", got)
		}

		// Stale rows of dead instances go; fresh ones stay.
		n, err := s.DeleteStalePresence(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 { // a's overlay and c's overlay
			t.Fatalf("stale rows deleted = %d, want 2", n)
		}
		if got := count("100", "overlay", "", t0); got != 0 {
			t.Fatalf("a's stale overlay survived: %d", got)
		}
		if got := count("100", "dashboard", "", t0); got != 5 {
			t.Fatalf("b's fresh dashboards deleted: %d", got)
		}

		if err := s.DeletePresence(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if got := count("100", "dashboard", "", t0); got != 0 {
			t.Fatalf("b's rows after DeletePresence: %d", got)
		}
	})
}

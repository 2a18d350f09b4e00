package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// Follows fetched from the history after newer ones arrived live still sort by when they happened.
func TestTimelineOrdersByOccurrenceAndPages(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
		// Stored in this order (ids ascending), happened in another; two share a timestamp.
		happened := []time.Duration{10, 20, 5, 1, 20, 15}
		for i, d := range happened {
			ev := event(fmt.Sprintf("t-%d", i), "1337")
			ev.OccurredAt = base.Add(d * time.Minute).Add(123456789 * time.Nanosecond)
			if _, err := s.InsertEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.InsertEvent(ctx, event("other", "42")); err != nil {
			t.Fatal(err)
		}
		var got []string
		var after store.Cursor
		for {
			page, err := s.Timeline(ctx, "1337", "", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, ev := range page {
				got = append(got, ev.MessageID)
			}
			next, err := store.ParseCursor(store.CursorOf(page[len(page)-1]).String())
			if err != nil {
				t.Fatal(err)
			}
			after = next
		}
		want := []string{"t-4", "t-1", "t-5", "t-0", "t-2", "t-3"} // 20 (newer id first), 20, 15, 10, 5, 1
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("timeline %v, want %v", got, want)
		}
		top, maxID, err := s.TimelineTop(ctx, "1337", 3)
		if err != nil {
			t.Fatal(err)
		}
		newest, _ := s.ListEvents(ctx, "1337", 0, 1)
		if len(top) != 3 || top[0].MessageID != "t-4" || maxID != newest[0].ID {
			t.Fatalf("TimelineTop = %d events (first %s), max id %d; want 3, t-4, %d", len(top), top[0].MessageID, maxID, newest[0].ID)
		}
		if _, maxID, _ := s.TimelineTop(ctx, "nobody", 3); maxID != 0 {
			t.Fatalf("max id of an empty timeline = %d", maxID)
		}
	})
}

func TestParseCursor(t *testing.T) {
	c := store.Cursor{At: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), ID: 42}
	got, err := store.ParseCursor(c.String())
	if err != nil || !got.At.Equal(c.At) || got.ID != 42 {
		t.Fatalf("round trip %v: %v, %v", c, got, err)
	}
	for _, bad := range []string{"", "12", "abc.1", "1.abc", "1.0", "1.-3", "."} {
		if _, err := store.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

package store_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestEventTypeChoices(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		if got, err := s.EventTypeChoices(ctx, "100"); err != nil || len(got) != 0 {
			t.Fatalf("choices of a streamer who never chose: %v, %v; want none", got, err)
		}
		first := map[string]bool{"channel.follow": false, "channel.cheer": true}
		if err := s.SaveEventTypeChoices(ctx, "100", first, now); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveEventTypeChoices(ctx, "200", map[string]bool{"channel.raid": true}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveEventTypeChoices(ctx, "100", map[string]bool{"channel.cheer": false, "stream.online": true}, now); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"channel.follow": false, "channel.cheer": false, "stream.online": true}
		if got, err := s.EventTypeChoices(ctx, "100"); err != nil || !maps.Equal(got, want) {
			t.Fatalf("choices = %v, %v; want %v", got, err, want)
		}

		if err := s.DeleteAccount(ctx, "100"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.EventTypeChoices(ctx, "100"); len(got) != 0 {
			t.Fatalf("choices after DeleteAccount: %v", got)
		}
		if got, _ := s.EventTypeChoices(ctx, "200"); !maps.Equal(got, map[string]bool{"channel.raid": true}) {
			t.Fatalf("another streamer's choices: %v", got)
		}
	})
}

// Hidden events are kept and exported (Timeline) but not shown: not in the dashboard's
// timeline, its top or its catch-up. Shown{Type} selects one type, and so does Timeline's type,
// hidden events of it included.
func TestShownLeavesOutHidden(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var all, shown, cheers, subs []int64
		for i, kind := range []string{"follow", "hidden", "cheer", "hidden", "follow", "cheer"} {
			ev := event("m-"+string(rune('a'+i)), "1337")
			ev.OccurredAt = ev.OccurredAt.Add(time.Duration(i) * time.Millisecond)
			switch kind {
			case "hidden":
				ev.Type, ev.Hidden = "channel.subscribe", true
			case "cheer":
				ev.Type = "channel.cheer"
			}
			if _, err := s.InsertEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
			all = append([]int64{ev.ID}, all...)
			if !ev.Hidden {
				shown = append([]int64{ev.ID}, shown...)
			}
			if kind == "cheer" {
				cheers = append([]int64{ev.ID}, cheers...)
			}
			if kind == "hidden" {
				subs = append([]int64{ev.ID}, subs...)
			}
		}
		ids := func(evs []store.Event, err error) []int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, ev := range evs {
				out = append(out, ev.ID)
			}
			return out
		}
		if got := ids(s.Timeline(ctx, "1337", "", store.Cursor{}, 10)); !slices.Equal(got, all) {
			t.Errorf("Timeline = %v, want every event %v", got, all)
		}
		if got := ids(s.Timeline(ctx, "1337", "channel.subscribe", store.Cursor{}, 10)); !slices.Equal(got, subs) {
			t.Errorf("Timeline of subs = %v, want the hidden ones too %v", got, subs)
		}
		if got := ids(s.ShownTimeline(ctx, "1337", store.Shown{}, store.Cursor{}, 10)); !slices.Equal(got, shown) {
			t.Errorf("ShownTimeline = %v, want %v", got, shown)
		}
		if got := ids(s.ShownTimeline(ctx, "1337", store.Shown{Type: "channel.cheer"}, store.Cursor{}, 10)); !slices.Equal(got, cheers) {
			t.Errorf("ShownTimeline of cheers = %v, want %v", got, cheers)
		}
		top, maxID, err := s.TimelineTopShown(ctx, "1337", store.Shown{Type: "channel.cheer"}, 10)
		if got := ids(top, err); !slices.Equal(got, cheers) || maxID != all[0] {
			t.Errorf("TimelineTopShown = %v, max %d; want %v, %d", got, maxID, cheers, all[0])
		}
		after := ids(s.ShownAfter(ctx, "1337", store.Shown{}, 0, 10))
		if slices.Reverse(shown); !slices.Equal(after, shown) {
			t.Errorf("ShownAfter = %v, want %v oldest first", after, shown)
		}
	})
}

package store_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestMessageCounts: stored ids count once (a re-send does not add a row), unknown ids are
// absent, and a list longer than one query's chunk is answered whole.
func TestMessageCounts(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []string
		for i := range 1203 {
			id := fmt.Sprintf("m-%d", i)
			ids = append(ids, id)
			if i%2 == 0 {
				if _, err := s.InsertEvent(ctx, event(id, "1337")); err != nil {
					t.Fatal(err)
				}
			}
		}
		if ok, err := s.InsertEvent(ctx, event("m-0", "1337")); err != nil || ok {
			t.Fatalf("re-sent m-0: inserted=%v err=%v, want skipped", ok, err)
		}
		got, err := s.MessageCounts(ctx, append(ids, "never-sent"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for i := 0; i < len(ids); i += 2 {
			want[ids[i]] = 1
		}
		if !maps.Equal(got, want) {
			t.Errorf("MessageCounts: %d ids counted, want the %d stored ones once each", len(got), len(want))
		}
		if got, err := s.MessageCounts(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("MessageCounts(nil) = %v, %v; want an empty map", got, err)
		}
	})
}

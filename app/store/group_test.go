package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestGroupNewestIsShown: of a group's messages (a hype train's), every one is stored and the
// newest stored is the one shown, within a batch and across batches; a re-sent earlier message is
// stored once and hides nothing; another group and another broadcaster's are untouched. The
// overlay's Shown{Superseded} still sees the earlier messages, and nothing hidden otherwise.
func TestGroupNewestIsShown(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		grouped := func(msgID, broadcaster, group string) *store.Event {
			ev := event(msgID, broadcaster)
			ev.Type, ev.GroupKey = "channel.hype_train.progress", &group
			return ev
		}
		gifted := event("gifted", "1")
		gifted.Hidden = true
		begin, other, elsewhere := grouped("begin", "1", "train-a"), grouped("other", "1", "train-b"), grouped("elsewhere", "2", "train-a")
		if _, err := s.InsertEvents(ctx, []*store.Event{begin, other, elsewhere, gifted}); err != nil {
			t.Fatal(err)
		}
		p1, p2 := grouped("p1", "1", "train-a"), grouped("p2", "1", "train-a")
		if _, err := s.InsertEvents(ctx, []*store.Event{p1, p2}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.InsertEvents(ctx, []*store.Event{grouped("begin", "1", "train-a")}); err != nil || got[0] {
			t.Fatalf("re-sent begin: inserted %v, %v; want a duplicate", got, err)
		}
		shown := func(f store.Shown, broadcaster string) []string {
			t.Helper()
			evs, err := s.ShownAfter(ctx, broadcaster, f, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ev := range evs {
				ids = append(ids, ev.MessageID)
			}
			return ids
		}
		if got := shown(store.Shown{}, "1"); !slices.Equal(got, []string{"other", "p2"}) {
			t.Fatalf("shown %v, want the other train and the newest of train-a", got)
		}
		if got := shown(store.Shown{}, "2"); !slices.Equal(got, []string{"elsewhere"}) {
			t.Fatalf("shown for broadcaster 2: %v", got)
		}
		if got := shown(store.Shown{Superseded: true}, "1"); !slices.Equal(got, []string{"begin", "other", "p1", "p2"}) {
			t.Fatalf("shown with superseded %v, want every train message and no gifted sub", got)
		}
		if n, err := s.CountEvents(ctx, "1"); err != nil || n != 5 {
			t.Fatalf("stored %d, %v; want all 5", n, err)
		}
	})
}

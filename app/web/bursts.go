package web

import (
	"context"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// markBursts notes, on each follow row of p, the burst of follows it belongs to when that burst
// is a flood by the overlay's rule, counted over the whole burst, not only this page. Times are
// when the follows happened, so a follower-history import is not one big burst.
func (s *Server) markBursts(ctx context.Context, broadcaster string, p *views.EventPage) error {
	var first, last store.Event
	for _, r := range p.Rows {
		if r.Type != eventsub.ChannelFollow {
			continue
		}
		if first.ID == 0 || r.At.Before(first.OccurredAt) {
			first = store.Event{ID: r.ID, OccurredAt: r.At}
		}
		if last.ID == 0 || r.At.After(last.OccurredAt) {
			last = store.Event{ID: r.ID, OccurredAt: r.At}
		}
	}
	if first.ID == 0 {
		return nil
	}
	follows, err := s.store.FollowsBetween(ctx, broadcaster, first.OccurredAt.Add(-s.flood.Window), last.OccurredAt.Add(s.flood.Window))
	if err != nil {
		return err
	}
	size := s.flood.Floods(follows)
	for i := range p.Rows {
		p.Rows[i].Burst = size[p.Rows[i].ID]
	}
	return nil
}

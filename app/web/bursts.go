package web

import (
	"context"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// markBursts notes, on each follow row of p, the burst of follows it belongs to when that burst
// is a flood by the overlay's rule (each follow within Quiet of the last, at most Window long,
// more than Threshold follows), counted over the whole burst, not only this page. Times are
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
	size := map[int64]int{}
	for _, b := range bursts(follows, s.flood) {
		if len(b) > s.flood.Threshold {
			for _, ev := range b {
				size[ev.ID] = len(b)
			}
		}
	}
	for i := range p.Rows {
		p.Rows[i].Burst = size[p.Rows[i].ID]
	}
	return nil
}

// bursts splits follows (oldest first) into bursts by the flood rule's gaps and length.
func bursts(follows []store.Event, rule floodRule) [][]store.Event {
	var out [][]store.Event
	var cur []store.Event
	for _, ev := range follows {
		if len(cur) > 0 && (ev.OccurredAt.Sub(cur[len(cur)-1].OccurredAt) > rule.Quiet || ev.OccurredAt.Sub(cur[0].OccurredAt) > rule.Window) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, ev)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

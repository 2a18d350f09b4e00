package web

import (
	"context"
	"log/slog"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// PublishCommitted is the ingest batcher's Committed callback: it hands each newly stored event,
// rendered once whatever the number of viewers, to the broadcaster's live viewers on this
// instance. The batcher calls it in id order per broadcaster, as the stream's cursor needs.
// Hidden events (a gift's subs) are never rows of their own, and nobody watching means nothing
// to render.
func PublishCommitted(h *hub.Hub, log *slog.Logger) func(context.Context, []*store.Event) {
	return func(ctx context.Context, evs []*store.Event) {
		for _, ev := range evs {
			if ev.Hidden || !h.Watched(ev.BroadcasterID) {
				continue
			}
			html, err := RenderLiveRow(ctx, *ev)
			if err != nil {
				// Stored all the same: viewers get it from the database when they reconnect.
				log.Error("render live event", "event_id", ev.ID, "type", ev.Type, "err", err)
				continue
			}
			h.Publish(hub.Message{BroadcasterID: ev.BroadcasterID, EventID: ev.ID, Type: ev.Type, HTML: html, Event: *ev})
		}
	}
}

package ingest

import (
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Delivery is what a transport knows of one EventSub notification: the message's id and send
// time (from the webhook's headers, or a WebSocket message's metadata) and its body.
type Delivery struct {
	MessageID string
	SentAt    time.Time // the message timestamp; zero when unknown
	Message   *eventsub.Message
	Source    string // store.SourceWebhook or store.SourceWebSocket
}

// Event turns a notification into the event row, whichever transport brought it. Types
// without a time of their own happened when Twitch sent them. A follow gets its dedupe key, so
// that the one fetched with the follower history is the same row.
func Event(d Delivery, receivedAt time.Time) (*store.Event, error) {
	msg := d.Message
	facts, err := eventsub.Describe(msg.Subscription, msg.Event)
	if err != nil {
		return nil, err
	}
	occurred := facts.OccurredAt
	if occurred.IsZero() {
		occurred = d.SentAt
	}
	ev := &store.Event{
		MessageID: d.MessageID, SubscriptionID: msg.Subscription.ID,
		Type: msg.Subscription.Type, Version: msg.Subscription.Version, BroadcasterID: facts.BroadcasterID,
		UserID: facts.UserID, UserLogin: facts.UserLogin, UserName: facts.UserName,
		OccurredAt: occurred.UTC(), ReceivedAt: receivedAt.UTC(), Payload: string(msg.Event), Source: d.Source,
		Hidden: facts.Gifted, // the gift's own event is the row
	}
	if ev.Type == eventsub.ChannelFollow {
		ev.DedupeKey = store.FollowKey(ev.UserID, ev.OccurredAt) // also fetched with the follower history
	}
	if facts.Group != "" {
		ev.GroupKey = &facts.Group // the newest message of a hype train is its row
	}
	return ev, nil
}

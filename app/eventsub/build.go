package eventsub

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Outgoing is a fully signed webhook message, as Twitch would send it. The demo's "Send test
// follow", the trigger command and the tests build them.
type Outgoing struct {
	Header http.Header
	Body   []byte
}

// Request turns the message into a POST to url.
func (o Outgoing) Request(url string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(o.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range o.Header {
		req.Header[k] = v
	}
	return req, nil
}

// Sign builds the headers for body and signs it with secret, stamped at now.
func Sign(secret, messageType, messageID string, sub Subscription, body []byte, now time.Time) Outgoing {
	ts := now.UTC().Format(time.RFC3339Nano)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderMessageID, messageID)
	h.Set(HeaderMessageRetry, "0")
	h.Set(HeaderMessageType, messageType)
	h.Set(HeaderMessageTimestamp, ts)
	h.Set(HeaderMessageSignature, Signature(secret, messageID, ts, body))
	h.Set(HeaderSubscriptionType, sub.Type)
	h.Set(HeaderSubscriptionVersion, sub.Version)
	return Outgoing{Header: h, Body: body}
}

// Follower is the user a test follow comes from.
type Follower struct {
	ID, Login, Name string
}

// NewFollow builds a signed channel.follow v2 notification for broadcaster, shaped exactly like
// Twitch's, with a fresh message id.
func NewFollow(secret, callback string, broadcaster Follower, follower Follower, now time.Time) (Outgoing, error) {
	sub := Subscription{
		ID: NewID(), Type: ChannelFollow, Version: "2", Status: "enabled",
		Condition: map[string]string{"broadcaster_user_id": broadcaster.ID, "moderator_user_id": broadcaster.ID},
		Transport: Transport{Method: "webhook", Callback: callback},
		CreatedAt: now.Add(-time.Hour).UTC(),
	}
	event := map[string]string{
		"user_id": follower.ID, "user_login": follower.Login, "user_name": follower.Name,
		"broadcaster_user_id": broadcaster.ID, "broadcaster_user_login": broadcaster.Login,
		"broadcaster_user_name": broadcaster.Name, "followed_at": now.UTC().Format(time.RFC3339Nano),
	}
	raw, err := json.Marshal(event)
	if err != nil {
		return Outgoing{}, fmt.Errorf("eventsub: build follow: %w", err)
	}
	body, err := json.Marshal(Message{Subscription: sub, Event: raw})
	if err != nil {
		return Outgoing{}, fmt.Errorf("eventsub: build follow: %w", err)
	}
	return Sign(secret, TypeNotification, NewID(), sub, body, now), nil
}

// NewID returns a random UUID-shaped id, like Twitch's message and subscription ids.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewNotification builds a signed notification of an event type for broadcaster, with a fresh
// message id, carrying event as Twitch's "event" object. The subscription is the one the app
// makes for that type (KindOf), so its condition is Twitch's.
func NewNotification(secret, callback, typ string, broadcaster Follower, event any, now time.Time) (Outgoing, error) {
	k, ok := KindOf(typ)
	if !ok {
		return Outgoing{}, fmt.Errorf("eventsub: build %s: not a known event type", typ)
	}
	sub := Subscription{
		ID: NewID(), Type: k.Type, Version: k.Version, Status: "enabled", Condition: k.Condition(broadcaster.ID),
		Transport: Transport{Method: "webhook", Callback: callback}, CreatedAt: now.Add(-time.Hour).UTC(),
	}
	raw, err := json.Marshal(event)
	if err != nil {
		return Outgoing{}, fmt.Errorf("eventsub: build %s: %w", typ, err)
	}
	body, err := json.Marshal(Message{Subscription: sub, Event: raw})
	if err != nil {
		return Outgoing{}, fmt.Errorf("eventsub: build %s: %w", typ, err)
	}
	return Sign(secret, TypeNotification, NewID(), sub, body, now), nil
}

// SampleEvent is a realistic event of a type, shaped exactly as Twitch sends it, in which user
// acts in broadcaster's channel at now: the demo's test buttons send these.
func SampleEvent(typ string, broadcaster, user Follower, now time.Time) (map[string]any, error) {
	at := now.UTC().Format(time.RFC3339Nano)
	b := map[string]any{"broadcaster_user_id": broadcaster.ID, "broadcaster_user_login": broadcaster.Login,
		"broadcaster_user_name": broadcaster.Name}
	with := func(fields map[string]any) map[string]any {
		for k, v := range b {
			fields[k] = v
		}
		return fields
	}
	u := func(fields map[string]any) map[string]any {
		fields["user_id"], fields["user_login"], fields["user_name"] = user.ID, user.Login, user.Name
		return with(fields)
	}
	switch typ {
	case ChannelFollow:
		return u(map[string]any{"followed_at": at}), nil
	case ChannelSubscribe:
		return u(map[string]any{"tier": "1000", "is_gift": false}), nil
	case ChannelSubscriptionGift:
		return u(map[string]any{"total": 5, "tier": "1000", "cumulative_total": 12, "is_anonymous": false}), nil
	case ChannelCheer:
		return u(map[string]any{"is_anonymous": false, "message": "Cheer100 great stream!", "bits": 100}), nil
	case ChannelRaid:
		return map[string]any{
			"from_broadcaster_user_id": user.ID, "from_broadcaster_user_login": user.Login, "from_broadcaster_user_name": user.Name,
			"to_broadcaster_user_id": broadcaster.ID, "to_broadcaster_user_login": broadcaster.Login, "to_broadcaster_user_name": broadcaster.Name,
			"viewers": 42}, nil
	case StreamOnline:
		return with(map[string]any{"id": "9001", "type": "live", "started_at": at}), nil
	case StreamOffline:
		return with(map[string]any{}), nil
	case ChannelPointsRedemption:
		return u(map[string]any{"id": NewID(), "user_input": "play the boss music", "status": "unfulfilled",
			"reward":      map[string]any{"id": NewID(), "title": "Song request", "cost": 500, "prompt": "Pick the next song"},
			"redeemed_at": at}), nil
	}
	return nil, fmt.Errorf("eventsub: no sample of %s", typ)
}

// NewSample is a signed notification carrying SampleEvent.
func NewSample(secret, callback, typ string, broadcaster, user Follower, now time.Time) (Outgoing, error) {
	event, err := SampleEvent(typ, broadcaster, user, now)
	if err != nil {
		return Outgoing{}, err
	}
	return NewNotification(secret, callback, typ, broadcaster, event, now)
}

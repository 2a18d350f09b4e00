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

// NewFollow builds a signed channel.follow notification from follower for broadcaster, shaped
// exactly like Twitch's, with a fresh message id.
func NewFollow(secret, callback string, broadcaster Follower, follower Follower, now time.Time) (Outgoing, error) {
	return NewSample(secret, callback, ChannelFollow, broadcaster, follower, now)
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

func errNoSample(typ string) error { return fmt.Errorf("eventsub: no sample of %s", typ) }

// NewSample is a signed notification carrying SampleEvent.
func NewSample(secret, callback, typ string, broadcaster, user Follower, now time.Time) (Outgoing, error) {
	event, err := SampleEvent(typ, broadcaster, user, now)
	if err != nil {
		return Outgoing{}, err
	}
	return NewNotification(secret, callback, typ, broadcaster, event, now)
}

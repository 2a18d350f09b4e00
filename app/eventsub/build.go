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

// Package pusher publishes stored events to Pusher (or a Pusher-compatible server), each to its
// streamer's private channel, and signs pusher-js subscriptions to that channel.
package pusher

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	api "github.com/pusher/pusher-http-go/v5"

	"github.com/twitch-event-viewer/tev/app/store"
)

// MaxData is Pusher's limit on one event's data, in bytes.
const MaxData = 10 * 1024

// requestTimeout bounds one call to Pusher; the outbox lease must outlast it.
const requestTimeout = 10 * time.Second

// Client talks to one Pusher app.
type Client struct {
	api *api.Client
}

// New makes a client from a Pusher URL, http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID. Errors
// never repeat the URL: it carries the secret.
func New(rawURL string) (*Client, error) {
	if err := ValidURL(rawURL); err != nil {
		return nil, err
	}
	c, err := api.ClientFromURL(rawURL)
	if err != nil {
		return nil, errors.New("must be http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID")
	}
	c.HTTPClient = &http.Client{Timeout: requestTimeout}
	return &Client{api: c}, nil
}

var appPath = regexp.MustCompile(`^/apps/[0-9]+$`)

// ValidURL checks a Pusher URL the way the client library reads it, and a little stricter.
func ValidURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return errors.New("must be an http(s) URL: http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID")
	case u.User == nil || u.User.Username() == "":
		return errors.New("has no app key: http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID")
	case !hasSecret(u):
		return errors.New("has no app secret: http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID")
	case !appPath.MatchString(u.Path):
		return errors.New("path must be /apps/APP_ID with a numeric app id")
	}
	return nil
}

func hasSecret(u *url.URL) bool {
	s, ok := u.User.Password()
	return ok && s != ""
}

// Channel is the private channel a streamer's events go to.
func Channel(broadcasterID string) string { return "private-events-" + broadcasterID }

// channelName is what Pusher accepts as a channel name.
var channelName = regexp.MustCompile(`^[-a-zA-Z0-9_=@,.;]{1,200}$`)

// Authorize signs a pusher-js subscription request (socket_id, channel_name) for a private
// channel and returns the JSON pusher-js expects. The caller decides whether the channel is the
// requester's own.
func (c *Client) Authorize(socketID, channel string) ([]byte, error) {
	params := url.Values{"socket_id": {socketID}, "channel_name": {channel}}
	b, err := c.api.AuthorizePrivateChannel([]byte(params.Encode()))
	if err != nil {
		return nil, fmt.Errorf("pusher: authorize %s: %w", channel, err)
	}
	return b, nil
}

// message is the data of a published event: enough to identify the stored event and show it.
type message struct {
	ID            int64           `json:"id"`
	MessageID     string          `json:"message_id"`
	Type          string          `json:"type"`
	BroadcasterID string          `json:"broadcaster_id"`
	UserID        string          `json:"user_id,omitempty"`
	UserLogin     string          `json:"user_login,omitempty"`
	UserName      string          `json:"user_name,omitempty"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Event         json.RawMessage `json:"event,omitempty"` // the raw EventSub event, when it fits
}

// Data is the compact JSON published for ev: with the raw event when the whole stays within
// Pusher's limit, without it otherwise. It fails only when even that is too big.
func Data(ev store.Event) ([]byte, error) {
	m := message{ID: ev.ID, MessageID: ev.MessageID, Type: ev.Type, BroadcasterID: ev.BroadcasterID,
		UserID: ev.UserID, UserLogin: ev.UserLogin, UserName: ev.UserName, OccurredAt: ev.OccurredAt.UTC()}
	if json.Valid([]byte(ev.Payload)) {
		m.Event = json.RawMessage(ev.Payload)
		if b, err := json.Marshal(m); err == nil && len(b) <= MaxData {
			return b, nil
		}
		m.Event = nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pusher: encode event %d: %w", ev.ID, err)
	}
	if len(b) > MaxData {
		return nil, fmt.Errorf("pusher: event %d is %d bytes even without the raw event, over Pusher's %d", ev.ID, len(b), MaxData)
	}
	return b, nil
}

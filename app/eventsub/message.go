package eventsub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed wraps every problem with a message body: the request gets a 400.
var ErrMalformed = errors.New("eventsub: malformed message")

// Subscription is the "subscription" object every message carries.
type Subscription struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Version   string            `json:"version"`
	Status    string            `json:"status"`
	Cost      int               `json:"cost"`
	Condition map[string]string `json:"condition"`
	Transport Transport         `json:"transport"`
	CreatedAt time.Time         `json:"created_at"`
}

// Transport is where Twitch delivers a subscription's messages.
type Transport struct {
	Method    string `json:"method"`
	Callback  string `json:"callback,omitempty"`
	Secret    string `json:"secret,omitempty"`
	SessionID string `json:"session_id,omitempty"` // the WebSocket transport's session
}

// Message is a parsed webhook body. Event is the raw "event" object of a notification;
// Challenge is set on a verification.
type Message struct {
	Subscription Subscription    `json:"subscription"`
	Event        json.RawMessage `json:"event,omitempty"`
	Challenge    string          `json:"challenge,omitempty"`
}

// Parse decodes a body of the given message type and checks the fields that type requires.
// NUL characters are dropped from every string, the raw event included (see withoutNUL).
func Parse(messageType string, body []byte) (*Message, error) {
	body = withoutNUL(body)
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	sub := m.Subscription
	if sub.ID == "" || sub.Type == "" || sub.Version == "" {
		return nil, fmt.Errorf("%w: subscription id, type and version are required", ErrMalformed)
	}
	switch messageType {
	case TypeVerification:
		if m.Challenge == "" {
			return nil, fmt.Errorf("%w: challenge is required", ErrMalformed)
		}
	case TypeNotification:
		if trimmed := bytes.TrimSpace(m.Event); len(trimmed) == 0 || trimmed[0] != '{' {
			return nil, fmt.Errorf("%w: event must be an object", ErrMalformed)
		}
	case TypeRevocation:
		if sub.Status == "" {
			return nil, fmt.Errorf("%w: subscription status is required", ErrMalformed)
		}
	default:
		return nil, fmt.Errorf("%w: unknown message type %q", ErrMalformed, messageType)
	}
	return &m, nil
}

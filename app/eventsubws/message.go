package eventsubws

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// Message types of the WebSocket transport.
const (
	typeWelcome      = "session_welcome"
	typeKeepalive    = "session_keepalive"
	typeNotification = "notification"
	typeReconnect    = "session_reconnect"
	typeRevocation   = "revocation"
)

// frame is one message as Twitch sends it.
type frame struct {
	Metadata struct {
		MessageID        string `json:"message_id"`
		MessageType      string `json:"message_type"`
		MessageTimestamp string `json:"message_timestamp"`
	} `json:"metadata"`
	Payload json.RawMessage `json:"payload"`
}

// session is the payload of session_welcome and session_reconnect.
type session struct {
	Session struct {
		ID                      string `json:"id"`
		KeepaliveTimeoutSeconds int    `json:"keepalive_timeout_seconds"`
		ReconnectURL            string `json:"reconnect_url"`
	} `json:"session"`
}

func parseFrame(data []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("eventsubws: malformed message: %w", err)
	}
	if f.Metadata.MessageID == "" || f.Metadata.MessageType == "" {
		return f, fmt.Errorf("eventsubws: message without id or type")
	}
	return f, nil
}

func (f frame) sentAt() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, f.Metadata.MessageTimestamp)
	return t
}

// closeMeanings are Twitch's close codes.
var closeMeanings = map[websocket.StatusCode]string{
	4000: "internal server error",
	4001: "client sent inbound traffic",
	4002: "client failed ping-pong",
	4003: "connection unused: no subscription in time",
	4004: "reconnect grace time expired",
	4005: "network timeout",
	4006: "network error",
	4007: "invalid reconnect",
}

// closeMeaning says what a close code means; "" for codes that are not Twitch's.
func closeMeaning(code websocket.StatusCode) string { return closeMeanings[code] }

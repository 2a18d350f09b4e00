// Package eventsub implements Twitch's EventSub webhook transport: message headers, signature
// checks, message bodies, and what each subscription type's event says.
package eventsub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Header names, as Twitch sends them (net/http canonicalises case).
const (
	HeaderMessageID           = "Twitch-Eventsub-Message-Id"
	HeaderMessageRetry        = "Twitch-Eventsub-Message-Retry"
	HeaderMessageType         = "Twitch-Eventsub-Message-Type"
	HeaderMessageSignature    = "Twitch-Eventsub-Message-Signature"
	HeaderMessageTimestamp    = "Twitch-Eventsub-Message-Timestamp"
	HeaderSubscriptionType    = "Twitch-Eventsub-Subscription-Type"
	HeaderSubscriptionVersion = "Twitch-Eventsub-Subscription-Version"
)

// Message types.
const (
	TypeNotification = "notification"
	TypeVerification = "webhook_callback_verification"
	TypeRevocation   = "revocation"
)

// Replay window: Twitch's docs reject messages older than 10 minutes; we also refuse ones stamped
// more than a minute in the future (clock skew allowance).
const (
	MaxAge    = 10 * time.Minute
	MaxFuture = time.Minute
)

// Errors from Verify. All of them mean the request must be refused with 403.
var (
	ErrMissingHeaders = errors.New("eventsub: missing message id, timestamp or signature header")
	ErrBadSignature   = errors.New("eventsub: signature does not match")
	ErrBadTimestamp   = errors.New("eventsub: timestamp unparseable or outside the replay window")
)

// Signature computes the value of the signature header for a message.
func Signature(secret, messageID, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(messageID))
	mac.Write([]byte(timestamp))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received message's signature (constant time) and then its timestamp against
// now. It must run on every message type, challenges included, before anything else is trusted.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sig := h.Get(HeaderMessageID), h.Get(HeaderMessageTimestamp), h.Get(HeaderMessageSignature)
	if id == "" || ts == "" || sig == "" {
		return ErrMissingHeaders
	}
	want := Signature(secret, id, ts, body)
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(want)) {
		return ErrBadSignature
	}
	sent, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadTimestamp, ts)
	}
	if now.Sub(sent) > MaxAge || sent.Sub(now) > MaxFuture {
		return fmt.Errorf("%w: %s", ErrBadTimestamp, ts)
	}
	return nil
}

// ValidSecret reports whether s can be an EventSub secret: 10 to 100 ASCII characters. Spaces
// and control characters are refused too, though Twitch would take them: they do not survive
// environment files and shells intact.
func ValidSecret(s string) bool {
	if len(s) < 10 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

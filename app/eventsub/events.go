package eventsub

import (
	"encoding/json"
	"fmt"
	"time"
)

// Facts are what the app indexes from any event: whose channel, who acted, and when.
type Facts struct {
	BroadcasterID string
	UserID        string
	UserLogin     string
	UserName      string
	OccurredAt    time.Time // zero when the event carries no time of its own
	// Gifted marks a channel.subscribe that is one of a gift's subs: Twitch also sends the
	// channel.subscription.gift that tells the whole gift, which is what a viewer wants to see.
	Gifted bool
	// Group joins the messages that tell one thing as it changes: a hype train's id. The newest
	// message of a group is its one row; it is also the row's DOM id.
	Group string
}

// fields covers the names used across event types; unknown types use whichever are present.
type fields struct {
	ID                  string `json:"id"`
	BroadcasterUserID   string `json:"broadcaster_user_id"`
	ToBroadcasterUserID string `json:"to_broadcaster_user_id"`
	FromUserID          string `json:"from_broadcaster_user_id"`
	FromUserLogin       string `json:"from_broadcaster_user_login"`
	FromUserName        string `json:"from_broadcaster_user_name"`
	UserID              string `json:"user_id"`
	UserLogin           string `json:"user_login"`
	UserName            string `json:"user_name"`
	FollowedAt          string `json:"followed_at"`
	StartedAt           string `json:"started_at"`
	EndedAt             string `json:"ended_at"`
	RedeemedAt          string `json:"redeemed_at"`
	IsGift              bool   `json:"is_gift"`
	RequesterUserID     string `json:"requester_user_id"`
	RequesterUserLogin  string `json:"requester_user_login"`
	RequesterUserName   string `json:"requester_user_name"`
}

// Describe extracts the Facts of an event. Known types must carry their required fields (else
// ErrMalformed); unknown types are described as well as their fields allow, falling back to the
// subscription's condition for the broadcaster. An event with no broadcaster id anywhere is
// refused (ErrMalformed).
func Describe(sub Subscription, event json.RawMessage) (Facts, error) {
	var f fields
	if err := json.Unmarshal(event, &f); err != nil {
		return Facts{}, fmt.Errorf("%w: event: %v", ErrMalformed, err)
	}
	facts := Facts{BroadcasterID: f.BroadcasterUserID, UserID: f.UserID, UserLogin: f.UserLogin, UserName: f.UserName}
	var required []string
	var at string
	if k, ok := Lookup(sub.Type); ok {
		required, at = k.describe(f, &facts)
	} else {
		facts.BroadcasterID = firstNonEmpty(f.BroadcasterUserID, f.ToBroadcasterUserID,
			sub.Condition["broadcaster_user_id"], sub.Condition["to_broadcaster_user_id"], sub.Condition["user_id"])
		at = firstNonEmpty(f.FollowedAt, f.StartedAt, f.RedeemedAt)
	}
	if facts.BroadcasterID == "" {
		// Stored under no broadcaster, it would be in nobody's view and nobody could delete it.
		return Facts{}, fmt.Errorf("%w: %s event has no broadcaster id", ErrMalformed, sub.Type)
	}
	for _, v := range required {
		if v == "" {
			return Facts{}, fmt.Errorf("%w: %s event lacks a required field", ErrMalformed, sub.Type)
		}
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return Facts{}, fmt.Errorf("%w: %s event time %q: %v", ErrMalformed, sub.Type, at, err)
		}
		facts.OccurredAt = t.UTC()
	}
	return facts, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

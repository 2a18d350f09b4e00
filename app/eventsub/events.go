package eventsub

import (
	"encoding/json"
	"fmt"
	"time"
)

// Subscription types the app knows by name.
const (
	ChannelFollow           = "channel.follow"
	ChannelSubscribe        = "channel.subscribe"
	ChannelSubscriptionGift = "channel.subscription.gift"
	ChannelCheer            = "channel.cheer"
	ChannelRaid             = "channel.raid"
	StreamOnline            = "stream.online"
	StreamOffline           = "stream.offline"
	ChannelPointsRedemption = "channel.channel_points_custom_reward_redemption.add"
	UserAuthorizationRevoke = "user.authorization.revoke"
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
}

// fields covers the names used across event types; unknown types use whichever are present.
type fields struct {
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
	RedeemedAt          string `json:"redeemed_at"`
	IsGift              bool   `json:"is_gift"`
}

// Describe extracts the Facts of an event. Known types must carry their required fields (else
// ErrMalformed); unknown types are described as well as their fields allow, falling back to the
// subscription's condition for the broadcaster.
func Describe(sub Subscription, event json.RawMessage) (Facts, error) {
	var f fields
	if err := json.Unmarshal(event, &f); err != nil {
		return Facts{}, fmt.Errorf("%w: event: %v", ErrMalformed, err)
	}
	facts := Facts{BroadcasterID: f.BroadcasterUserID, UserID: f.UserID, UserLogin: f.UserLogin, UserName: f.UserName}
	var required []string
	var at string
	switch sub.Type {
	case ChannelFollow:
		required = []string{f.UserID, f.BroadcasterUserID, f.FollowedAt}
		at = f.FollowedAt
	case ChannelSubscribe:
		required = []string{f.BroadcasterUserID}
		facts.Gifted = f.IsGift
	case ChannelSubscriptionGift, ChannelCheer, StreamOffline:
		// gifts and cheers may be anonymous: no user is required
		required = []string{f.BroadcasterUserID}
	case StreamOnline:
		required = []string{f.BroadcasterUserID, f.StartedAt}
		at = f.StartedAt
	case ChannelPointsRedemption:
		required = []string{f.BroadcasterUserID, f.UserID, f.RedeemedAt}
		at = f.RedeemedAt
	case ChannelRaid:
		// a raid belongs to the channel being raided; the raider is the acting user
		required = []string{f.ToBroadcasterUserID, f.FromUserID}
		facts.BroadcasterID = f.ToBroadcasterUserID
		facts.UserID, facts.UserLogin, facts.UserName = f.FromUserID, f.FromUserLogin, f.FromUserName
	case UserAuthorizationRevoke:
		required = []string{f.UserID}
		facts.BroadcasterID = f.UserID
	default:
		facts.BroadcasterID = firstNonEmpty(f.BroadcasterUserID, f.ToBroadcasterUserID,
			sub.Condition["broadcaster_user_id"], sub.Condition["to_broadcaster_user_id"], sub.Condition["user_id"])
		at = firstNonEmpty(f.FollowedAt, f.StartedAt, f.RedeemedAt)
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

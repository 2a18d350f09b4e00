package eventsub

// Kind is an event type a streamer can choose to receive: what subscribing to it takes.
type Kind struct {
	Type    string
	Version string
	Scope   string // the streamer's grant Twitch requires; "" for none
	Label   string // for people: "Follows", "Cheers"
	Default bool   // enabled until the streamer chooses otherwise
}

// Kinds are the event types the dashboard offers, in the order it lists them.
var Kinds = []Kind{
	{Type: ChannelFollow, Version: "2", Scope: "moderator:read:followers", Label: "Follows", Default: true},
	{Type: ChannelSubscribe, Version: "1", Scope: "channel:read:subscriptions", Label: "Subscriptions"},
	{Type: ChannelSubscriptionGift, Version: "1", Scope: "channel:read:subscriptions", Label: "Gifted subs"},
	{Type: ChannelCheer, Version: "1", Scope: "bits:read", Label: "Cheers"},
	{Type: ChannelRaid, Version: "1", Label: "Raids"},
	{Type: StreamOnline, Version: "1", Label: "Stream online"},
	{Type: StreamOffline, Version: "1", Label: "Stream offline"},
	{Type: ChannelPointsRedemption, Version: "1", Scope: "channel:read:redemptions", Label: "Channel points"},
}

// KindOf finds the Kind of an event type.
func KindOf(typ string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Type == typ {
			return k, true
		}
	}
	return Kind{}, false
}

// Condition is the subscription condition for a broadcaster's events of this kind. Raids are
// those into the channel; follows name the streamer as their own moderator.
func (k Kind) Condition(broadcasterID string) map[string]string {
	switch k.Type {
	case ChannelFollow:
		return map[string]string{"broadcaster_user_id": broadcasterID, "moderator_user_id": broadcasterID}
	case ChannelRaid:
		return map[string]string{"to_broadcaster_user_id": broadcasterID}
	}
	return map[string]string{"broadcaster_user_id": broadcasterID}
}

// EnabledKinds applies a streamer's choices (type → enabled) to the defaults.
func EnabledKinds(choices map[string]bool) []Kind {
	var out []Kind
	for _, k := range Kinds {
		on, chosen := choices[k.Type]
		if (chosen && on) || (!chosen && k.Default) {
			out = append(out, k)
		}
	}
	return out
}

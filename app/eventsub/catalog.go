package eventsub

import (
	"fmt"
	"strconv"
	"strings"
)

// Subscription types the app knows by name.
const (
	ChannelFollow            = "channel.follow"
	ChannelSubscribe         = "channel.subscribe"
	ChannelSubscriptionGift  = "channel.subscription.gift"
	ChannelSubscriptionMsg   = "channel.subscription.message"
	ChannelCheer             = "channel.cheer"
	ChannelRaid              = "channel.raid"
	StreamOnline             = "stream.online"
	StreamOffline            = "stream.offline"
	ChannelPointsRedemption  = "channel.channel_points_custom_reward_redemption.add"
	ChannelAdBreakBegin      = "channel.ad_break.begin"
	ChannelShoutoutReceive   = "channel.shoutout.receive"
	ChannelHypeTrainBegin    = "channel.hype_train.begin"
	ChannelHypeTrainProgress = "channel.hype_train.progress"
	ChannelHypeTrainEnd      = "channel.hype_train.end"
	UserAuthorizationRevoke  = "user.authorization.revoke"
)

// catalog is everything the app knows about each event type, one entry per type, in the order
// the dashboard lists them. Parsing (Describe), the dashboard's rows and filters, the overlay's
// alerts, the sign-in scopes and the Test buttons are all derived from it: adding a type means
// adding an entry here (and its tests).
var catalog = []Kind{
	{
		Type: ChannelFollow, Version: "2", Scope: "moderator:read:followers", Label: "Follows", Default: true, CaughtUp: true,
		condition: func(b string) map[string]string {
			return map[string]string{"broadcaster_user_id": b, "moderator_user_id": b}
		},
		describe: func(f fields, _ *Facts) ([]string, string) {
			return []string{f.UserID, f.BroadcasterUserID, f.FollowedAt}, f.FollowedAt
		},
		// Icons are text symbols found in common fonts, not emoji: an OBS browser source or a
		// Linux desktop without an emoji font shows emoji as empty boxes.
		word:  func(p Payload, w *Wording) { w.Kind, w.Icon, w.Action = "follow", "♥", "followed" },
		Alert: AlertOn, Hint: "{user} just followed!",
		sample: func(b, u Follower, at string) map[string]any {
			return withUser(b, u, map[string]any{"followed_at": at})
		},
	},
	{
		Type: ChannelSubscribe, Version: "1", Scope: "channel:read:subscriptions", Label: "Subscriptions",
		describe: func(f fields, facts *Facts) ([]string, string) {
			facts.Gifted = f.IsGift
			return []string{f.BroadcasterUserID}, ""
		},
		Tiered: true,
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.Action = "sub", "★", "subscribed at "+tierName(p.Tier)
			if p.IsGift {
				w.Action = "received a gifted " + tierName(p.Tier) + " sub"
			}
		},
		Alert: AlertOn, Hint: "{user} just subscribed!",
		sample: func(b, u Follower, _ string) map[string]any {
			return withUser(b, u, map[string]any{"tier": "1000", "is_gift": false})
		},
	},
	{
		Type: ChannelSubscriptionGift, Version: "1", Scope: "channel:read:subscriptions", Label: "Gifted subs",
		describe: broadcasterOnly, // gifts may be anonymous: no user is required
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon = "gift", "❖"
			w.Action = "gifted " + plural(p.Total, "sub", "subs")
			if p.Tier == "2000" || p.Tier == "3000" {
				w.Action = fmt.Sprintf("gifted %s %s %s", Grouped(p.Total), tierName(p.Tier), pluralWord(p.Total, "sub", "subs"))
			}
			if p.CumulativeTotal != nil && *p.CumulativeTotal > 0 {
				w.Detail = Grouped(*p.CumulativeTotal) + " gifted in this channel so far"
			}
			w.anonymous(p.IsAnonymous)
		},
		amount: func(p Payload) int { return p.Total },
		Unit:   Gifted,
		Tiered: true,
		Alert:  AlertOn, Hint: "{user} gifted {amount} subs!",
		sample: func(b, u Follower, _ string) map[string]any {
			return withUser(b, u, map[string]any{"total": 5, "tier": "1000", "cumulative_total": 12, "is_anonymous": false})
		},
	},
	{
		// A resub the viewer announced in chat, with their months and message.
		Type: ChannelSubscriptionMsg, Version: "1", Scope: "channel:read:subscriptions", Label: "Resubs",
		describe: func(f fields, _ *Facts) ([]string, string) {
			return []string{f.BroadcasterUserID, f.UserID}, ""
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon = "sub", "★"
			w.Action = "resubscribed at " + tierName(p.Tier) + " for " + plural(p.CumulativeMonths, "month", "months")
			if p.StreakMonths != nil && *p.StreakMonths > 1 {
				w.Action += fmt.Sprintf(", %d in a row", *p.StreakMonths)
			}
			w.Detail = string(p.Message)
		},
		amount:  func(p Payload) int { return p.CumulativeMonths },
		Unit:    Months,
		Tiered:  true,
		message: func(p Payload) string { return string(p.Message) },
		Alert:   AlertOn, Hint: "{user} resubscribed for {amount} months: {message}",
		sample: func(b, u Follower, _ string) map[string]any {
			return withUser(b, u, map[string]any{"tier": "1000", "cumulative_months": 12, "streak_months": 3,
				"duration_months": 1, "message": map[string]any{"text": "Love the stream! FevziGG", "emotes": []map[string]any{
					{"begin": 17, "end": 23, "id": "302976485"}}}})
		},
	},
	{
		Type: ChannelCheer, Version: "1", Scope: "bits:read", Label: "Cheers",
		describe: broadcasterOnly, // cheers may be anonymous
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.Action, w.Detail = "cheer", "◆", "cheered "+plural(p.Bits, "bit", "bits"), string(p.Message)
			w.anonymous(p.IsAnonymous)
		},
		amount:  func(p Payload) int { return p.Bits },
		Unit:    Bits,
		message: func(p Payload) string { return string(p.Message) },
		Alert:   AlertOn, Hint: "{user} cheered {amount} bits: {message}",
		sample: func(b, u Follower, _ string) map[string]any {
			return withUser(b, u, map[string]any{"is_anonymous": false, "message": "Cheer100 great stream!", "bits": 100})
		},
	},
	{
		Type: ChannelRaid, Version: "1", Label: "Raids",
		// raids into the channel, not out of it
		condition: func(b string) map[string]string { return map[string]string{"to_broadcaster_user_id": b} },
		// a raid belongs to the channel being raided; the raider is the acting user
		describe: func(f fields, facts *Facts) ([]string, string) {
			facts.BroadcasterID = f.ToBroadcasterUserID
			facts.UserID, facts.UserLogin, facts.UserName = f.FromUserID, f.FromUserLogin, f.FromUserName
			return []string{f.ToBroadcasterUserID, f.FromUserID}, ""
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.Action = "raid", "⚑", "raided with "+plural(p.Viewers, "viewer", "viewers")
		},
		amount: func(p Payload) int { return p.Viewers },
		Unit:   Viewers,
		Alert:  AlertOn, Hint: "{user} raided with {amount} viewers!",
		sample: func(b, u Follower, _ string) map[string]any {
			return map[string]any{
				"from_broadcaster_user_id": u.ID, "from_broadcaster_user_login": u.Login, "from_broadcaster_user_name": u.Name,
				"to_broadcaster_user_id": b.ID, "to_broadcaster_user_login": b.Login, "to_broadcaster_user_name": b.Name,
				"viewers": 42}
		},
	},
	{
		Type: StreamOnline, Version: "1", Label: "Stream online",
		describe: func(f fields, _ *Facts) ([]string, string) {
			return []string{f.BroadcasterUserID, f.StartedAt}, f.StartedAt
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.User, w.Action = "stream", "●", "", "Stream went live"
			if p.Type != "" && p.Type != "live" {
				w.Detail = "Stream type: " + p.Type
			}
		},
		// a streamer's own stream starting is rarely something to show their viewers
		Alert: AlertOff,
		sample: func(b, _ Follower, at string) map[string]any {
			return withBroadcaster(b, map[string]any{"id": "9001", "type": "live", "started_at": at})
		},
	},
	{
		Type: StreamOffline, Version: "1", Label: "Stream offline",
		describe: broadcasterOnly,
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.User, w.Action = "stream", "○", "", "Stream went offline"
		},
		Alert: AlertOff,
		sample: func(b, _ Follower, _ string) map[string]any {
			return withBroadcaster(b, map[string]any{})
		},
	},
	{
		Type: ChannelPointsRedemption, Version: "1", Scope: "channel:read:redemptions", Label: "Channel points",
		describe: func(f fields, _ *Facts) ([]string, string) {
			return []string{f.BroadcasterUserID, f.UserID, f.RedeemedAt}, f.RedeemedAt
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon = "points", "✦"
			w.Action = fmt.Sprintf("redeemed %s (%s)", p.Reward.Title, plural(p.Reward.Cost, "point", "points"))
			w.Detail = p.UserInput
		},
		amount:  func(p Payload) int { return p.Reward.Cost },
		Unit:    Points,
		message: func(p Payload) string { return p.UserInput },
		reward:  func(p Payload) string { return p.Reward.Title },
		Alert:   AlertOn, Hint: "{user} redeemed for {amount} points: {message}",
		sample: func(b, u Follower, at string) map[string]any {
			return withUser(b, u, map[string]any{"id": NewID(), "user_input": "play the boss music", "status": "unfulfilled",
				"reward":      map[string]any{"id": NewID(), "title": "Song request", "cost": 500, "prompt": "Pick the next song"},
				"redeemed_at": at})
		},
	},
	{
		// Another channel shouted the streamer out: that channel is the acting user, like a raider.
		Type: ChannelShoutoutReceive, Version: "1", Scope: "moderator:read:shoutouts", Label: "Shoutouts received",
		condition: func(b string) map[string]string {
			return map[string]string{"broadcaster_user_id": b, "moderator_user_id": b}
		},
		describe: func(f fields, facts *Facts) ([]string, string) {
			facts.UserID, facts.UserLogin, facts.UserName = f.FromUserID, f.FromUserLogin, f.FromUserName
			return []string{f.BroadcasterUserID, f.FromUserID, f.StartedAt}, f.StartedAt
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon = "raid", "➤"
			w.Action = "shouted you out to " + plural(p.ViewerCount, "viewer", "viewers")
		},
		amount: func(p Payload) int { return p.ViewerCount },
		Unit:   Viewers,
		Alert:  AlertOn, Hint: "{user} shouted us out to {amount} viewers!",
		sample: func(b, u Follower, at string) map[string]any {
			return withBroadcaster(b, map[string]any{"from_broadcaster_user_id": u.ID, "from_broadcaster_user_login": u.Login,
				"from_broadcaster_user_name": u.Name, "viewer_count": 860, "started_at": at})
		},
	},
	{
		// An ad break began. The requester is the streamer or a moderator; for an automatic
		// break Twitch names the streamer.
		Type: ChannelAdBreakBegin, Version: "1", Scope: "channel:read:ads", Label: "Ad breaks",
		describe: func(f fields, facts *Facts) ([]string, string) {
			facts.UserID, facts.UserLogin, facts.UserName = f.RequesterUserID, f.RequesterUserLogin, f.RequesterUserName
			return []string{f.BroadcasterUserID, f.StartedAt}, f.StartedAt
		},
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon = "stream", "◼"
			w.Action = "started an ad break of " + plural(p.DurationSeconds, "second", "seconds")
			if p.IsAutomatic {
				w.Detail = "Scheduled by Ads Manager"
			}
		},
		amount: func(p Payload) int { return p.DurationSeconds },
		Unit:   Seconds,
		// viewers see the ads, not the alert; a streamer may switch it on for a "be right back"
		Alert: AlertOff, Hint: "Ad break: back in {amount} seconds!",
		sample: func(b, u Follower, at string) map[string]any {
			return withBroadcaster(b, map[string]any{"requester_user_id": b.ID, "requester_user_login": b.Login,
				"requester_user_name": b.Name, "duration_seconds": 90, "started_at": at, "is_automatic": false})
		},
	},
	// A hype train is three types whose messages share the train's id: every message is stored,
	// and the newest of a train is its one row (Facts.Group), which a later message replaces.
	{
		Type: ChannelHypeTrainBegin, Version: "2", Scope: "channel:read:hype_train", Label: "Hype train begins",
		describe: hypeTrain(func(f fields) string { return f.StartedAt }),
		word:     func(p Payload, w *Wording) { hypeTrainWords(p, w) },
		amount:   func(p Payload) int { return p.Level },
		Unit:     Level,
		Alert:    AlertOn, Hint: "Hype train! Level {amount}",
		sample: func(b, _ Follower, at string) map[string]any {
			return hypeTrainSample(b, at, map[string]any{"level": 1, "total": 137, "progress": 137, "goal": 500, "expires_at": at})
		},
	},
	{
		// Progress alerts are off by default: a train sends many, and its begin and end are what
		// viewers hear. A streamer who wants each step can turn them on.
		Type: ChannelHypeTrainProgress, Version: "2", Scope: "channel:read:hype_train", Label: "Hype train progress",
		describe: hypeTrain(func(fields) string { return "" }), // happened when Twitch sent it
		word:     func(p Payload, w *Wording) { hypeTrainWords(p, w) },
		amount:   func(p Payload) int { return p.Level },
		Unit:     Level,
		Alert:    AlertOff, Hint: "Hype train at level {amount}!",
		sample: func(b, _ Follower, at string) map[string]any {
			return hypeTrainSample(b, at, map[string]any{"level": 2, "total": 700, "progress": 200, "goal": 800, "expires_at": at})
		},
	},
	{
		Type: ChannelHypeTrainEnd, Version: "2", Scope: "channel:read:hype_train", Label: "Hype train ends",
		describe: hypeTrain(func(f fields) string { return f.EndedAt }),
		word: func(p Payload, w *Wording) {
			w.Kind, w.Icon, w.User = "cheer", "▲", ""
			w.Action = fmt.Sprintf("Hype train ended at level %d", p.Level)
		},
		amount: func(p Payload) int { return p.Level },
		Unit:   Level,
		Alert:  AlertOn, Hint: "The hype train reached level {amount}!",
		sample: func(b, _ Follower, at string) map[string]any {
			return hypeTrainSample(b, at, map[string]any{"level": 3, "total": 2400, "ended_at": at, "cooldown_ends_at": at})
		},
	},
	{
		// The app's own subscription: Twitch tells it when a streamer disconnects the app.
		Type: UserAuthorizationRevoke, Version: "1", Hidden: true,
		describe: func(f fields, facts *Facts) ([]string, string) {
			facts.BroadcasterID = f.UserID
			return []string{f.UserID}, ""
		},
		word: func(p Payload, w *Wording) { w.Kind, w.Icon, w.Action = "other", "⊘", "revoked this app's access" },
	},
}

// hypeTrain describes a hype train message: the train's id groups its messages, at picks the
// message's own time.
func hypeTrain(at func(fields) string) func(f fields, facts *Facts) ([]string, string) {
	return func(f fields, facts *Facts) ([]string, string) {
		facts.Group = "hype-train-" + f.ID
		return []string{f.BroadcasterUserID, f.ID, f.StartedAt}, at(f)
	}
}

// hypeTrainWords tell a running train: its level and how far it is to the next.
func hypeTrainWords(p Payload, w *Wording) {
	w.Kind, w.Icon, w.User = "cheer", "▲", ""
	pct := 0
	if p.Goal > 0 {
		pct = min(100, p.Progress*100/p.Goal)
	}
	w.Action = fmt.Sprintf("Hype train level %d — %d%% to level %d", p.Level, pct, p.Level+1)
}

// hypeTrainSample is a v2 hype train message: the Test buttons all use one train id, so that
// begin, progress and end make one row, as a real train does.
func hypeTrainSample(b Follower, at string, fields map[string]any) map[string]any {
	fields["id"], fields["type"], fields["started_at"], fields["is_shared_train"] = "1b0AsbInCHZW2SQFQkCzqN07Ib2", "regular", at, false
	fields["shared_train_participants"] = nil
	fields["top_contributions"] = []map[string]any{
		{"user_id": "123", "user_login": "pogchamp", "user_name": "PogChamp", "type": "bits", "total": 50}}
	return withBroadcaster(b, fields)
}

func broadcasterOnly(f fields, _ *Facts) ([]string, string) {
	return []string{f.BroadcasterUserID}, ""
}

func withBroadcaster(b Follower, fields map[string]any) map[string]any {
	fields["broadcaster_user_id"], fields["broadcaster_user_login"], fields["broadcaster_user_name"] = b.ID, b.Login, b.Name
	return fields
}

func withUser(b, u Follower, fields map[string]any) map[string]any {
	fields["user_id"], fields["user_login"], fields["user_name"] = u.ID, u.Login, u.Name
	return withBroadcaster(b, fields)
}

func tierName(t string) string { return "Tier " + strconv.Itoa(tierNumber(t)) }

// tierNumber reads Twitch's tier ("1000", "2000", "3000"); Prime subs are tier 1000.
func tierNumber(t string) int {
	switch t {
	case "2000":
		return 2
	case "3000":
		return 3
	default:
		return 1
	}
}

func plural(n int, one, many string) string {
	return Grouped(n) + " " + pluralWord(n, one, many)
}

// Grouped writes n with its thousands grouped by commas ("10,000"), so that 10,000 bits never
// read like 1,000 on a dashboard or on stream.
func Grouped(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

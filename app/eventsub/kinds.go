package eventsub

import (
	"encoding/json"
	"time"
)

// Kind is one entry of the catalog: an event type and everything the app does with it.
type Kind struct {
	Type    string
	Version string
	Scope   string // the streamer's grant Twitch requires; "" for none
	Label   string // for people: "Follows", "Cheers"
	Default bool   // enabled until the streamer chooses otherwise
	// Hidden marks the app's own subscriptions: not offered to the streamer, not in Kinds.
	Hidden bool
	Alert  AlertDefault
	Hint   string // the alert template that fits the type, shown as a placeholder
	// CaughtUp: events missed while the app was off are fetched when it starts (follows, from
	// the follower history). Twitch replays nothing else to a WebSocket app.
	CaughtUp bool

	condition func(broadcasterID string) map[string]string // nil: broadcaster_user_id
	// describe sets the type's Facts beyond the common fields and returns the fields Twitch
	// always sends (empty means malformed) and the event's own time ("" for none).
	describe func(f fields, facts *Facts) (required []string, at string)
	word     func(p Payload, w *Wording)
	amount   func(p Payload) int    // the alert's {amount}; nil: 0
	message  func(p Payload) string // the alert's {message}; nil: ""
	sample   func(broadcaster, user Follower, at string) map[string]any

	// Unit is what amount counts; every kind with an amount has one. The CSV export has a
	// column per unit, so that a spreadsheet sums bits with bits and viewers with viewers.
	Unit Unit
	// Tiered kinds carry a sub's tier (Payload.Tier).
	Tiered bool
	reward func(p Payload) string // the channel points reward's title; nil: ""
}

// AlertDefault says whether a type plays on the overlay, and whether it does until the streamer
// chooses otherwise.
type AlertDefault int

const (
	NoAlert  AlertDefault = iota // only shown on the dashboard
	AlertOn                      // plays unless switched off
	AlertOff                     // plays only once switched on
)

// Kinds are the event types a streamer can choose to receive, in the order the dashboard lists them.
var Kinds = offered()

func offered() []Kind {
	var out []Kind
	for _, k := range catalog {
		if !k.Hidden {
			out = append(out, k)
		}
	}
	return out
}

// KindOf finds the Kind of an event type a streamer can choose.
func KindOf(typ string) (Kind, bool) {
	k, ok := Lookup(typ)
	return k, ok && !k.Hidden
}

// Lookup finds any catalogued type, the app's own (hidden) ones included.
func Lookup(typ string) (Kind, bool) {
	for _, k := range catalog {
		if k.Type == typ {
			return k, true
		}
	}
	return Kind{}, false
}

// Condition is the subscription condition for a broadcaster's events of this kind.
func (k Kind) Condition(broadcasterID string) map[string]string {
	if c, ok := Lookup(k.Type); ok && c.condition != nil {
		return c.condition(broadcasterID)
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

// Alertable reports whether events of typ can play as overlay alerts.
func Alertable(typ string) bool {
	k, ok := Lookup(typ)
	return ok && k.Alert != NoAlert
}

// Unit names what an amount counts, as a CSV column header.
type Unit string

const (
	Bits    Unit = "bits"
	Gifted  Unit = "gifted"  // subs in a gift
	Months  Unit = "months"  // a resub's cumulative months
	Viewers Unit = "viewers" // a raid's, or the shouting channel's audience
	Points  Unit = "points"  // channel points a reward cost
	Seconds Unit = "seconds" // an ad break's length
	Level   Unit = "level"   // a hype train's
)

// Units are every Unit, in the order of the export's columns.
var Units = []Unit{Bits, Gifted, Months, Viewers, Points, Seconds, Level}

// Payload holds the event fields the rows and alerts read, across types.
type Payload struct {
	Tier             string `json:"tier"`
	IsGift           bool   `json:"is_gift"`
	Total            int    `json:"total"`
	CumulativeTotal  *int   `json:"cumulative_total"`
	IsAnonymous      bool   `json:"is_anonymous"`
	Bits             int    `json:"bits"`
	Message          Text   `json:"message"` // a cheer's string; a resub's {"text": ...}
	CumulativeMonths int    `json:"cumulative_months"`
	StreakMonths     *int   `json:"streak_months"` // null when the viewer does not share it
	Viewers          int    `json:"viewers"`
	UserInput        string `json:"user_input"`
	Reward           struct {
		Title string `json:"title"`
		Cost  int    `json:"cost"`
	} `json:"reward"`
	Type string `json:"type"` // stream.online: live, playlist, ...

	ViewerCount     int  `json:"viewer_count"`     // channel.shoutout.receive
	DurationSeconds int  `json:"duration_seconds"` // channel.ad_break.begin
	IsAutomatic     bool `json:"is_automatic"`

	Level    int `json:"level"` // channel.hype_train.*; Total is the train's points
	Progress int `json:"progress"`
	Goal     int `json:"goal"`
}

// Wording is how the dashboard (and, by default, the overlay) tells one event.
type Wording struct {
	Kind   string // the row's style: follow, sub, gift, cheer, raid, stream, points, other
	Icon   string
	User   string // who acted, as shown: "" for none, "Anonymous"
	Action string
	Detail string
}

func (w *Wording) anonymous(anon bool) {
	if anon || w.User == "" {
		w.User = "Anonymous"
	}
}

// Word tells an event of typ (version, for unknown types) by user, carrying p.
func Word(typ, version, user string, p Payload) Wording {
	w := Wording{User: user}
	k, ok := Lookup(typ)
	if !ok || k.word == nil {
		w.Kind, w.Icon, w.Action = "other", "•", typ+" (v"+version+")"
		return w
	}
	k.word(p, &w)
	return w
}

// HasUser reports whether the type's events name who acted (a viewer, a raiding channel), for
// an alert template's {user}. A stream going live or a hype train names nobody.
func (k Kind) HasUser() bool { return Word(k.Type, k.Version, "someone", Payload{}).User != "" }

// HasAmount and HasMessage report whether the type has an {amount} and a {message}.
func (k Kind) HasAmount() bool  { return k.amount != nil }
func (k Kind) HasMessage() bool { return k.message != nil }

// Amount and Message fill an alert template's {amount} and {message}.
func (k Kind) Amount(p Payload) int {
	if k.amount == nil {
		return 0
	}
	return k.amount(p)
}

func (k Kind) Message(p Payload) string {
	if k.message == nil {
		return ""
	}
	return k.message(p)
}

// Tier is a sub's tier, 1 to 3, for Tiered kinds (Twitch writes 1000, 2000, 3000); 0 for the others.
func (k Kind) Tier(p Payload) int {
	if !k.Tiered {
		return 0
	}
	return tierNumber(p.Tier)
}

// Reward is the title of the channel points reward redeemed; "" for other kinds.
func (k Kind) Reward(p Payload) string {
	if k.reward == nil {
		return ""
	}
	return k.reward(p)
}

// SampleEvent is a realistic event of a type, shaped exactly as Twitch sends it, in which user
// acts in broadcaster's channel at now: the test buttons and the tests send these.
func SampleEvent(typ string, broadcaster, user Follower, now time.Time) (map[string]any, error) {
	k, ok := Lookup(typ)
	if !ok || k.sample == nil {
		return nil, errNoSample(typ)
	}
	return k.sample(broadcaster, user, now.UTC().Format(time.RFC3339Nano)), nil
}

// Text is a message as events carry it: a plain string (channel.cheer) or an object with its
// text and emotes (channel.subscription.message).
type Text string

func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = Text(s)
		return nil
	}
	var m struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*t = Text(m.Text)
	return nil
}

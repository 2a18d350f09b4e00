package overlay

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Policy is a streamer's choice of what plays and how it reads: which types are on, and each
// type's template and duration. Safe mode is not a switch of its own: it is follow alerts off
// (a follow bot is at work; the follows are still stored and listed).
type Policy struct {
	Settings map[string]store.AlertSetting // by type; a type without one plays by its catalog default
	Looks    Defaults                      // the images and sounds a type without its own plays
}

// PolicyOf is the policy of an overlay's saved settings. An overlay whose safe mode was saved
// before safe mode became the follow alert's switch has it in its own flag: read as follows off.
func PolicyOf(ov *store.Overlay, settings map[string]store.AlertSetting) Policy {
	if ov == nil || !ov.SafeMode {
		return Policy{Settings: settings}
	}
	folded := make(map[string]store.AlertSetting, len(settings)+1)
	for typ, set := range settings {
		folded[typ] = set
	}
	follow := folded[eventsub.ChannelFollow]
	follow.Type, follow.Enabled = eventsub.ChannelFollow, false
	folded[eventsub.ChannelFollow] = follow
	return Policy{Settings: folded}
}

// SafeMode reports whether follow alerts are off.
func (p Policy) SafeMode() bool { return !p.Plays(eventsub.ChannelFollow) }

// Plays reports whether alerts of typ play.
func (p Policy) Plays(typ string) bool {
	set, ok := p.Settings[typ]
	if !ok {
		k, _ := eventsub.Lookup(typ)
		return k.Alert == eventsub.AlertOn
	}
	return set.Enabled
}

// WhyNot says why alerts of typ do not play, in the dashboard's words; "" when they play.
func (p Policy) WhyNot(typ string) string {
	if p.Plays(typ) {
		return ""
	}
	if typ == eventsub.ChannelFollow {
		return "Safe mode is on: follow alerts are suppressed, so the test follow did not play. Turn follow alerts back on to hear it."
	}
	k, _ := eventsub.Lookup(typ)
	return "Alerts for " + k.Label + " are off — turn them on in alert settings."
}

// Alert is ev's alert: the dashboard's words, or the streamer's template, and their duration.
func (p Policy) Alert(ev store.Event) Alert {
	var pl eventsub.Payload
	_ = json.Unmarshal([]byte(ev.Payload), &pl) // a stored payload is valid JSON; odd fields stay zero
	k, _ := eventsub.Lookup(ev.Type)
	user := ev.UserName
	if user == "" {
		user = ev.UserLogin
	}
	w := eventsub.Word(ev.Type, ev.Version, user, pl)
	msg := k.Message(pl)
	if ev.Type == eventsub.ChannelCheer {
		msg = StripCheermotes(msg)
	}
	msg = Clamp(msg, MaxMessage)
	al := Alert{ID: ev.ID, Type: ev.Type, User: w.User, Text: w.Action, Detail: Clamp(w.Detail, MaxMessage), Amount: k.Amount(pl),
		Combine: Combinable(ev.Type, msg)}
	if k.HasMessage() {
		al.Detail = msg
	}
	set, ok := p.Settings[ev.Type]
	if !ok {
		return p.styled(al)
	}
	if set.DurationSeconds > 0 {
		al.DurationMs = set.DurationSeconds * 1000
	}
	if set.Template != "" {
		al.Line = Fill(set.Template, w.User, al.Amount, msg)
		al.User, al.Text, al.Detail = "", "", ""
	}
	return p.styled(al)
}

// flood is the one alert of a burst of n follows, the newest with id last.
func (p Policy) flood(n int, last int64) Alert {
	al := Alert{ID: last, Type: eventsub.ChannelFollow, Text: fmt.Sprintf("%d new followers", n), Amount: n}
	if d := p.Settings[eventsub.ChannelFollow].DurationSeconds; d > 0 {
		al.DurationMs = d * 1000
	}
	return p.styled(al)
}

// Alertable reports whether ev may play on the overlay at now: a stored, visible (or merely
// superseded), live event of an alert type, at most maxAge old.
func Alertable(ev store.Event, now time.Time, maxAge time.Duration) bool {
	return eventsub.Alertable(ev.Type) && (!ev.Hidden || ev.Superseded()) && ev.Source != store.SourceBackfill && now.Sub(ev.OccurredAt) <= maxAge
}

package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// payload holds the event fields the rows read, across types.
type payload struct {
	Tier            string `json:"tier"`
	IsGift          bool   `json:"is_gift"`
	Total           int    `json:"total"`
	CumulativeTotal *int   `json:"cumulative_total"`
	IsAnonymous     bool   `json:"is_anonymous"`
	Bits            int    `json:"bits"`
	Message         string `json:"message"`
	Viewers         int    `json:"viewers"`
	UserInput       string `json:"user_input"`
	Reward          struct {
		Title string `json:"title"`
		Cost  int    `json:"cost"`
	} `json:"reward"`
	Type string `json:"type"` // stream.online: live, playlist, ...
}

// presentEvent turns a stored event into the row the dashboard shows.
func presentEvent(ev store.Event) views.EventRow {
	var p payload
	_ = json.Unmarshal([]byte(ev.Payload), &p) // a stored payload is valid JSON; odd fields stay zero
	at := ev.OccurredAt.UTC()
	r := views.EventRow{ID: ev.ID, Type: ev.Type, User: ev.UserName, AtISO: at.Format(time.RFC3339), AtText: at.Format("Jan 2, 15:04:05 UTC"), At: at}
	if r.User == "" {
		r.User = ev.UserLogin
	}
	switch ev.Type {
	case eventsub.ChannelFollow:
		r.Kind, r.Icon, r.Action = "follow", "♥", "followed"
		if ev.Source == store.SourceBackfill {
			r.Detail = "From your follower history"
		}
	case eventsub.ChannelSubscribe:
		r.Kind, r.Icon, r.Action = "sub", "★", "subscribed at "+tierName(p.Tier)
		if p.IsGift {
			r.Action = "received a gifted " + tierName(p.Tier) + " sub"
		}
	case eventsub.ChannelSubscriptionGift:
		r.Kind, r.Icon = "gift", "🎁"
		r.Action = "gifted " + plural(p.Total, "sub", "subs")
		if p.Tier == "2000" || p.Tier == "3000" {
			r.Action = fmt.Sprintf("gifted %d %s %s", p.Total, tierName(p.Tier), pluralWord(p.Total, "sub", "subs"))
		}
		if p.CumulativeTotal != nil && *p.CumulativeTotal > 0 {
			r.Detail = fmt.Sprintf("%d gifted in this channel so far", *p.CumulativeTotal)
		}
		anonymous(&r, p.IsAnonymous)
	case eventsub.ChannelCheer:
		r.Kind, r.Icon, r.Action, r.Detail = "cheer", "◆", "cheered "+plural(p.Bits, "bit", "bits"), p.Message
		anonymous(&r, p.IsAnonymous)
	case eventsub.ChannelRaid:
		r.Kind, r.Icon, r.Action = "raid", "⚑", "raided with "+plural(p.Viewers, "viewer", "viewers")
	case eventsub.StreamOnline:
		r.Kind, r.Icon, r.User, r.Action = "stream", "●", "", "Stream went live"
		if p.Type != "" && p.Type != "live" {
			r.Detail = "Stream type: " + p.Type
		}
	case eventsub.StreamOffline:
		r.Kind, r.Icon, r.User, r.Action = "stream", "○", "", "Stream went offline"
	case eventsub.ChannelPointsRedemption:
		r.Kind, r.Icon = "points", "✦"
		r.Action = fmt.Sprintf("redeemed %s (%s)", p.Reward.Title, plural(p.Reward.Cost, "point", "points"))
		r.Detail = p.UserInput
	case eventsub.UserAuthorizationRevoke:
		r.Kind, r.Icon, r.Action = "other", "⊘", "revoked this app's access"
	default:
		r.Kind, r.Icon, r.Action = "other", "•", ev.Type+" (v"+ev.Version+")"
	}
	return r
}

func anonymous(r *views.EventRow, anon bool) {
	if anon || r.User == "" {
		r.User = "Anonymous"
	}
}

func tierName(t string) string {
	switch t {
	case "2000":
		return "Tier 2"
	case "3000":
		return "Tier 3"
	default:
		return "Tier 1"
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

package web

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// alert is what the overlay plays: who, what, how much, in the dashboard's own words.
type alert struct {
	ID     int64  `json:"id"` // the (newest) event's id; 0 for a test alert
	Type   string `json:"type"`
	User   string `json:"user"`
	Text   string `json:"text"`
	Detail string `json:"detail"`
	// DurationMs is how long it shows (0: the page's default, OVERLAY_ALERT_DURATION).
	DurationMs int `json:"duration_ms,omitempty"`
}

func presentAlert(ev store.Event) alert {
	r := presentEvent(ev)
	return alert{ID: ev.ID, Type: ev.Type, User: r.User, Text: r.Action, Detail: r.Detail}
}

// styled applies the streamer's settings for the alert's type: a template replaces the
// wording (user and text become one line), a duration replaces the default.
func styled(al alert, ev store.Event, set store.AlertSetting) alert {
	if set.DurationSeconds > 0 {
		al.DurationMs = set.DurationSeconds * 1000
	}
	if set.Template != "" {
		al.Text = fillTemplate(set.Template, al.User, ev)
		al.User, al.Detail = "", ""
	}
	return al
}

// fillTemplate fills {user}, {amount} (bits, viewers, gifted subs, points) and {message}. The
// overlay sets the result as text, never as HTML.
func fillTemplate(tmpl, user string, ev store.Event) string {
	var p eventsub.Payload
	_ = json.Unmarshal([]byte(ev.Payload), &p)
	k, _ := eventsub.Lookup(ev.Type)
	return strings.NewReplacer("{user}", user, "{amount}", strconv.Itoa(k.Amount(p)), "{message}", k.Message(p)).Replace(tmpl)
}

// floodRule collapses a burst of follows (a follow bot, a raid's viewers) into one alert.
type floodRule struct {
	Threshold int           // more follows than this in one burst play as one "N new followers"
	Quiet     time.Duration // a burst ends when no follow came for this long
	Window    time.Duration // and at the latest this long after its first follow
}

var defaultFlood = floodRule{Threshold: 20, Quiet: time.Second, Window: 10 * time.Second}

// alerter writes one overlay stream's alerts in id order. Follows are held until their burst
// ends, then played one by one or, past the threshold, as one alert carrying the newest id, so
// a resumed stream never plays any of them again.
type alerter struct {
	w      io.Writer
	cursor int64 // the newest event id seen, played or not
	maxAge time.Duration
	now    func() time.Time
	flood  floodRule
	// safeMode drops follow alerts (a follow bot is at work); the follows are still stored.
	safeMode bool
	settings map[string]store.AlertSetting // by type; a type without one plays as the dashboard words it

	held      []store.Event // the burst's first follows, up to the threshold + 1
	heldN     int           // every follow of the burst
	heldLast  int64
	heldSince time.Time
	timer     *time.Timer
}

// add takes the next stored event, in id order.
func (a *alerter) add(ev store.Event) {
	if ev.ID <= a.cursor {
		return
	}
	a.cursor = ev.ID
	if !alertable(ev, a.now(), a.maxAge) {
		return
	}
	if ev.Type == eventsub.ChannelFollow && a.safeMode || a.off(ev.Type) {
		return
	}
	if ev.Type != eventsub.ChannelFollow {
		a.flush() // the held follows came first
		a.play(ev)
		return
	}
	if a.heldN == 0 {
		a.heldSince = time.Now()
	}
	a.heldN++
	a.heldLast = ev.ID
	if len(a.held) <= a.flood.Threshold {
		a.held = append(a.held, ev)
	}
	if time.Since(a.heldSince) >= a.flood.Window {
		a.flush()
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timer = time.NewTimer(a.flood.Quiet)
}

// setSafeMode turns follow alerts off (dropping those held) or back on.
func (a *alerter) setSafeMode(on bool) {
	a.safeMode = on
	if on && a.timer != nil {
		a.timer.Stop()
		a.timer, a.held, a.heldN = nil, nil, 0
	}
}

// quiet fires when the held burst has ended (nil channel: nothing held).
func (a *alerter) quiet() <-chan time.Time {
	if a.timer == nil {
		return nil
	}
	return a.timer.C
}

// flush plays the held follows.
func (a *alerter) flush() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	held, n, last := a.held, a.heldN, a.heldLast
	a.held, a.heldN = nil, 0
	if n > a.flood.Threshold {
		al := alert{ID: last, Type: eventsub.ChannelFollow, Text: fmt.Sprintf("%d new followers", n)}
		if d := a.settings[eventsub.ChannelFollow].DurationSeconds; d > 0 {
			al.DurationMs = d * 1000
		}
		a.write(al)
		return
	}
	for _, ev := range held {
		a.play(ev)
	}
}

// off reports whether the streamer turned the type's alerts off.
func (a *alerter) off(typ string) bool {
	set, ok := a.settings[typ]
	if !ok {
		k, _ := eventsub.Lookup(typ)
		return k.Alert == eventsub.AlertOff
	}
	return !set.Enabled
}

// play writes ev's alert with the streamer's settings.
func (a *alerter) play(ev store.Event) {
	set, ok := a.settings[ev.Type]
	if !ok {
		a.write(presentAlert(ev))
		return
	}
	a.write(styled(presentAlert(ev), ev, set))
}

// catchUp replays what a reconnecting overlay missed, from the database.
func (a *alerter) catchUp(c *gin.Context, s *store.Store, broadcaster string) error {
	for {
		evs, err := s.ShownAfter(c.Request.Context(), broadcaster, store.Shown{Superseded: true}, a.cursor, catchUpLimit)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			a.add(ev)
		}
		if len(evs) < catchUpLimit {
			return nil
		}
	}
}

func (a *alerter) write(al alert) {
	data, _ := json.Marshal(al) // strings and numbers only
	writeSSE(a.w, "alert", al.ID, string(data))
}

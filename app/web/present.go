package web

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// presentEvent turns a stored event into the row the dashboard shows, in the catalog's words.
func presentEvent(ev store.Event) views.EventRow {
	var p eventsub.Payload
	_ = json.Unmarshal([]byte(ev.Payload), &p) // a stored payload is valid JSON; odd fields stay zero
	at := ev.OccurredAt.UTC()
	w := eventsub.Word(ev.Type, ev.Version, firstNonEmpty(ev.UserName, ev.UserLogin), p)
	r := views.EventRow{ID: ev.ID, Type: ev.Type, Kind: w.Kind, Icon: w.Icon, User: w.User, Action: w.Action, Detail: w.Detail,
		AtISO: at.Format(time.RFC3339), AtText: at.Format("Jan 2, 15:04:05 UTC"), At: at,
		Cursor: store.CursorOf(ev).String()}
	if ev.GroupKey != nil {
		r.Group = *ev.GroupKey
	}
	if ev.Source == store.SourceBackfill && r.Detail == "" {
		r.Detail = "From your follower history"
	}
	return r
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

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

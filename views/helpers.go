package views

import (
	"encoding/json"
	"strconv"
)

func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

func eventDOMID(r EventRow) string {
	if r.Group != "" {
		return r.Group
	}
	return "event-" + strconv.FormatInt(r.ID, 10)
}

// pusherState is the Pusher panel's data-state: the word tests and styles key on.
func pusherState(p *PusherStatus) string {
	switch {
	case p.Failing:
		return "failing"
	case p.Lagging:
		return "lagging"
	case p.Pending > 0:
		return "publishing"
	}
	return "ok"
}

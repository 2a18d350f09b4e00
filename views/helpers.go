package views

import (
	"encoding/json"
	"strconv"
)

func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

func eventDOMID(id int64) string { return "event-" + strconv.FormatInt(id, 10) }

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

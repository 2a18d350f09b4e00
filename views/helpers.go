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

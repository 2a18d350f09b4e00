package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// dashboardEventTypes saves the event types the streamer wants (the checked boxes) and, for a
// Twitch account, creates and deletes subscriptions to match. The demo only stores the choice.
func (s *Server) dashboardEventTypes(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	checked := c.PostFormArray("type")
	choices := make(map[string]bool, len(eventsub.Kinds))
	for _, k := range eventsub.Kinds {
		choices[k.Type] = false
	}
	for _, t := range checked {
		if _, ok := choices[t]; !ok {
			return badRequest("Choose among the event types the dashboard lists.", nil)
		}
		choices[t] = true
	}
	ctx := c.Request.Context()
	if err := s.store.SaveEventTypeChoices(ctx, b, choices, s.now()); err != nil {
		return unavailable("Your choice could not be saved: the database is not answering.", err)
	}
	if s.accounts != nil {
		if _, err := s.store.AccountByID(ctx, b); err == nil {
			ctx, cancel := context.WithTimeout(ctx, setupTimeout)
			defer cancel()
			// Failures are on the subscription rows, where the panel shows them.
			if err := s.accounts.ApplyEventTypes(ctx, b); err != nil {
				s.log.Warn("apply event types", "broadcaster_id", b, "err", err)
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return unavailable("Your account could not be loaded: the database is not answering.", err)
		}
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// eventTypeOptions are the event types with the streamer's choice of each; chosen says whether
// the streamer ever saved a choice (or the defaults apply).
func (s *Server) eventTypeOptions(ctx context.Context, broadcasterID string) (opts []views.EventTypeOption, chosen bool, err error) {
	choices, err := s.store.EventTypeChoices(ctx, broadcasterID)
	if err != nil {
		return nil, false, unavailable("Your settings could not be loaded: the database is not answering.", err)
	}
	enabled := map[string]bool{}
	for _, k := range eventsub.EnabledKinds(choices) {
		enabled[k.Type] = true
	}
	opts = make([]views.EventTypeOption, 0, len(eventsub.Kinds))
	for _, k := range eventsub.Kinds {
		opts = append(opts, views.EventTypeOption{Type: k.Type, Label: k.Label, Enabled: enabled[k.Type],
			CaughtUp: k.CaughtUp})
	}
	return opts, len(choices) > 0, nil
}

// typeFilter is the ?type= of a dashboard request: "" for every type, else a known type.
func typeFilter(c *gin.Context) (string, error) {
	t := c.Query("type")
	if t == "" {
		return "", nil
	}
	if _, ok := eventsub.KindOf(t); !ok {
		return "", badRequest("type must be one of the event types the dashboard lists", nil)
	}
	return t, nil
}

// withType adds the type filter to a dashboard URL.
func withType(u, filter string) string {
	if filter == "" {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "type=" + url.QueryEscape(filter)
}

// filterLinks are the dashboard's "All" link and one per event type, the current one marked.
func filterLinks(current string) []views.FilterLink {
	links := []views.FilterLink{{Label: "All", URL: "/dashboard", Current: current == ""}}
	for _, k := range eventsub.Kinds {
		links = append(links, views.FilterLink{Type: k.Type, Label: k.Label,
			URL: withType("/dashboard", k.Type), Current: current == k.Type})
	}
	return links
}

package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/views"
)

// pusherLagging is how old the oldest unpublished event may get before the dashboard says so.
const pusherLagging = 30 * time.Second

// pusherAuth signs a pusher-js subscription to the signed-in streamer's own private channel:
// form socket_id and channel_name, as pusher-js sends them, with the CSRF token as X-CSRF-Token.
func (s *Server) pusherAuth(c *gin.Context) error {
	if s.pusher == nil {
		return notFoundErr("Pusher is not configured.")
	}
	channel := c.PostForm("channel_name")
	if channel != pusher.Channel(sessionOf(c).BroadcasterID) {
		return forbidden("You may only subscribe to your own channel.", nil)
	}
	body, err := s.pusher.Authorize(c.PostForm("socket_id"), channel)
	if err != nil {
		return badRequest("socket_id is not a Pusher socket id.", err)
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", body)
	return nil
}

// pusherStatus is the Pusher line of the dashboard (nil when Pusher is not configured).
func (s *Server) pusherStatus(ctx context.Context, broadcasterID string) (*views.PusherStatus, error) {
	if s.pusher == nil {
		return nil, nil
	}
	st, err := s.store.OutboxStatsOf(ctx, broadcasterID)
	if err != nil {
		return nil, unavailable("Your Pusher status could not be loaded: the database is not answering.", err)
	}
	v := &views.PusherStatus{Channel: pusher.Channel(broadcasterID), Pending: st.Pending, LastError: st.LastError}
	if st.Oldest != nil {
		age := s.now().Sub(st.Oldest.CreatedAt).Round(time.Second)
		v.OldestAge = age.String()
		v.Failing = st.Oldest.Attempts > 0 || st.LastError != ""
		v.Lagging = age > pusherLagging
	}
	switch {
	case v.Failing:
		v.Summary = "Pusher is failing: " + plural(v.Pending, "event", "events") + " not published yet, retrying"
	case v.Lagging:
		v.Summary = "Pusher is lagging: " + plural(v.Pending, "event", "events") + " waiting, the oldest for " + v.OldestAge
	case v.Pending > 0:
		v.Summary = plural(v.Pending, "event", "events") + " being published"
	default:
		v.Summary = "up to date"
	}
	return v, nil
}

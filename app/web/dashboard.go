package web

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/export"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

const pageSize = 50

// dashboard is the streamer's live event list, newest first.
func (s *Server) dashboard(c *gin.Context) error {
	events, err := s.eventPage(c, store.Cursor{})
	if err != nil {
		return err
	}
	status, err := s.accountStatus(c.Request.Context(), sessionOf(c).BroadcasterID)
	if err != nil {
		return err
	}
	pusherStatus, err := s.pusherStatus(c.Request.Context(), sessionOf(c).BroadcasterID)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.DashboardPage(views.Dashboard{
		Page: s.page(c, "Dashboard"), Events: events, Demo: s.cfg.Demo(), Status: status, Pusher: pusherStatus,
		StreamURL: "/dashboard/stream", TestFollowURL: "/dashboard/test-follow",
		ExportURL: "/dashboard/export.csv", CallbackURL: s.callbackURL(),
	}), nil)
}

// dashboardEvents is the "older events" pager: the next page of rows after ?before=CURSOR.
func (s *Server) dashboardEvents(c *gin.Context) error {
	after, err := store.ParseCursor(c.Query("before"))
	if err != nil {
		return badRequest("before must be a position in the event list", err)
	}
	events, err := s.eventPage(c, after)
	if err != nil {
		return err
	}
	c.Header("Vary", "HX-Request")
	return s.renderPage(c, http.StatusOK, views.OlderEvents(events))
}

// eventPage loads one page of the signed-in streamer's timeline after the cursor (zero: the top).
func (s *Server) eventPage(c *gin.Context, after store.Cursor) (views.EventPage, error) {
	evs, err := s.store.Timeline(c.Request.Context(), sessionOf(c).BroadcasterID, after, pageSize+1)
	if err != nil {
		return views.EventPage{}, unavailable("Your events could not be loaded: the database is not answering.", err)
	}
	return pageOf(evs), nil
}

// pageOf turns up to pageSize+1 timeline events into a page of rows and, when there are more,
// the pager's URL.
func pageOf(evs []store.Event) views.EventPage {
	var p views.EventPage
	if len(evs) > pageSize {
		evs = evs[:pageSize]
		p.OlderURL = "/dashboard/events?before=" + store.CursorOf(evs[len(evs)-1]).String()
	}
	for _, ev := range evs {
		p.Rows = append(p.Rows, presentEvent(ev))
	}
	return p
}

// dashboardExport downloads the signed-in streamer's events as CSV.
func (s *Server) dashboardExport(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="twitch-events-%s.csv"`, b))
	c.Header("Cache-Control", "no-store")
	if err := export.Write(c.Request.Context(), c.Writer, s.store, b, export.CSV); err != nil {
		return unavailable("The export could not be completed.", err)
	}
	return nil
}

// dashboardTestFollow signs a realistic channel.follow notification with the app's secret and
// sends it through the real webhook route, exactly as Twitch would (only without the network).
func (s *Server) dashboardTestFollow(c *gin.Context) error {
	if !s.cfg.Demo() {
		return notFoundErr("Test follows are part of the demo.")
	}
	sess := sessionOf(c)
	follower := randomFollower()
	msg, err := eventsub.NewFollow(s.cfg.EventSubSecret, s.callbackURL(),
		eventsub.Follower{ID: sess.BroadcasterID, Login: sess.Login, Name: sess.DisplayName}, follower, s.now())
	if err != nil {
		return err
	}
	req, err := msg.Request("/webhooks/twitch")
	if err != nil {
		return err
	}
	req = req.WithContext(c.Request.Context())
	rec := httptest.NewRecorder()
	s.router.ServeHTTP(rec, req)
	if rec.Code == http.StatusServiceUnavailable {
		return unavailable("The test follow could not be stored: the database is not answering.", nil)
	}
	if rec.Code != http.StatusNoContent {
		return fmt.Errorf("test follow: webhook answered %d: %s", rec.Code, rec.Body.String())
	}
	if c.GetHeader("HX-Request") == "true" {
		c.Status(http.StatusNoContent)
		return nil
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

func (s *Server) callbackURL() string { return s.cfg.PublicURL.String() + "/webhooks/twitch" }

var (
	followerAdjectives = []string{"pixel", "cozy", "turbo", "lucky", "sleepy", "cosmic", "salty", "mighty"}
	followerNouns      = []string{"otter", "gamer", "panda", "wizard", "speedrunner", "lurker", "goblin", "falcon"}
)

// randomFollower invents a plausible viewer for a test follow.
func randomFollower() eventsub.Follower {
	login := fmt.Sprintf("%s_%s_%d", followerAdjectives[rand.IntN(len(followerAdjectives))],
		followerNouns[rand.IntN(len(followerNouns))], rand.IntN(9000)+1000)
	return eventsub.Follower{ID: strconv.Itoa(rand.IntN(900_000_000) + 100_000_000), Login: login, Name: login}
}

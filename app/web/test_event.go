package web

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// dashboardTestEvent signs a realistic notification of the posted type with the app's secret
// and sends it through the real webhook route, exactly as Twitch would (only without the network).
func (s *Server) dashboardTestEvent(c *gin.Context) error {
	typ := c.PostForm("type")
	if _, ok := eventsub.KindOf(typ); !ok {
		return badRequest("Choose one of the event types the dashboard lists.", nil)
	}
	return s.sendTestEvent(c, typ)
}

// dashboardTestFollow is the demo's first button, kept at its own address.
func (s *Server) dashboardTestFollow(c *gin.Context) error {
	return s.sendTestEvent(c, eventsub.ChannelFollow)
}

func (s *Server) sendTestEvent(c *gin.Context, typ string) error {
	if !s.cfg.Demo() {
		return notFoundErr("Test events are part of the demo.")
	}
	sess := sessionOf(c)
	broadcaster := eventsub.Follower{ID: sess.BroadcasterID, Login: sess.Login, Name: sess.DisplayName}
	msg, err := eventsub.NewSample(s.cfg.EventSubSecret, s.callbackURL(), typ, broadcaster, randomFollower(), s.now())
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
		return unavailable("The test event could not be stored: the database is not answering.", nil)
	}
	if rec.Code != http.StatusNoContent {
		return fmt.Errorf("test %s: webhook answered %d: %s", typ, rec.Code, rec.Body.String())
	}
	if c.GetHeader("HX-Request") == "true" {
		c.Status(http.StatusNoContent)
		return nil
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

var (
	followerAdjectives = []string{"pixel", "cozy", "turbo", "lucky", "sleepy", "cosmic", "salty", "mighty"}
	followerNouns      = []string{"otter", "gamer", "panda", "wizard", "speedrunner", "lurker", "goblin", "falcon"}
)

// randomFollower invents a plausible viewer for a test event.
func randomFollower() eventsub.Follower {
	login := fmt.Sprintf("%s_%s_%d", followerAdjectives[rand.IntN(len(followerAdjectives))],
		followerNouns[rand.IntN(len(followerNouns))], rand.IntN(9000)+1000)
	return eventsub.Follower{ID: strconv.Itoa(rand.IntN(900_000_000) + 100_000_000), Login: login, Name: login}
}

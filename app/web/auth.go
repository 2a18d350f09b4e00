package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/views"
)

const demoLogin, demoDisplayName = "demo_streamer", "Demo Streamer"

// landing is the start page; signed-in streamers go straight to their dashboard.
func (s *Server) landing(c *gin.Context) error {
	if sessionOf(c) != nil {
		c.Redirect(http.StatusSeeOther, "/dashboard")
		return nil
	}
	v := views.Landing{Page: s.page(c, "Welcome"), Demo: s.cfg.Demo(), TwitchSignIn: s.accounts != nil,
		DemoBroadcasterID: s.cfg.DemoBroadcasterID}
	if v.TwitchSignIn {
		for _, u := range accounts.ScopeUses() { // what ConfigureGoth asks Twitch for
			v.Permissions = append(v.Permissions, views.Permission{Scope: u.Scope, Reason: u.Reason})
		}
	}
	return s.render(c, http.StatusOK, views.LandingPage(v), nil)
}

// demoSignIn signs in as the demo streamer; it exists only without Twitch credentials.
func (s *Server) demoSignIn(c *gin.Context) error {
	if !s.cfg.Demo() {
		return notFoundErr("The demo is off: this app signs in with Twitch.")
	}
	s.replaceSession(c)
	if err := s.startSession(c, s.cfg.DemoBroadcasterID, demoLogin, demoDisplayName); err != nil {
		return unavailable("Could not sign you in: the database is not answering.", err)
	}
	s.log.Info("signed in", "broadcaster_id", s.cfg.DemoBroadcasterID, "method", "demo")
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// logout ends the session everywhere at once: the server-side record is deleted.
func (s *Server) logout(c *gin.Context) error {
	if sess := sessionOf(c); sess != nil {
		if err := s.store.DeleteSession(c.Request.Context(), sess.TokenHash); err != nil {
			return unavailable("Could not sign you out: the database is not answering.", err)
		}
		s.forgetSession(c.Request.Context(), sess.BroadcasterID, sess.TokenHash)
	}
	s.clearCookie(c, sessionCookie)
	c.Redirect(http.StatusSeeOther, "/")
	return nil
}

// replaceSession deletes the session a new sign-in replaces (never reusing a token from before).
func (s *Server) replaceSession(c *gin.Context) {
	if sess := sessionOf(c); sess != nil {
		_ = s.store.DeleteSession(c.Request.Context(), sess.TokenHash)
		s.forgetSession(c.Request.Context(), sess.BroadcasterID, sess.TokenHash)
	}
}

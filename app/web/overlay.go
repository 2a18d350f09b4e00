package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// The OBS overlay lives at a secret URL, /overlay/{token}: the token is the only credential (a
// browser source has no session), so only its SHA-256 is stored and rotating it ends the old one.

// overlayPage is the browser source: a transparent page that plays each new event as an alert.
func (s *Server) overlayPage(c *gin.Context) error {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Robots-Tag", "noindex")
	ov, err := s.overlayOf(c)
	if err != nil {
		// OBS shows this page over the stream: an error page would cover the whole scene.
		v := views.OverlayUnavailableView{CSS: s.assets.URL("overlay.css"),
			Notice: "This overlay URL no longer works. Copy the current one from your dashboard."}
		status := http.StatusNotFound
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusNotFound {
			status, v.Notice, v.Retry = http.StatusServiceUnavailable, "Alerts paused: the app cannot reach its database. Retrying…", 10
			s.log.Error("overlay page", "err", err)
		}
		return s.renderPage(c, status, views.OverlayUnavailable(v))
	}
	return s.renderPage(c, http.StatusOK, views.OverlayPage(views.OverlayView{
		CSS: s.assets.URL("overlay.css"), Script: s.assets.URL("overlay.js"),
		StreamURL: c.Request.URL.Path + "/stream", StorageKey: "tev-overlay-" + ov.TokenHash[:16],
		AlertMillis: int(s.cfg.OverlayAlert.Milliseconds()), CustomCSS: ov.CustomCSS,
		StateURL: c.Request.URL.Path + "/state", QueueRules: queueRulesJSON(ov.QueueRules),
	}))
}

// overlayOf finds the overlay the URL's token opens; an unknown or rotated token is a 404.
func (s *Server) overlayOf(c *gin.Context) (*store.Overlay, error) {
	ov, err := s.store.OverlayByTokenHash(c.Request.Context(), tokenHash(c.Param("token")))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundErr("There is no overlay at this address. Copy the current URL from your dashboard.")
	case err != nil:
		return nil, unavailable("The database is not answering.", err)
	}
	return ov, nil
}

// dashboardOverlayRotate makes a new overlay URL (the first one, or a replacement): the old URL
// stops working at once and its open streams end. The URL is shown this once: only its hash is kept.
func (s *Server) dashboardOverlayRotate(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	_, err := s.store.OverlayOf(c.Request.Context(), b)
	first := errors.Is(err, store.ErrNotFound)
	token := newToken()
	if err := s.store.SaveOverlay(c.Request.Context(), &store.Overlay{BroadcasterID: b, TokenHash: tokenHash(token), CreatedAt: s.now()}); err != nil {
		return unavailable("The overlay URL could not be saved: the database is not answering.", err)
	}
	s.tellOverlaysLogged(c, b, overlay.Signal{Kind: overlay.Rotated})
	panel, err := s.overlayPanel(c.Request.Context(), b, csrfToken(c))
	if err != nil {
		return err
	}
	panel.URL = s.cfg.PublicURL.String() + "/overlay/" + token
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.OverlayCreatedPage(views.OverlayCreated{Page: s.page(c, "Overlay URL"), Panel: panel}),
		views.OverlayCreatedAnswer(panel, first))
}

// overlayPanel is the dashboard's overlay section.
func (s *Server) overlayPanel(ctx context.Context, broadcaster, csrf string) (views.OverlayPanelView, error) {
	ov, err := s.store.OverlayOf(ctx, broadcaster)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return views.OverlayPanelView{}, unavailable("Your overlay could not be loaded: the database is not answering.", err)
	}
	var types []views.EventTypeOption
	for _, k := range eventsub.Kinds {
		if k.Alert != eventsub.NoAlert {
			types = append(types, views.EventTypeOption{Type: k.Type, Label: k.Label})
		}
	}
	v := views.OverlayPanelView{Exists: err == nil, RotateURL: "/dashboard/overlay/rotate", CSRF: csrf,
		Status: s.overlayStatus(ctx, broadcaster, csrf), TestURL: "/dashboard/overlay/test-alert", TestTypes: types,
		SafeURL: "/dashboard/overlay/safe-mode", AlertsURL: "/dashboard/overlay/alerts", PreviewURL: "/dashboard/overlay/preview", MaxCSS: maxCSS}
	if ov == nil {
		return v, nil
	}
	p, err := s.alertPolicy(ctx, ov)
	if err != nil {
		return v, err
	}
	v.CustomCSS, v.SafeMode, v.Alerts = ov.CustomCSS, p.SafeMode(), alertSettingsView(p)
	v.QueueRules = queueRulesView(ov.QueueRules)
	return v, nil
}

// dashboardOverlayTestAlert plays a sample alert of the posted type on the streamer's open
// overlays. Unlike the demo's test events it is not stored: it never reaches the event list. A
// type that is switched off plays nothing, and the answer says why.
func (s *Server) dashboardOverlayTestAlert(c *gin.Context) error {
	sample, err := s.sampleAlertEvent(c, c.PostForm("type"))
	if err != nil {
		return err
	}
	ov, err := s.store.OverlayOf(c.Request.Context(), sample.BroadcasterID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return badRequest("There is no overlay yet: create its URL first.", nil)
	case err != nil:
		return unavailable("The test alert could not be sent: the database is not answering.", err)
	}
	p, err := s.alertPolicy(c.Request.Context(), ov)
	if err != nil {
		return err
	}
	res := views.OverlayTestResult{Type: sample.Type, Played: p.Plays(sample.Type), Message: p.WhyNot(sample.Type)}
	if res.Played {
		if err := s.tellOverlays(c.Request.Context(), sample.BroadcasterID, overlay.Signal{Kind: overlay.TestAlert, Test: &sample}); err != nil {
			return unavailable("The test alert could not reach every instance; try again.", err)
		}
		if c.GetHeader("HX-Request") != "true" {
			c.Redirect(http.StatusSeeOther, "/dashboard")
			return nil
		}
		k, _ := eventsub.KindOf(sample.Type)
		res.Message = "Test alert sent: " + k.Label + "."
		if s.overlaysConnected(c.Request.Context(), sample.BroadcasterID) == 0 {
			res.Message += " No overlay is connected, so nothing shows."
		}
	}
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.OverlayTestResultPage(s.page(c, "Test alert"), res), views.OverlayTestResultLine(res))
}

// dashboardOverlaySafeMode turns follow alerts off (on=1) or back on: one click when a follow
// bot floods the channel. It is the same switch as the Follows row of the alert settings. The
// follows are still stored and listed.
func (s *Server) dashboardOverlaySafeMode(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	if err := s.store.SetAlertEnabled(c.Request.Context(), b, eventsub.ChannelFollow, c.PostForm("on") != "1"); err != nil {
		return unavailable("Safe mode could not be saved: the database is not answering.", err)
	}
	s.tellOverlaysLogged(c, b, overlay.Signal{Kind: overlay.SettingsChanged})
	if c.GetHeader("HX-Request") != "true" {
		c.Redirect(http.StatusSeeOther, "/dashboard")
		return nil
	}
	panel, err := s.overlayPanel(c.Request.Context(), b, csrfToken(c))
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, views.OverlaySafeModeAnswer(panel))
}

// dashboardOverlayControl pauses, resumes, skips or clears the alert queue of the streamer's open
// overlays, on every instance. It is a command for now, not a setting: nothing is stored, and an
// overlay that connects later starts unpaused.
func (s *Server) dashboardOverlayControl(c *gin.Context) error {
	action, ok := overlay.ParseControl(c.PostForm("action"))
	if !ok {
		return badRequest("Choose pause, resume, skip or clear.", nil)
	}
	if err := s.tellOverlays(c.Request.Context(), sessionOf(c).BroadcasterID, overlay.Signal{Kind: action}); err != nil {
		return unavailable("The command could not reach every instance; try again.", err)
	}
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Trigger", "tev-queue") // the queue's status refreshes once the overlays have reported
		c.Status(http.StatusNoContent)
		return nil
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// sampleAlertEvent is an unstored sample event of typ for the signed-in streamer, played by test
// alerts and the settings preview.
func (s *Server) sampleAlertEvent(c *gin.Context, typ string) (store.Event, error) {
	sess := sessionOf(c)
	ev, err := overlay.Sample(typ, eventsub.Follower{ID: sess.BroadcasterID, Login: sess.Login, Name: sess.DisplayName}, randomFollower(), s.now())
	if errors.Is(err, overlay.ErrNotAlert) {
		return store.Event{}, badRequest("Choose one of the alert types the overlay panel lists.", nil)
	}
	return ev, err
}

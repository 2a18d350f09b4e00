package web

import "github.com/gin-gonic/gin"

// routes is the table of contents: every route the app serves, grouped by middleware.
func (s *Server) routes() {
	r := s.router
	r.Use(gin.CustomRecoveryWithWriter(nil, s.recoverPanic), s.logRequests, securityHeaders, bodyDeadline(s.bodyWait))
	r.NoRoute(s.handle(s.notFound))

	// Machines: health checks, static files, Twitch. No session, no CSRF (Twitch signs instead).
	r.GET("/healthz", s.handle(s.healthz))
	r.GET("/assets/*file", gin.WrapH(s.assets))
	if s.metrics != nil && s.cfg.MetricsToken != "" {
		r.GET("/metrics", gin.WrapH(s.metrics.Handler(s.cfg.MetricsToken))) // Prometheus; bearer METRICS_TOKEN
	}
	r.POST("/webhooks/twitch", s.handle(s.twitchWebhook))

	// OBS overlays: the secret token in the URL is the credential (a browser source has no session).
	r.GET("/overlay/:token", s.handle(s.overlayPage))
	r.GET("/overlay/:token/stream", s.handle(s.overlayStream))
	r.POST("/overlay/:token/state", s.handle(s.overlayState)) // the page's alert queue, for the dashboard
	r.GET("/media/:id", s.handle(s.overlayMedia))             // alert images and sounds by random id

	// People: every route below knows the session, and every POST carries a CSRF token.
	people := r.Group("/", limitBody(maxSettingsBody), bodyDeadline(formTimeoutFactor*s.bodyWait), s.loadSession, s.csrf)
	people.GET("/", s.handle(s.landing))
	people.POST("/auth/demo", s.handle(s.demoSignIn))
	people.POST("/auth/logout", s.handle(s.logout))
	people.GET("/auth/twitch", s.handle(s.twitchSignIn))
	people.GET("/auth/twitch/callback", s.handle(s.twitchCallback))

	dash := people.Group("/dashboard", s.requireSession)
	dash.GET("", s.handle(s.dashboard))
	dash.GET("/events", s.handle(s.dashboardEvents))
	dash.GET("/stream", s.handle(s.dashboardStream))
	dash.GET("/export.csv", s.handle(s.dashboardExport))
	dash.POST("/test-follow", s.handle(s.dashboardTestFollow))
	dash.POST("/test-event", s.handle(s.dashboardTestEvent))
	dash.POST("/event-types", s.handle(s.dashboardEventTypes))
	dash.POST("/resubscribe", s.handle(s.dashboardResubscribe))
	dash.POST("/history", s.handle(s.dashboardHistory))
	dash.POST("/account/delete", s.handle(s.dashboardDeleteAccount))
	dash.POST("/overlay/rotate", s.handle(s.dashboardOverlayRotate))
	dash.GET("/overlay/status", s.handle(s.dashboardOverlayStatus))
	dash.POST("/overlay/test-alert", s.handle(s.dashboardOverlayTestAlert))
	dash.POST("/overlay/safe-mode", s.handle(s.dashboardOverlaySafeMode))
	dash.POST("/overlay/control", s.handle(s.dashboardOverlayControl))
	dash.POST("/overlay/alerts", s.handle(s.dashboardOverlayAlerts))
	dash.POST("/overlay/preview", s.handle(s.dashboardOverlayPreview))

	// pusher-js asks here to subscribe to the streamer's private channel (CSRF token as a header).
	people.POST("/pusher/auth", s.requireSession, s.handle(s.pusherAuth))
}

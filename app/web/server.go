// Package web is the HTTP face of the app: the gin router, its handlers and the SSE stream.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/assets"
	"github.com/twitch-event-viewer/tev/views"
)

// Options are the server's dependencies. Zero Heartbeat and Now take defaults.
type Options struct {
	Config    config.Config
	Store     *store.Store
	Hub       *hub.Hub          // nil: one is made over Store
	Bell      *doorbell.Bell    // nil: an in-process one (one instance)
	Presence  Counter           // nil: counts this instance's viewers only
	Ingest    *ingest.Batcher   // nil: one is made over Store, ringing Bell (for tests)
	Accounts  *accounts.Service // nil in demo mode
	Pusher    *pusher.Client    // nil when PUSHER_URL is unset
	Metrics   *metrics.Metrics  // nil: no counting (GET /metrics exists only with METRICS_TOKEN set)
	Logger    *slog.Logger
	Heartbeat time.Duration    // SSE comment interval; default 15s (proxies close idle streams at 30-60s)
	Now       func() time.Time // for tests of the replay window
	// BodyTimeout is how long a request body may take to arrive; default 10s. The people's forms,
	// with their uploads, get six times as long.
	BodyTimeout time.Duration
}

// Server serves the dashboard, the stream, the webhook and Pusher's channel authorization.
type Server struct {
	cfg        config.Config
	store      *store.Store
	hub        *hub.Hub
	bell       *doorbell.Bell
	presence   Counter
	ingest     *ingest.Batcher
	accounts   *accounts.Service
	pusher     *pusher.Client
	metrics    *metrics.Metrics
	assets     *assets.Catalog
	looks      overlay.Defaults // the default images and sounds of alerts
	log        *slog.Logger
	heartbeat  time.Duration
	bodyWait   time.Duration // see Options.BodyTimeout
	now        func() time.Time
	flood      overlay.FloodRule
	admission  *admission
	sessions   *sessionCache
	stateLimit *stateLimiter // overlay pages' queue reports, per overlay
	refused    refusals      // the rate-limited warning about refused webhooks
	router     *gin.Engine

	closing   chan struct{} // closed by Close: open SSE streams end
	closeOnce sync.Once
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	cat, err := assets.New("/assets")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{
		cfg: o.Config, store: o.Store, hub: o.Hub, bell: o.Bell, presence: o.Presence, ingest: o.Ingest, accounts: o.Accounts, pusher: o.Pusher, metrics: o.Metrics, assets: cat, log: o.Logger,
		heartbeat: o.Heartbeat, now: o.Now, flood: overlay.DefaultFlood, admission: newAdmission(o.Config), sessions: newSessionCache(), stateLimit: newStateLimiter(),
		closing: make(chan struct{}),
	}
	if o.Config.FloodFollows > 0 {
		s.flood.Threshold = o.Config.FloodFollows
	}
	if o.Config.FloodWindow > 0 {
		s.flood.Window = o.Config.FloodWindow
	}
	if s.heartbeat == 0 {
		s.heartbeat = 15 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.looks = alertDefaults(cat)
	if s.bodyWait = o.BodyTimeout; s.bodyWait == 0 {
		s.bodyWait = defaultBodyTimeout
	}
	if s.hub == nil {
		s.hub = NewHub(o.Store, nil, o.Metrics, o.Logger)
	}
	if s.bell == nil {
		s.bell = doorbell.New(doorbell.Options{Store: o.Store, Metrics: o.Metrics, Logger: o.Logger})
	}
	if s.ingest == nil {
		// Without Metrics: a test may build several servers with one Metrics, which would
		// register the queue depth twice.
		s.ingest = ingest.New(ingest.Options{Store: o.Store, Committed: s.bell.Committed, Logger: o.Logger})
	}
	s.bell.OnSignal(s.onSignal)
	go s.keepAlive()
	s.router = gin.New()
	s.router.ContextWithFallback = true // c.Done/c.Value follow the request's context
	// c.ClientIP() is the peer's address, or what a trusted proxy says in its header: stream
	// caps count by it, so a header from anyone else must not be believed.
	if err := s.router.SetTrustedProxies(o.Config.TrustedProxies); err != nil {
		return nil, fmt.Errorf("web: TRUSTED_PROXIES: %w", err)
	}
	if o.Config.ClientIPHeader != "" {
		s.router.RemoteIPHeaders = []string{o.Config.ClientIPHeader}
	}
	s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Close ends every open SSE stream; call it when the HTTP server starts shutting down, since
// http.Server.Shutdown waits for handlers and a stream never finishes on its own (and does not
// know the streams whose connections were taken over).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hub.Each(func(k hub.Sink) {
			if c, ok := k.(interface{ Close() }); ok {
				c.Close()
			}
		})
	})
}

// pageAssets are the hashed URLs every page loads.
func (s *Server) pageAssets() views.Assets {
	return views.Assets{
		CSS:     s.assets.URL("app.css"),
		HTMX:    s.assets.URL("htmx.min.js"),
		SSE:     s.assets.URL("htmx-ext-sse.min.js"),
		App:     s.assets.URL("app.js"),
		Favicon: s.assets.URL("favicon.svg"),
	}
}

// logRequests writes one line per request. The query string is left out: it may carry tokens.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelInfo
	switch {
	case c.FullPath() == "/healthz" || c.FullPath() == "/assets/*file" || c.FullPath() == "/metrics":
		level = slog.LevelDebug
	case c.FullPath() == "/webhooks/twitch" && (c.Writer.Status() < 300 || c.GetBool(refusedKey)):
		// Thousands a second under load, or from anyone: tev_webhooks_total counts them, and
		// refusals are summed up by the rate-limited "webhook refused" warning.
		level = slog.LevelDebug
	}
	s.log.LogAttrs(c.Request.Context(), level, "http request",
		slog.String("method", c.Request.Method), slog.String("path", logPath(c)),
		slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)))
}

// logPath is the request's path as logs may show it: an overlay's token is its credential,
// whether or not the path matched a route, and a stranger's path is cut short.
func logPath(c *gin.Context) string {
	route := c.FullPath()
	switch {
	case strings.HasPrefix(route, "/overlay/:token"):
		return strings.Replace(route, ":token", "…", 1)
	case route == "":
		return clip(maskOverlay(c.Request.URL.Path))
	}
	return clip(c.Request.URL.Path)
}

// securityHeaders applies to every response.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}

// healthz answers 200 when the database answers.
func (s *Server) healthz(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return unavailable("database unavailable", err)
	}
	c.String(http.StatusOK, "ok")
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/eventsubws"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/presence"
	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/web"
)

// reconcileEvery is how often EventSub subscriptions are compared with Twitch's list.
const reconcileEvery = 15 * time.Minute

// shutdownGrace is how long in-flight requests (webhooks being stored) get to finish.
const shutdownGrace = 20 * time.Second

// serve wires the app together and serves until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(stdout, cfg.LogLevel)
	gin.SetMode(gin.ReleaseMode) // library global, set in this one place
	cfg.StreamsMax = streamsMax(cfg.StreamsMax, log)

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	var pub *pusher.Client
	if cfg.PusherURL != "" {
		if pub, err = pusher.New(cfg.PusherURL); err != nil {
			return fmt.Errorf("PUSHER_URL %w", err)
		}
		st.EnableOutbox() // before anything stores an event
	}
	met := metrics.New()
	met.Outbox(st.OutboxTotals, time.Now)
	bell := doorbell.New(doorbell.Options{Store: st, Metrics: met, Logger: log})
	pres := presence.New(presence.Options{Store: st, Logger: log})
	h := web.NewHub(st, pres.Set, met, log)
	defer h.Close()
	ing := newIngest(st, bell, met, log)
	defer ing.Close() // on the way out before the store closes; after a shutdown, already closed
	var acc *accounts.Service
	var sessions *eventsubws.Manager
	if !cfg.Demo() {
		acc = newAccounts(cfg, st, ing, log)
		if cfg.WebSocket() {
			sessions = eventsubws.NewManager(eventsubws.Options{URL: cfg.EventSubWSURL.String(),
				Subscriber: acc, Ingest: ing, Logger: log})
			acc.UseSessions(sessions)
		}
		if err := acc.Reseal(ctx); err != nil {
			return fmt.Errorf("TOKEN_KEY: %w", err)
		}
		web.ConfigureGoth(cfg)
	}
	srv, err := web.New(web.Options{Config: cfg, Store: st, Hub: h, Bell: bell, Presence: pres, Ingest: ing, Accounts: acc, Pusher: pub, Metrics: met, Logger: log})
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(srv.Close)
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on PORT %d: %w", cfg.Port, err)
	}
	if !cfg.Demo() {
		log.Info("eventsub transport", "transport", cfg.EventSubTransport, "reason", cfg.TransportReason)
	}
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(),
		"database", st.Dialect(), "demo", cfg.Demo(), "pusher", pub != nil, "metrics", cfg.MetricsToken != "")
	if cfg.Demo() {
		log.Info("demo mode: open the public URL and choose \"Try the demo\"", "broadcaster_id", cfg.DemoBroadcasterID)
	}

	// The cleaner ends with serve, also when serve fails without ctx being canceled: it must
	// not outlive the store it uses.
	cleanCtx, stopCleaning := context.WithCancel(ctx)
	// The publisher is waited for: a batch Pusher accepted is marked published before the store
	// closes, or the next start would publish it again. Presence too: it deletes this
	// instance's rows on the way out, so the other instances stop counting its streams at once.
	var waited sync.WaitGroup
	defer func() { stopCleaning(); waited.Wait() }()
	go cleanSessions(cleanCtx, st, log)
	waited.Go(func() {
		if err := pres.Run(cleanCtx); err != nil {
			log.Error("presence stopped", "err", err)
		}
	})
	go func() {
		if err := bell.Run(cleanCtx); err != nil {
			log.Error("doorbell stopped", "err", err)
		}
	}()
	if sessions != nil {
		// Waited for: a notification being stored finishes before the store closes.
		waited.Go(func() { sessions.Run(cleanCtx) })
	}
	if acc != nil {
		go acc.Run(cleanCtx, reconcileEvery)
	}
	if pub != nil {
		waited.Go(func() { pusher.NewWorker(st, pub, log, pusher.WorkerOptions{}).Run(cleanCtx) })
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	ing.Close() // no webhook is in flight any more; what the history backfill queued is committed
	log.Info("stopped")
	return nil
}

// streamsMax is STREAMS_MAX when set; otherwise what the open file limit, raised to its hard
// limit, allows. 0 (no cap) only where the limit cannot be read.
func streamsMax(set int, log *slog.Logger) int {
	nofile, err := raiseOpenFiles()
	if err == nil && nofile == 0 {
		err = errors.New("this system has no open file limit to read")
	}
	switch {
	case set > 0:
		if err == nil && uint64(set) > nofile {
			log.Warn("STREAMS_MAX is above the open file limit: connections may fail before it is reached",
				"streams_max", set, "nofile", nofile)
		}
		return set
	case err != nil:
		log.Warn("open live streams are not capped: set STREAMS_MAX", "err", err)
		return 0
	}
	n := config.DefaultStreamsMax(nofile)
	log.Info("open live streams capped", "streams_max", n, "nofile", nofile)
	return n
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("database (DATABASE_URL/DATA_DIR): %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// cleanSessions deletes expired sessions hourly.
func cleanSessions(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.DeleteExpiredSessions(ctx, time.Now()); err != nil {
				log.Warn("clean expired sessions", "err", err)
			} else if n > 0 {
				log.Info("expired sessions removed", "count", n)
			}
		}
	}
}

// newIngest starts the batcher that stores events and publishes the new ones to the hub. SQLite
// has a single writer. On PostgreSQL a second transaction in flight keeps the disk busy while the
// next batch gathers; more writers make smaller batches and cost the database more per event
// (measured with `load` at 64 connections: 1 writer 8.0k/s, 2 writers 8.9k/s, 3 7.2k/s, 8 5.1k/s).
func newIngest(st *store.Store, bell *doorbell.Bell, met *metrics.Metrics, log *slog.Logger) *ingest.Batcher {
	writers := 1
	if st.Dialect() == store.Postgres {
		writers = 2
	}
	return ingest.New(ingest.Options{Store: st, Writers: writers, Committed: bell.Committed, Metrics: met, Logger: log})
}

// newAccounts wires the Twitch client and the account service.
func newAccounts(cfg config.Config, st *store.Store, rec accounts.Recorder, log *slog.Logger) *accounts.Service {
	tw := twitch.New(twitch.Config{ClientID: cfg.TwitchClientID, ClientSecret: cfg.TwitchSecret,
		AuthURL: cfg.TwitchAuthURL.String(), APIURL: cfg.TwitchAPIURL.String()})
	return accounts.New(accounts.Options{Store: st, Twitch: tw, Box: cfg.TokenBox, Ingest: rec, Logger: log,
		Callback: cfg.PublicURL.String() + "/webhooks/twitch", Secret: cfg.EventSubSecret, ClientID: cfg.TwitchClientID})
}

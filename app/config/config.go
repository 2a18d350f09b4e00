// Package config reads the app's settings from environment variables. Every error names the
// variable at fault.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
)

// Config is everything run needs to start the app.
type Config struct {
	Port              int
	DatabaseURL       string // empty: embedded SQLite in DataDir
	DataDir           string
	EventSubSecret    string
	SessionSecret     string
	PublicURL         *url.URL
	DemoBroadcasterID string
	TwitchClientID    string
	TwitchSecret      string
	TwitchAPIURL      *url.URL
	TwitchAuthURL     *url.URL
	TokenBox          *tokenbox.Box // seals Twitch tokens at rest; nil in demo mode without TOKEN_KEY
	PusherURL         string        // http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID; empty: no Pusher. Secret: never log it
	LogLevel          string
	OverlayMaxAge     time.Duration // overlay alerts older than this are skipped, not played late
	OverlayAlert      time.Duration // how long the overlay shows each alert
	FloodFollows      int           // more follows than this in one burst are a flood: one overlay alert
	FloodWindow       time.Duration // the longest a burst of follows lasts
	MetricsToken      string        // bearer token for GET /metrics; empty: no metrics endpoint. Secret: never log it
	StreamsPerSession int           // open live streams one session (or one overlay URL) may hold
	StreamsPerAddress int           // open live streams one client address may hold
	StreamsMax        int           // open live streams on this instance; 0: not set (serve derives it from RLIMIT_NOFILE)
	TrustedProxies    []string      // proxies (IPs, CIDRs) whose ClientIPHeader names the client; none: the peer is the client
	ClientIPHeader    string        // the header trusted proxies put the client's address in
	EventSubTransport string        // TransportWebhook or TransportWebSocket (auto resolved)
	TransportReason   string        // why EventSubTransport was chosen, for the dashboard
	EventSubWSURL     *url.URL      // the EventSub WebSocket endpoint
}

// WebSocket reports whether EventSub notifications arrive over the WebSocket transport.
func (c Config) WebSocket() bool { return c.EventSubTransport == TransportWebSocket }

// Demo reports whether the app runs without Twitch credentials, offering the demo sign-in.
func (c Config) Demo() bool { return c.TwitchClientID == "" }

// SecureCookies reports whether cookies must be marked Secure (the app is served over HTTPS).
func (c Config) SecureCookies() bool { return c.PublicURL.Scheme == "https" }

// Defaults, documented in the README.
const (
	DefaultPort              = 8080
	DefaultDataDir           = "./data"
	DefaultDemoBroadcasterID = "1337"
	DefaultTwitchAPIURL      = "https://api.twitch.tv/helix"
	DefaultTwitchAuthURL     = "https://id.twitch.tv/oauth2"
	minSessionSecret         = 32
	minMetricsToken          = 16
	DefaultOverlayMaxAge     = 2 * time.Minute
	DefaultOverlayAlert      = 5 * time.Second
	DefaultFloodFollows      = 20
	DefaultFloodWindow       = 10 * time.Second
	DefaultStreamsPerSession = 20
	DefaultStreamsPerAddress = 100
	DefaultClientIPHeader    = "X-Forwarded-For"
	// reservedFiles are file descriptors kept for everything but streams: the database, webhooks,
	// page requests, logs.
	reservedFiles = 256
	maxStreams    = 1 << 20
)

// DefaultStreamsMax is STREAMS_MAX when unset, for a process that may open nofile files: what
// the reserve leaves, less a tenth of slack, and at least one.
func DefaultStreamsMax(nofile uint64) int {
	if nofile <= reservedFiles {
		return 1
	}
	n := (min(nofile, maxStreams*2) - reservedFiles) * 9 / 10
	return int(max(1, min(n, maxStreams)))
}

// Load reads the configuration. In demo mode, missing secrets are generated once and kept in
// DATA_DIR so that restarts keep them (and signed-in sessions survive).
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	c := Config{
		DatabaseURL:       getenv("DATABASE_URL"),
		DataDir:           or(getenv("DATA_DIR"), DefaultDataDir),
		EventSubSecret:    getenv("EVENTSUB_SECRET"),
		SessionSecret:     getenv("SESSION_SECRET"),
		DemoBroadcasterID: or(getenv("DEMO_BROADCASTER_ID"), DefaultDemoBroadcasterID),
		TwitchClientID:    getenv("TWITCH_CLIENT_ID"),
		TwitchSecret:      getenv("TWITCH_CLIENT_SECRET"),
		LogLevel:          or(getenv("LOG_LEVEL"), "info"),
		PusherURL:         getenv("PUSHER_URL"),
		MetricsToken:      getenv("METRICS_TOKEN"),
	}
	port, err := strconv.Atoi(or(getenv("PORT"), strconv.Itoa(DefaultPort)))
	if err != nil || port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("PORT must be a port number (0-65535), got %q", getenv("PORT")))
	}
	c.Port = port
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for embedded SQLite)"))
	}
	if !digits(c.DemoBroadcasterID) {
		errs = append(errs, fmt.Errorf("DEMO_BROADCASTER_ID must be a numeric Twitch user id, got %q", c.DemoBroadcasterID))
	}
	if c.TwitchClientID != "" && c.TwitchSecret == "" {
		errs = append(errs, errors.New("TWITCH_CLIENT_SECRET is required when TWITCH_CLIENT_ID is set"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel))
	}
	c.OverlayMaxAge = parseDuration(&errs, "OVERLAY_MAX_AGE", getenv("OVERLAY_MAX_AGE"), DefaultOverlayMaxAge)
	c.OverlayAlert = parseDuration(&errs, "OVERLAY_ALERT_DURATION", getenv("OVERLAY_ALERT_DURATION"), DefaultOverlayAlert)
	c.FloodFollows = parseCount(&errs, "OVERLAY_FLOOD_FOLLOWS", getenv("OVERLAY_FLOOD_FOLLOWS"), DefaultFloodFollows)
	c.FloodWindow = parseDuration(&errs, "OVERLAY_FLOOD_WINDOW", getenv("OVERLAY_FLOOD_WINDOW"), DefaultFloodWindow)
	c.StreamsPerSession = parseCount(&errs, "STREAMS_PER_SESSION", getenv("STREAMS_PER_SESSION"), DefaultStreamsPerSession)
	c.StreamsPerAddress = parseCount(&errs, "STREAMS_PER_ADDRESS", getenv("STREAMS_PER_ADDRESS"), DefaultStreamsPerAddress)
	c.StreamsMax = parseCount(&errs, "STREAMS_MAX", getenv("STREAMS_MAX"), 0)
	c.TrustedProxies, c.ClientIPHeader = parseProxies(&errs, getenv("TRUSTED_PROXIES"), getenv("CLIENT_IP_HEADER"))
	c.PublicURL = parseURL(&errs, "PUBLIC_URL", or(getenv("PUBLIC_URL"), fmt.Sprintf("http://localhost:%d", port)))
	c.TwitchAPIURL = parseURL(&errs, "TWITCH_API_URL", or(getenv("TWITCH_API_URL"), DefaultTwitchAPIURL))
	c.TwitchAuthURL = parseURL(&errs, "TWITCH_AUTH_URL", or(getenv("TWITCH_AUTH_URL"), DefaultTwitchAuthURL))
	c.EventSubWSURL = parseWSURL(&errs, "TWITCH_EVENTSUB_WS_URL", or(getenv("TWITCH_EVENTSUB_WS_URL"), DefaultEventSubWSURL))
	if c.EventSubTransport, c.TransportReason, err = chooseTransport(getenv("EVENTSUB_TRANSPORT"), c.PublicURL); err != nil {
		errs = append(errs, err)
	}
	switch keys := getenv("TOKEN_KEY"); {
	case keys != "":
		box, err := tokenbox.Parse(keys)
		if err != nil {
			errs = append(errs, fmt.Errorf("TOKEN_KEY: %w", err))
		}
		c.TokenBox = box
	case !c.Demo():
		errs = append(errs, errors.New("TOKEN_KEY is required when TWITCH_CLIENT_ID is set (base64 of 32 random bytes: openssl rand -base64 32)"))
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < minMetricsToken || strings.ContainsAny(c.MetricsToken, " \t\r\n")) {
		errs = append(errs, fmt.Errorf("METRICS_TOKEN must be at least %d characters without spaces (openssl rand -hex 24), or unset to turn /metrics off", minMetricsToken))
	}
	if c.PusherURL != "" {
		// The value is not repeated: it carries the app secret.
		if err := pusher.ValidURL(c.PusherURL); err != nil {
			errs = append(errs, fmt.Errorf("PUSHER_URL %w", err))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.loadSecrets(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loadSecrets checks the secrets, generating them in demo mode when unset.
func (c *Config) loadSecrets() error {
	var err error
	if c.EventSubSecret == "" && c.Demo() {
		c.EventSubSecret, err = persistedSecret(c.DataDir, "eventsub_secret", 30)
		if err != nil {
			return fmt.Errorf("EVENTSUB_SECRET unset and no secret could be kept in DATA_DIR: %w", err)
		}
	}
	if !eventsub.ValidSecret(c.EventSubSecret) {
		return errors.New("EVENTSUB_SECRET must be 10 to 100 visible ASCII characters, no spaces (required when TWITCH_CLIENT_ID is set)")
	}
	if c.SessionSecret == "" && c.Demo() {
		c.SessionSecret, err = persistedSecret(c.DataDir, "session_secret", 48)
		if err != nil {
			return fmt.Errorf("SESSION_SECRET unset and no secret could be kept in DATA_DIR: %w", err)
		}
	}
	if len(c.SessionSecret) < minSessionSecret {
		return fmt.Errorf("SESSION_SECRET must be at least %d characters (required when TWITCH_CLIENT_ID is set)", minSessionSecret)
	}
	return nil
}

// persistedSecret returns the secret kept in dataDir/name, creating it on first use.
func persistedSecret(dataDir, name string, size int) (string, error) {
	path := filepath.Join(dataDir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	b := make([]byte, size)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)[:size]
	// O_EXCL: when two processes race, the loser reads the winner's secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return persistedSecret(dataDir, name, size)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return secret, f.Close()
}

func parseURL(errs *[]error, name, raw string) *url.URL {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		*errs = append(*errs, fmt.Errorf("%s must be an absolute http(s) URL, got %q", name, raw))
		return nil
	}
	return u
}

func parseDuration(errs *[]error, name, raw string, def time.Duration) time.Duration {
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s must be a positive duration such as 2m or 90s, got %q", name, raw))
		return def
	}
	return d
}

func parseCount(errs *[]error, name, raw string, def int) int {
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		*errs = append(*errs, fmt.Errorf("%s must be a whole number of at least 1, got %q", name, raw))
		return def
	}
	return n
}

// parseProxies reads TRUSTED_PROXIES (IPs and CIDRs, comma-separated) and CLIENT_IP_HEADER. A
// client address header is only believed from a trusted proxy: anyone else could forge it.
func parseProxies(errs *[]error, rawProxies, header string) ([]string, string) {
	var proxies []string
	for _, p := range strings.Split(rawProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				*errs = append(*errs, fmt.Errorf("TRUSTED_PROXIES must be IP addresses or CIDR ranges separated by commas, got %q", p))
				continue
			}
		}
		proxies = append(proxies, p)
	}
	header = strings.TrimSpace(header)
	switch {
	case header != "" && len(proxies) == 0:
		*errs = append(*errs, errors.New("CLIENT_IP_HEADER needs TRUSTED_PROXIES: the header is only believed from a trusted proxy"))
	case header != "" && !validHeaderName(header):
		*errs = append(*errs, fmt.Errorf("CLIENT_IP_HEADER must be an HTTP header name such as X-Forwarded-For or Fly-Client-IP, got %q", header))
	case header == "" && len(proxies) > 0:
		header = DefaultClientIPHeader
	}
	return proxies, header
}

func validHeaderName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Package twitch is the client for Twitch's OAuth (id.twitch.tv) and Helix APIs: tokens, the
// signed-in user, followers and EventSub subscriptions. It never logs; no error it returns carries
// a token, a client secret or an EventSub secret.
package twitch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Production base URLs, used when Config leaves them empty.
const (
	DefaultAuthURL = "https://id.twitch.tv/oauth2"
	DefaultAPIURL  = "https://api.twitch.tv/helix"
)

const (
	defaultTimeout          = 15 * time.Second
	defaultMaxRateLimitWait = 60 * time.Second
	rateLimitRetries        = 3       // retries after a 429, so at most 4 attempts
	maxBody                 = 1 << 20 // Twitch's answers are small; a larger body is not Twitch
	maxMessage              = 200     // error messages are cut to this many bytes
)

// Config holds everything the client needs; zero values get the defaults noted.
type Config struct {
	ClientID, ClientSecret string
	AuthURL                string           // e.g. https://id.twitch.tv/oauth2 (no trailing slash); "": DefaultAuthURL
	APIURL                 string           // e.g. https://api.twitch.tv/helix; "": DefaultAPIURL
	HTTP                   *http.Client     // nil: a client with a 15s timeout that does not follow redirects
	Now                    func() time.Time // nil: time.Now
	MaxRateLimitWait       time.Duration    // cap for waiting on 429/Ratelimit-Reset; <= 0: 60s
}

// Client talks to Twitch. It is safe for concurrent use.
type Client struct {
	clientID, clientSecret string
	authURL, apiURL        string
	http                   *http.Client
	now                    func() time.Time
	maxWait                time.Duration
	sleep                  func(ctx context.Context, d time.Duration) error // tests replace it

	appFetch chan struct{} // one slot, held while an app token is being fetched
	appMu    sync.Mutex
	app      cachedToken

	rateMu    sync.Mutex
	exhausted map[[sha256.Size]byte]time.Time // token hash → when its empty Helix bucket refills
}

// New builds a client from cfg.
func New(cfg Config) *Client {
	c := &Client{
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		authURL:      strings.TrimRight(orDefault(cfg.AuthURL, DefaultAuthURL), "/"),
		apiURL:       strings.TrimRight(orDefault(cfg.APIURL, DefaultAPIURL), "/"),
		http:         cfg.HTTP,
		now:          cfg.Now,
		maxWait:      cfg.MaxRateLimitWait,
		sleep:        sleepCtx,
		appFetch:     make(chan struct{}, 1),
		exhausted:    map[[sha256.Size]byte]time.Time{},
	}
	if c.http == nil {
		c.http = &http.Client{
			Timeout: defaultTimeout,
			// Twitch never redirects its API; following one could carry a token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxWait <= 0 {
		c.maxWait = defaultMaxRateLimitWait
	}
	return c
}

func orDefault(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// Sentinel errors; test with errors.Is. An *APIError matches the one for its status.
var (
	ErrUnauthorized = errors.New("twitch: unauthorized")          // 401: token invalid or expired
	ErrForbidden    = errors.New("twitch: forbidden")             // 403: e.g. a missing scope
	ErrNotFound     = errors.New("twitch: not found")             // 404
	ErrConflict     = errors.New("twitch: conflict")              // 409: e.g. the subscription exists
	ErrRateLimited  = errors.New("twitch: rate limited")          // still 429 after retrying
	ErrTokenRevoked = errors.New("twitch: refresh token refused") // the user must sign in again
)

// APIError is a non-2xx answer from Twitch. Endpoint is the method and URL path, never the query;
// Message is Twitch's, with any secret sent in the request blanked out.
type APIError struct {
	Status   int
	Message  string
	Endpoint string

	refreshRefused bool // set by Refresh: the refresh token is no longer any good
}

func (e *APIError) Error() string {
	return fmt.Sprintf("twitch: %s: %d %s", e.Endpoint, e.Status, e.Message)
}

// Is maps the status to the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrTokenRevoked:
		return e.refreshRefused
	}
	return false
}

// call is one request to Twitch.
type call struct {
	method  string
	base    string // c.authURL or c.apiURL
	path    string
	query   url.Values
	form    url.Values // sent as application/x-www-form-urlencoded
	json    any        // sent as application/json
	auth    string     // the Authorization header, if any
	helix   bool       // adds Client-Id and obeys the Helix rate-limit bucket of auth
	secrets []string   // blanked out of error messages
}

// do sends cl, retrying on 429, and decodes a 2xx JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	u := cl.base + cl.path
	endpoint := cl.method + " " + urlPath(u)
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	body, contentType, err := encodeBody(cl)
	if err != nil {
		return fmt.Errorf("twitch: %s: encode request: %w", endpoint, err)
	}
	if cl.helix {
		if err := c.waitForBucket(ctx, cl.auth); err != nil {
			return fmt.Errorf("twitch: %s: waiting for the rate limit: %w", endpoint, err)
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, cl.method, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("twitch: %s: %w", endpoint, err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		if cl.auth != "" {
			req.Header.Set("Authorization", cl.auth)
		}
		if cl.helix {
			req.Header.Set("Client-Id", c.clientID)
		}
		status, header, raw, err := c.send(req)
		if err != nil {
			return fmt.Errorf("twitch: %s: %w", endpoint, err)
		}
		if cl.helix {
			c.noteBucket(cl.auth, header)
		}
		if status == http.StatusTooManyRequests && attempt < rateLimitRetries {
			wait := c.retryWait(header)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				return apiError(endpoint, status, raw, cl.secrets) // waiting would outlive ctx
			}
			if err := c.sleep(ctx, wait); err != nil {
				return fmt.Errorf("twitch: %s: waiting for the rate limit: %w", endpoint, err)
			}
			continue
		}
		if status < 200 || status > 299 {
			return apiError(endpoint, status, raw, cl.secrets)
		}
		if out == nil || len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("twitch: %s: decode response: %w", endpoint, err)
		}
		return nil
	}
}

// send performs req and reads the whole (bounded) body. Transport errors lose their *url.Error
// wrapper, whose text repeats the URL with its query.
func (c *Client) send(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, resp.Header, raw, nil
}

func encodeBody(cl call) ([]byte, string, error) {
	switch {
	case cl.form != nil:
		return []byte(cl.form.Encode()), "application/x-www-form-urlencoded", nil
	case cl.json != nil:
		b, err := json.Marshal(cl.json)
		return b, "application/json", err
	}
	return nil, "", nil
}

func urlPath(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return "(unparseable URL)"
}

// apiError reads either of Twitch's error bodies: Helix's {"error","status","message"} and
// id.twitch.tv's {"status","message"}. Anything else (a proxy's HTML page) is reduced to the
// status text, since it could echo the request.
func apiError(endpoint string, status int, raw []byte, secrets []string) *APIError {
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	msg := http.StatusText(status)
	if json.Unmarshal(raw, &body) == nil {
		msg = orDefault(body.Message, orDefault(body.Error, msg))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return &APIError{Status: status, Message: msg, Endpoint: endpoint}
}

// retryWait is how long to wait after a 429: until Ratelimit-Reset, at most maxWait. Without a
// usable reset (missing, or already past by our clock) it waits a second: the bucket refills
// continuously and our clock may run ahead of Twitch's.
func (c *Client) retryWait(h http.Header) time.Duration {
	wait := time.Second
	if reset, ok := parseReset(h); ok {
		if d := reset.Sub(c.now()); d > 0 {
			wait = d
		}
	}
	return min(wait, c.maxWait)
}

func parseReset(h http.Header) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Ratelimit-Reset")), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// Helix buckets are per token (per client id for app tokens, per user for user tokens), so one
// streamer using up theirs does not stall everybody. Tokens are kept only as hashes.
func bucketKey(auth string) [sha256.Size]byte { return sha256.Sum256([]byte(auth)) }

// noteBucket records that the token's bucket is empty until Ratelimit-Reset, or forgets it.
func (c *Client) noteBucket(auth string, h http.Header) {
	remaining := strings.TrimSpace(h.Get("Ratelimit-Remaining"))
	if remaining == "" {
		return
	}
	key := bucketKey(auth)
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	reset, ok := parseReset(h)
	if remaining != "0" || !ok {
		delete(c.exhausted, key)
		return
	}
	now := c.now()
	for k, t := range c.exhausted { // drop buckets that have refilled; the map stays small
		if !now.Before(t) {
			delete(c.exhausted, k)
		}
	}
	c.exhausted[key] = reset
}

// waitForBucket waits, before a Helix call, until the token's empty bucket refills (at most maxWait).
func (c *Client) waitForBucket(ctx context.Context, auth string) error {
	key := bucketKey(auth)
	c.rateMu.Lock()
	reset, ok := c.exhausted[key]
	now := c.now()
	if ok && !now.Before(reset) {
		delete(c.exhausted, key)
		ok = false
	}
	c.rateMu.Unlock()
	if !ok {
		return nil
	}
	return c.sleep(ctx, min(reset.Sub(now), c.maxWait))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "test-client-id"
	testClientSecret = "client-secret-MUST-NOT-LEAK"
	userToken        = "user-token-MUST-NOT-LEAK"
)

// clock is the injected Now; the fake sleep moves it forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	c     *Client
	clock *clock
	mu    sync.Mutex
	waits []time.Duration
}

func (h *harness) Waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

// newHarness starts handler as a fake Twitch (id.twitch.tv under /oauth2, Helix under /helix) and
// returns a client on a fixed clock whose rate-limit waits are recorded instead of slept. The HTTP
// client is the default one.
func newHarness(t *testing.T, handler http.Handler, opts ...func(*Config)) *harness {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	h := &harness{clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	cfg := Config{
		ClientID: testClientID, ClientSecret: testClientSecret,
		AuthURL: srv.URL + "/oauth2", APIURL: srv.URL + "/helix", Now: h.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.c = New(cfg)
	h.c.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.waits = append(h.waits, d)
		h.mu.Unlock()
		h.clock.Add(d)
		return ctx.Err()
	}
	return h
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// helixError writes Helix's error body.
func helixError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": http.StatusText(status), "status": status, "message": msg})
}

// idError writes id.twitch.tv's error body.
func idError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"status": status, "message": msg})
}

// helixAuth answers like Helix when the request lacks the Client-Id or the Bearer token; it
// reports whether the handler may go on.
func helixAuth(t *testing.T, w http.ResponseWriter, r *http.Request, token string) bool {
	t.Helper()
	if got := r.Header.Get("Client-Id"); got != testClientID {
		t.Errorf("%s %s: Client-Id = %q", r.Method, r.URL.Path, got)
		helixError(w, http.StatusUnauthorized, "Client ID and OAuth token do not match")
		return false
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		helixError(w, http.StatusUnauthorized, "Invalid OAuth token")
		return false
	}
	return true
}

func expectRequest(t *testing.T, r *http.Request, method, path string) {
	t.Helper()
	if r.Method != method || r.URL.Path != path {
		t.Errorf("request %s %s, want %s %s", r.Method, r.URL.Path, method, path)
	}
}

// assertNoSecrets fails if err's text carries the client secret or any of secrets.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{testClientSecret}, secrets...) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}

func userJSON() map[string]any {
	return map[string]any{"data": []map[string]any{{
		"id": "1337", "login": "streamer", "display_name": "Streamer", "type": "", "broadcaster_type": "affiliate",
		"profile_image_url": "https://static-cdn.jtvnw.net/p.png", "email": "s@example.com",
		"created_at": "2016-12-14T20:32:28Z",
	}}}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name         string
		maxWait      time.Duration
		answers      int    // 429s before a 200; -1: always 429
		resetIn      string // Ratelimit-Reset relative to now, in seconds; "" leaves it out
		wantErr      error
		wantRequests int
		wantWaits    []time.Duration
	}{
		{"429 then 200 waits until reset", 0, 1, "1", nil, 2, []time.Duration{time.Second}},
		{"still 429 after three retries", 0, -1, "1", ErrRateLimited, 4, []time.Duration{time.Second, time.Second, time.Second}},
		{"wait capped by MaxRateLimitWait", 2 * time.Second, 1, "3600", nil, 2, []time.Duration{2 * time.Second}},
		{"no reset header waits a second", 0, 2, "", nil, 3, []time.Duration{time.Second, time.Second}},
		{"reset in the past waits a second", 0, 1, "-30", nil, 2, []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			var h *harness
			h = newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(requests.Add(1))
				if !helixAuth(t, w, r, userToken) {
					return
				}
				if tt.answers < 0 || n <= tt.answers {
					w.Header().Set("Ratelimit-Limit", "800")
					w.Header().Set("Ratelimit-Remaining", "0")
					if tt.resetIn != "" {
						d, _ := strconv.Atoi(tt.resetIn)
						w.Header().Set("Ratelimit-Reset", strconv.FormatInt(h.clock.Now().Unix()+int64(d), 10))
					}
					helixError(w, http.StatusTooManyRequests, "Too Many Requests")
					return
				}
				w.Header().Set("Ratelimit-Remaining", "799")
				writeJSON(w, http.StatusOK, userJSON())
			}), func(c *Config) { c.MaxRateLimitWait = tt.maxWait })

			_, err := h.c.GetUser(context.Background(), userToken)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			assertNoSecrets(t, err, userToken)
			if got := int(requests.Load()); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if got := h.Waits(); !equalDurations(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRateLimitEmptyBucketDelaysNextCall(t *testing.T) {
	var h *harness
	h = newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+userToken {
			w.Header().Set("Ratelimit-Remaining", "0")
			w.Header().Set("Ratelimit-Reset", strconv.FormatInt(h.clock.Now().Unix()+5, 10))
		} else {
			w.Header().Set("Ratelimit-Remaining", "700")
		}
		writeJSON(w, http.StatusOK, userJSON())
	}))
	ctx := context.Background()
	if _, err := h.c.GetUser(ctx, userToken); err != nil {
		t.Fatal(err)
	}
	if got := h.Waits(); len(got) != 0 {
		t.Fatalf("first call waited %v", got)
	}
	if _, err := h.c.GetUser(ctx, "another-users-token"); err != nil { // another bucket
		t.Fatal(err)
	}
	if got := h.Waits(); len(got) != 0 {
		t.Fatalf("another token's call waited %v", got)
	}
	if _, err := h.c.GetUser(ctx, userToken); err != nil {
		t.Fatal(err)
	}
	if got := h.Waits(); !equalDurations(got, []time.Duration{5 * time.Second}) {
		t.Fatalf("waits = %v, want [5s]", got)
	}
}

func TestRateLimitRealSleepAndContext(t *testing.T) {
	var requests atomic.Int32
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Ratelimit-Reset", strconv.FormatInt(time.Now().Unix()+30, 10))
			helixError(w, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		writeJSON(w, http.StatusOK, userJSON())
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	t.Run("bounded wait with the real timer", func(t *testing.T) {
		requests.Store(0)
		c := New(Config{ClientID: testClientID, APIURL: srv.URL, MaxRateLimitWait: 5 * time.Millisecond})
		if _, err := c.GetUser(context.Background(), userToken); err != nil {
			t.Fatal(err)
		}
		if got := requests.Load(); got != 2 {
			t.Fatalf("requests = %d, want 2", got)
		}
	})
	t.Run("a deadline shorter than the wait gives up at once", func(t *testing.T) {
		requests.Store(0)
		c := New(Config{ClientID: testClientID, APIURL: srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.GetUser(ctx, userToken)
		if !errors.Is(err, ErrRateLimited) || requests.Load() != 1 {
			t.Fatalf("err = %v after %d requests, want ErrRateLimited after 1", err, requests.Load())
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		requests.Store(0)
		c := New(Config{ClientID: testClientID, APIURL: srv.URL})
		ctx, cancel := context.WithCancel(context.Background())
		c.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return sleepCtx(ctx, d) }
		_, err := c.GetUser(ctx, userToken)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestAPIErrorBodies(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"helix shape", `{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}`, 401, "Invalid OAuth token"},
		{"id.twitch.tv shape", `{"status":400,"message":"Invalid refresh token"}`, 400, "Invalid refresh token"},
		{"helix shape without message", `{"error":"Forbidden","status":403}`, 403, "Forbidden"},
		{"not JSON", "<html>bad gateway " + userToken + "</html>", 502, "Bad Gateway"},
		{"empty", "", 500, "Internal Server Error"},
		{"echoed secret", `{"status":400,"message":"bad token ` + userToken + `"}`, 400, "bad token [redacted]"},
		{"long", `{"status":400,"message":"` + strings.Repeat("x", 500) + `"}`, 400, strings.Repeat("x", maxMessage) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apiError("GET /helix/users", tt.status, []byte(tt.body), []string{"", userToken})
			if e.Message != tt.want || e.Status != tt.status {
				t.Errorf("got %d %q, want %d %q", e.Status, e.Message, tt.status, tt.want)
			}
			assertNoSecrets(t, e, userToken)
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	sentinels := []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrRateLimited, ErrTokenRevoked}
	tests := []struct {
		status int
		want   error // nil: none of the sentinels
	}{
		{401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound}, {409, ErrConflict},
		{429, ErrRateLimited}, {400, nil}, {500, nil},
	}
	for _, tt := range tests {
		var err error = &APIError{Status: tt.status, Endpoint: "GET /helix/users"}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("status %d: errors.Is(%v) = %v", tt.status, s, got)
			}
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tt.status {
			t.Errorf("status %d: errors.As failed", tt.status)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := New(Config{ClientID: testClientID, AuthURL: "http://auth.example/oauth2/", APIURL: ""})
	if c.authURL != "http://auth.example/oauth2" || c.apiURL != DefaultAPIURL {
		t.Errorf("urls = %q, %q", c.authURL, c.apiURL)
	}
	if c.http.Timeout != 15*time.Second || c.http.CheckRedirect == nil {
		t.Errorf("http client = %+v, want a 15s timeout that stops at redirects", c.http)
	}
	if c.maxWait != 60*time.Second || c.now == nil {
		t.Errorf("maxWait = %v, now set = %v", c.maxWait, c.now != nil)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/helix/users", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	h := newHarness(t, mux)
	_, err := h.c.GetUser(context.Background(), userToken)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusFound {
		t.Fatalf("err = %v, want an APIError 302", err)
	}
	if followed.Load() {
		t.Error("the redirect was followed, with the token")
	}
}

func TestTransportErrorHidesQueryAndToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, AuthURL: srv.URL, APIURL: srv.URL})
	ctx := context.Background()
	_, err := c.Followers(ctx, userToken, "1337", 20, "cursor-abc")
	if err == nil || strings.Contains(err.Error(), "cursor-abc") || !strings.Contains(err.Error(), "GET /channels/followers") {
		t.Errorf("err = %v, want the endpoint without its query", err)
	}
	assertNoSecrets(t, err, userToken)
	_, err = c.Refresh(ctx, "refresh-MUST-NOT-LEAK")
	if err == nil {
		t.Fatal("refresh against a closed server succeeded")
	}
	assertNoSecrets(t, err, "refresh-MUST-NOT-LEAK")
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), 0); err != nil {
		t.Errorf("zero wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

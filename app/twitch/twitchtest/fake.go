// Package twitchtest is a fake Twitch for tests: one httptest server that answers OAuth
// (id.twitch.tv/oauth2), Helix (api.twitch.tv/helix), EventSub's webhook transport and its
// WebSocket transport (eventsub.wss.twitch.tv/ws, at /ws) the way
// Twitch does (same paths, headers, status codes, JSON shapes and error bodies) and that sends
// signed EventSub messages to the callbacks subscribed on it.
//
// It is strict where Twitch is strict. It is lenient only where a test cannot be otherwise:
// callbacks may be plain HTTP on any port (Twitch wants HTTPS on 443), and, until
// AddRedirectURI is called, any http(s) redirect URI counts as registered.
package twitchtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// Fake is a running fake Twitch. Its methods are safe for concurrent use; its exported fields
// are set by New and must not be changed.
type Fake struct {
	URL          string // server root
	AuthURL      string // URL + "/oauth2": stands for https://id.twitch.tv/oauth2
	APIURL       string // URL + "/helix": stands for https://api.twitch.tv/helix
	ClientID     string // the one registered app
	ClientSecret string

	t        testing.TB
	srv      *httptest.Server
	callback *http.Client // delivers EventSub messages; never follows redirects
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // callback verifications in flight

	mu           sync.Mutex
	users        map[string]*user
	loggedIn     string
	denyNext     bool
	redirectURIs map[string]bool
	grants       map[string]map[string]bool // user id → scopes granted to the app
	codes        map[string]*authCode
	tokens       map[string]*accessToken // user and app access tokens
	refresh      map[string]*refreshToken
	userLifetime time.Duration
	appLifetime  time.Duration
	followers    map[string]map[string]follow // broadcaster id → follower id → follow
	buckets      map[string]*bucket
	forced429    int
	forcedReset  time.Time
	subs         map[string]*subscription
	messages     map[string]*message
	requests     []Request
	deliveries   []Delivery
	unreachable  bool // requests get no answer: the connection is dropped
	serverError  int  // requests are answered with this status (5xx), when not 0
	wsSessions   map[string]*wsSession
	wsOrder      []string      // ids of the open sessions, oldest first
	wsUnused     time.Duration // see SetWebSocketUnusedTimeout
	wsKeepalive  time.Duration // see SetWebSocketKeepalive
}

// User is a Twitch account known to the fake.
type User struct {
	ID, Login, DisplayName, Email, ProfileImageURL string
}

type user struct {
	User
	createdAt time.Time
}

// Request is one request the fake answered.
type Request struct {
	Method     string
	Path       string
	Query      url.Values
	GrantType  string // POST /oauth2/token only
	ClientAuth string // POST /oauth2/token only: "basic", "form" or "" when none was sent
	Status     int
}

type requestKey struct{}

// New starts a fake Twitch with a random client id and secret; t.Cleanup stops it.
func New(t testing.TB) *Fake {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fake{
		ClientID:     randomString(30),
		ClientSecret: randomString(30),
		t:            t,
		ctx:          ctx,
		cancel:       cancel,
		callback: &http.Client{
			Timeout:   callbackTimeout,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// Twitch does not follow redirects from a callback: a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		users:        map[string]*user{},
		redirectURIs: map[string]bool{},
		grants:       map[string]map[string]bool{},
		codes:        map[string]*authCode{},
		tokens:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
		userLifetime: defaultUserTokenLifetime,
		appLifetime:  defaultAppTokenLifetime,
		followers:    map[string]map[string]follow{},
		buckets:      map[string]*bucket{},
		subs:         map[string]*subscription{},
		messages:     map[string]*message{},
		wsSessions:   map[string]*wsSession{},
	}
	f.srv = httptest.NewServer(f.outage(f.logRequests(f.routes())))
	f.URL = f.srv.URL
	f.AuthURL = f.URL + "/oauth2"
	f.APIURL = f.URL + "/helix"
	t.Cleanup(func() {
		f.cancel()
		f.srv.Close()
		f.wg.Wait()
		f.callback.CloseIdleConnections()
	})
	return f
}

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", f.handleAuthorize)
	mux.HandleFunc("POST /oauth2/token", f.handleToken)
	mux.HandleFunc("GET /oauth2/validate", f.handleValidate)
	mux.HandleFunc("POST /oauth2/revoke", f.handleRevoke)
	mux.HandleFunc("/oauth2/", func(w http.ResponseWriter, r *http.Request) {
		authError(w, http.StatusNotFound, "404 page not found")
	})

	mux.HandleFunc("GET /helix/users", f.helix(f.handleUsers))
	mux.HandleFunc("GET /helix/channels/followers", f.helix(f.handleFollowers))
	mux.HandleFunc("POST /helix/eventsub/subscriptions", f.helix(f.handleCreateSubscription))
	mux.HandleFunc("GET /helix/eventsub/subscriptions", f.helix(f.handleListSubscriptions))
	mux.HandleFunc("DELETE /helix/eventsub/subscriptions", f.helix(f.handleDeleteSubscription))
	mux.HandleFunc("GET /ws", f.handleWebSocket)
	mux.HandleFunc("/helix/", func(w http.ResponseWriter, r *http.Request) {
		helixError(w, http.StatusNotFound, "")
	})
	return mux
}

// AddUser adds or replaces an account. ID and Login are required; DisplayName defaults to Login.
func (f *Fake) AddUser(u User) {
	f.t.Helper()
	if u.ID == "" || u.Login == "" {
		f.t.Fatalf("twitchtest: AddUser(%+v): ID and Login are required", u)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addUserLocked(u)
}

func (f *Fake) addUserLocked(u User) {
	if u.DisplayName == "" {
		u.DisplayName = u.Login
	}
	created := time.Now().UTC()
	if old, ok := f.users[u.ID]; ok {
		created = old.createdAt
	}
	f.users[u.ID] = &user{User: u, createdAt: created}
}

// Requests returns every request answered so far, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.requests))
	for i, r := range f.requests {
		r.Query = url.Values(maps.Clone(r.Query))
		out[i] = r
	}
	return out
}

func (f *Fake) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entry := &Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestKey{}, entry)))
		entry.Status = rec.status
		if entry.Status == 0 {
			entry.Status = http.StatusOK
		}
		f.mu.Lock()
		f.requests = append(f.requests, *entry)
		f.mu.Unlock()
	})
}

// logEntry is the log record of r, for handlers to add what only they know.
func logEntry(r *http.Request) *Request {
	if e, ok := r.Context().Value(requestKey{}).(*Request); ok {
		return e
	}
	return &Request{}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the WebSocket upgrade reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// helixError writes Helix's error body: {"error":"Unauthorized","status":401,"message":"..."}.
func helixError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	}{http.StatusText(status), status, msg})
}

// authError writes id.twitch.tv's error body, which has no "error" field.
func authError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}{status, msg})
}

// randomString returns n characters of [a-z0-9], the alphabet of Twitch's tokens and ids.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

package twitch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	authCode     = "auth-code-MUST-NOT-LEAK"
	refreshToken = "refresh-token-MUST-NOT-LEAK"
)

// tokenForm checks a /token request the way id.twitch.tv does and returns its form.
func tokenForm(t *testing.T, r *http.Request, grantType string) url.Values {
	t.Helper()
	expectRequest(t, r, http.MethodPost, "/oauth2/token")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("parse form: %v", err)
	}
	if len(r.URL.RawQuery) > 0 {
		t.Errorf("token request has a query %q; credentials belong in the body", r.URL.RawQuery)
	}
	f := r.PostForm
	if f.Get("client_id") != testClientID || f.Get("client_secret") != testClientSecret || f.Get("grant_type") != grantType {
		t.Errorf("form client_id=%q grant_type=%q, client_secret right = %v",
			f.Get("client_id"), f.Get("grant_type"), f.Get("client_secret") == testClientSecret)
	}
	return f
}

func TestExchangeCode(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(t *testing.T, w http.ResponseWriter, r *http.Request)
		wantErr error
		status  int // of the *APIError, when wantErr is nil but an error is expected
	}{
		{name: "ok", handle: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			f := tokenForm(t, r, "authorization_code")
			if f.Get("code") != authCode || f.Get("redirect_uri") != "https://tev.example/auth/callback" {
				t.Errorf("code or redirect_uri wrong: %v", f.Get("redirect_uri"))
			}
			writeJSON(w, 200, map[string]any{"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 14400,
				"scope": []string{"moderator:read:followers", "user:read:email"}, "token_type": "bearer"})
		}},
		{name: "invalid code", status: 400, handle: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			idError(w, 400, "Invalid authorization code")
		}},
		{name: "wrong client secret", wantErr: ErrForbidden, handle: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			idError(w, 403, "invalid client secret")
		}},
		{name: "error echoing the secrets", status: 400, handle: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			idError(w, 400, "bad request code="+authCode+" client_secret="+testClientSecret)
		}},
		{name: "no access token", status: -1, handle: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"token_type": "bearer"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.handle(t, w, r) }))
			tok, err := h.c.ExchangeCode(context.Background(), authCode, "https://tev.example/auth/callback")
			assertNoSecrets(t, err, authCode)
			if tt.wantErr == nil && tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				want := Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: h.clock.Now().Add(4 * time.Hour),
					Scopes: []string{"moderator:read:followers", "user:read:email"}}
				if tok.AccessToken != want.AccessToken || tok.RefreshToken != want.RefreshToken ||
					!tok.Expiry.Equal(want.Expiry) || !slices.Equal(tok.Scopes, want.Scopes) {
					t.Errorf("token = %+v, want %+v", tok, want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			var apiErr *APIError
			if tt.status > 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status) {
				t.Errorf("err = %v, want an APIError %d", err, tt.status)
			}
			if errors.Is(err, ErrTokenRevoked) {
				t.Errorf("a code exchange error is not a revoked refresh token: %v", err)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name        string
		handle      func(w http.ResponseWriter)
		wantRefresh string // on success
		wantErr     []error
		notErr      error
	}{
		{name: "rotates the refresh token", wantRefresh: "refresh-2", handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 14400, "scope": []string{"user:read:email"}})
		}},
		{name: "keeps the old one when none comes back", wantRefresh: refreshToken, handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"access_token": "access-2", "expires_in": 14400})
		}},
		{name: "invalid refresh token", wantErr: []error{ErrTokenRevoked}, notErr: ErrUnauthorized, handle: func(w http.ResponseWriter) {
			idError(w, 400, "Invalid refresh token")
		}},
		{name: "401", wantErr: []error{ErrTokenRevoked, ErrUnauthorized}, handle: func(w http.ResponseWriter) {
			idError(w, 401, "invalid client")
		}},
		{name: "other 400 is not a revocation", notErr: ErrTokenRevoked, handle: func(w http.ResponseWriter) {
			idError(w, 400, "missing client secret")
		}},
		{name: "server error is not a revocation", notErr: ErrTokenRevoked, handle: func(w http.ResponseWriter) {
			w.WriteHeader(503)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if f := tokenForm(t, r, "refresh_token"); f.Get("refresh_token") != refreshToken {
					t.Errorf("refresh_token field wrong")
				}
				tt.handle(w)
			}))
			tok, err := h.c.Refresh(context.Background(), refreshToken)
			assertNoSecrets(t, err, refreshToken)
			if tt.wantRefresh != "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.RefreshToken != tt.wantRefresh || tok.AccessToken != "access-2" {
					t.Errorf("token = %+v, want refresh token %q", tok, tt.wantRefresh)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if tt.notErr != nil && errors.Is(err, tt.notErr) {
				t.Errorf("err = %v, must not be %v", err, tt.notErr)
			}
		})
	}
}

// appTokens is a fake client-credentials endpoint that hands out app-token-1, app-token-2, ...
type appTokens struct {
	t       *testing.T
	fetches atomic.Int32
	expires int // expires_in; 0: 5184000 (60 days, like Twitch)
}

func (a *appTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tokenForm(a.t, r, "client_credentials")
	n := a.fetches.Add(1)
	expires := a.expires
	if expires == 0 {
		expires = 5184000
	}
	writeJSON(w, 200, map[string]any{"access_token": "app-token-" + strconv.Itoa(int(n)), "expires_in": expires, "token_type": "bearer"})
}

func TestAppTokenCache(t *testing.T) {
	ctx := context.Background()
	tokens := &appTokens{t: t, expires: 3600}
	h := newHarness(t, tokens)
	get := func(want string, wantFetches int32) {
		t.Helper()
		tok, err := h.c.AppToken(ctx)
		if err != nil || tok != want || tokens.fetches.Load() != wantFetches {
			t.Fatalf("AppToken = %q, %v after %d fetches; want %q after %d", tok, err, tokens.fetches.Load(), want, wantFetches)
		}
	}
	get("app-token-1", 1)
	get("app-token-1", 1)
	get("app-token-1", 1)
	h.c.InvalidateAppToken()
	get("app-token-2", 2)
	h.clock.Add(54 * time.Minute) // an hour's token is used until 5 minutes before it expires
	get("app-token-2", 2)
	h.clock.Add(time.Minute)
	get("app-token-3", 3)
}

func TestAppTokenConcurrentCallersShareOneFetch(t *testing.T) {
	tokens := &appTokens{t: t}
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		time.Sleep(10 * time.Millisecond) // widen the window for overlapping fetches
		tokens.ServeHTTP(w, r)
	}))
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			tok, err := h.c.AppToken(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	wg.Wait()
	if tokens.fetches.Load() != 1 || maxInFlight != 1 {
		t.Errorf("fetches = %d (at most %d at once), want 1", tokens.fetches.Load(), maxInFlight)
	}
	for _, tok := range got {
		if tok != "app-token-1" {
			t.Fatalf("tokens = %v", got)
		}
	}
}

func TestAppTokenErrors(t *testing.T) {
	var fetches atomic.Int32
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenForm(t, r, "client_credentials")
		fetches.Add(1)
		idError(w, 403, "invalid client secret "+testClientSecret)
	}))
	for range 2 { // a failure is not cached
		_, err := h.c.AppToken(context.Background())
		if !errors.Is(err, ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
		assertNoSecrets(t, err)
	}
	if fetches.Load() != 2 {
		t.Errorf("fetches = %d, want 2", fetches.Load())
	}

	h.c.appFetch <- struct{}{} // someone else is fetching
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.c.AppToken(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with a cancelled context: err = %v", err)
	}
	<-h.c.appFetch
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter)
		want    Validation
		wantErr error
	}{
		{name: "user token", handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"client_id": testClientID, "login": "streamer", "user_id": "1337",
				"scopes": []string{"moderator:read:followers"}, "expires_in": 5520})
		}, want: Validation{ClientID: testClientID, Login: "streamer", UserID: "1337",
			Scopes: []string{"moderator:read:followers"}, ExpiresIn: 5520 * time.Second}},
		{name: "app token", handle: func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"client_id": testClientID, "scopes": nil, "expires_in": 5000000})
		}, want: Validation{ClientID: testClientID, ExpiresIn: 5000000 * time.Second}},
		{name: "invalid token", wantErr: ErrUnauthorized, handle: func(w http.ResponseWriter) {
			idError(w, 401, "invalid access token "+userToken)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodGet, "/oauth2/validate")
				if got := r.Header.Get("Authorization"); got != "OAuth "+userToken {
					idError(w, 401, "missing authorization token")
					return
				}
				tt.handle(w)
			}))
			got, err := h.c.Validate(context.Background(), userToken)
			assertNoSecrets(t, err, userToken)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got.ClientID != tt.want.ClientID || got.Login != tt.want.Login || got.UserID != tt.want.UserID ||
				!slices.Equal(got.Scopes, tt.want.Scopes) || got.ExpiresIn != tt.want.ExpiresIn {
				t.Errorf("validation = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter)
		status int // 0: success
	}{
		{"ok", func(w http.ResponseWriter) { w.WriteHeader(200) }, 0},
		{"invalid token", func(w http.ResponseWriter) { idError(w, 400, "Invalid token") }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodPost, "/oauth2/revoke")
				if err := r.ParseForm(); err != nil {
					t.Errorf("parse form: %v", err)
				}
				if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("token") != userToken {
					t.Errorf("form client_id=%q, token right = %v", r.PostForm.Get("client_id"), r.PostForm.Get("token") == userToken)
				}
				if r.PostForm.Has("client_secret") {
					t.Error("revoke sent the client secret")
				}
				tt.handle(w)
			}))
			err := h.c.Revoke(context.Background(), userToken)
			assertNoSecrets(t, err, userToken)
			var apiErr *APIError
			if tt.status == 0 && err != nil || tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status) {
				t.Errorf("err = %v, want status %d", err, tt.status)
			}
		})
	}
}

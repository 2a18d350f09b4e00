package twitchtest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	codeLifetime             = 10 * time.Minute
	defaultUserTokenLifetime = 4 * time.Hour       // Twitch's user tokens last about four hours
	defaultAppTokenLifetime  = 60 * 24 * time.Hour // and app tokens about sixty days
)

type accessToken struct {
	value   string
	userID  string // empty for an app access token
	scopes  []string
	expires time.Time
}

func (t accessToken) isApp() bool { return t.userID == "" }

func (t accessToken) hasScope(s string) bool { return slices.Contains(t.scopes, s) }

type refreshToken struct {
	userID string
	scopes []string
}

type authCode struct {
	userID      string
	redirectURI string
	scopes      []string
	expires     time.Time
}

// AuthorizeAs makes userID the account signed in to the fake's Twitch: every /authorize from now
// on approves as that user, until AuthorizeAs is called again.
func (f *Fake) AuthorizeAs(userID string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users[userID] == nil {
		f.t.Fatalf("twitchtest: AuthorizeAs(%q): unknown user, AddUser first", userID)
	}
	f.loggedIn = userID
}

// DenyNextAuthorize makes the next /authorize redirect back with error=access_denied, as when
// the user clicks Cancel.
func (f *Fake) DenyNextAuthorize() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denyNext = true
}

// AddRedirectURI registers an OAuth redirect URI. Once one is registered, /authorize and /token
// accept only registered URIs, matched exactly, as Twitch does.
func (f *Fake) AddRedirectURI(uri string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redirectURIs[uri] = true
}

// Grants returns the scopes userID has granted the app, sorted; nil if none.
func (f *Fake) Grants(userID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.grants[userID]; ok {
		return sortedKeys(g)
	}
	return nil
}

// SetAccessTokenLifetime sets the lifetime of user and app access tokens issued from now on.
func (f *Fake) SetAccessTokenLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userLifetime, f.appLifetime = d, d
}

// ExpireAccessTokens ends the user's current access tokens: they answer 401 from now on. Their
// refresh tokens still work.
func (f *Fake) ExpireAccessTokens(userID string) {
	f.expireTokens(func(t *accessToken) bool { return t.userID == userID })
}

// ExpireAppTokens ends every app access token; a new one must be fetched.
func (f *Fake) ExpireAppTokens() {
	f.expireTokens(func(t *accessToken) bool { return t.isApp() })
}

func (f *Fake) expireTokens(match func(*accessToken) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, t := range f.tokens {
		if match(t) {
			t.expires = past
		}
	}
}

// RevokeAuthorization is the user disconnecting the app, silently: all their access and refresh
// tokens die and their grant is gone. (SendAuthorizationRevoke does the same and tells the app.)
func (f *Fake) RevokeAuthorization(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokeUserLocked(userID)
}

func (f *Fake) revokeUserLocked(userID string) {
	for v, t := range f.tokens {
		if t.userID == userID {
			delete(f.tokens, v)
		}
	}
	for v, t := range f.refresh {
		if t.userID == userID {
			delete(f.refresh, v)
		}
	}
	delete(f.grants, userID)
}

func (f *Fake) redirectAllowedLocked(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return len(f.redirectURIs) == 0 || f.redirectURIs[uri]
}

// handleAuthorize is Twitch's consent page, answered at once by the signed-in user.
func (f *Fake) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.ClientID {
		authError(w, http.StatusBadRequest, "invalid client")
		return
	}
	f.mu.Lock()
	redirectOK := f.redirectAllowedLocked(q.Get("redirect_uri"))
	f.mu.Unlock()
	if !redirectOK {
		authError(w, http.StatusBadRequest, "Parameter redirect_uri does not match registered URI")
		return
	}
	if q.Get("response_type") != "code" {
		// Twitch also knows response_type=token (implicit flow); the app never uses it.
		authError(w, http.StatusBadRequest, "unsupported response_type")
		return
	}
	scopes, err := parseScopes(q.Get("scope"))
	if err != nil {
		authError(w, http.StatusBadRequest, err.Error())
		return
	}

	f.mu.Lock()
	deny, userID := f.denyNext, f.loggedIn
	f.denyNext = false
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	switch {
	case deny:
		v.Set("error", "access_denied")
		v.Set("error_description", "The user denied you access")
	case userID == "":
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Log in - Twitch</title><p>twitchtest: nobody is signed in; call Fake.AuthorizeAs first.")
		return
	default:
		code := randomString(30)
		f.codes[code] = &authCode{userID: userID, redirectURI: q.Get("redirect_uri"), scopes: scopes,
			expires: time.Now().Add(codeLifetime)}
		if f.grants[userID] == nil {
			f.grants[userID] = map[string]bool{}
		}
		for _, s := range scopes {
			f.grants[userID][s] = true
		}
		v.Set("code", code)
		v.Set("scope", strings.Join(scopes, " "))
	}
	f.mu.Unlock()
	if q.Has("state") {
		v.Set("state", q.Get("state"))
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// parseScopes splits Twitch's space-separated scope parameter and refuses unknown scopes.
func parseScopes(s string) ([]string, error) {
	scopes := []string{}
	for _, sc := range strings.Fields(s) {
		if !knownScopes[sc] {
			return nil, fmt.Errorf("invalid scope requested: '%s'", sc)
		}
		scopes = append(scopes, sc)
	}
	return scopes, nil
}

// clientCredentials reads client authentication from the form or from HTTP Basic, whose parts
// are URL-encoded (RFC 6749 §2.3.1), as golang.org/x/oauth2 sends them.
func clientCredentials(r *http.Request) (id, secret, how string) {
	if r.PostForm.Has("client_id") {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), "form"
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", ""
	}
	if u, err := url.QueryUnescape(user); err == nil {
		user = u
	}
	if p, err := url.QueryUnescape(pass); err == nil {
		pass = p
	}
	return user, pass, "basic"
}

type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token,omitempty"`
	Scope        []string `json:"scope,omitempty"`
	TokenType    string   `json:"token_type"`
}

func (f *Fake) handleToken(w http.ResponseWriter, r *http.Request) {
	// Only the body counts: the form must be application/x-www-form-urlencoded.
	if err := r.ParseForm(); err != nil {
		authError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	form := r.PostForm
	entry := logEntry(r)
	entry.GrantType = form.Get("grant_type")
	id, secret, how := clientCredentials(r)
	entry.ClientAuth = how
	switch {
	case id == "":
		authError(w, http.StatusBadRequest, "missing client id")
		return
	case id != f.ClientID:
		authError(w, http.StatusBadRequest, "invalid client")
		return
	case subtle.ConstantTimeCompare([]byte(secret), []byte(f.ClientSecret)) != 1:
		// Twitch answers a wrong secret with 403, not RFC 6749's 401 invalid_client.
		authError(w, http.StatusForbidden, "invalid client secret")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch form.Get("grant_type") {
	case "authorization_code":
		c := f.codes[form.Get("code")]
		if c == nil || time.Now().After(c.expires) {
			authError(w, http.StatusBadRequest, "Invalid authorization code")
			return
		}
		if form.Get("redirect_uri") != c.redirectURI {
			authError(w, http.StatusBadRequest, "Parameter redirect_uri does not match registered URI")
			return
		}
		delete(f.codes, form.Get("code"))
		writeJSON(w, http.StatusOK, f.issueUserTokensLocked(c.userID, c.scopes))
	case "refresh_token":
		old := form.Get("refresh_token")
		rt := f.refresh[old]
		if rt == nil {
			authError(w, http.StatusBadRequest, "Invalid refresh token")
			return
		}
		// Rotation: the refresh token just used is spent; the answer carries its successor.
		delete(f.refresh, old)
		writeJSON(w, http.StatusOK, f.issueUserTokensLocked(rt.userID, rt.scopes))
	case "client_credentials":
		t := &accessToken{value: randomString(30), scopes: []string{}, expires: time.Now().Add(f.appLifetime)}
		f.tokens[t.value] = t
		writeJSON(w, http.StatusOK, tokenResponse{AccessToken: t.value, ExpiresIn: seconds(f.appLifetime), TokenType: "bearer"})
	case "":
		authError(w, http.StatusBadRequest, "missing grant_type")
	default:
		authError(w, http.StatusBadRequest, "unsupported grant_type")
	}
}

func (f *Fake) issueUserTokensLocked(userID string, scopes []string) tokenResponse {
	t := &accessToken{value: randomString(30), userID: userID, scopes: scopes, expires: time.Now().Add(f.userLifetime)}
	f.tokens[t.value] = t
	rt := randomString(50)
	f.refresh[rt] = &refreshToken{userID: userID, scopes: scopes}
	return tokenResponse{AccessToken: t.value, ExpiresIn: seconds(f.userLifetime), RefreshToken: rt,
		Scope: scopes, TokenType: "bearer"}
}

func seconds(d time.Duration) int { return int(d / time.Second) }

// liveTokenLocked returns the access token named v if it exists and has not expired.
func (f *Fake) liveTokenLocked(v string) (accessToken, bool) {
	t := f.tokens[v]
	if t == nil || !time.Now().Before(t.expires) {
		return accessToken{}, false
	}
	return *t, true
}

func (f *Fake) handleValidate(w http.ResponseWriter, r *http.Request) {
	// /validate takes "OAuth <token>"; Helix takes "Bearer <token>".
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "OAuth") || value == "" {
		authError(w, http.StatusUnauthorized, "missing authorization token")
		return
	}
	f.mu.Lock()
	t, ok := f.liveTokenLocked(value)
	var login string
	if ok && !t.isApp() {
		login = f.users[t.userID].Login
	}
	f.mu.Unlock()
	if !ok {
		authError(w, http.StatusUnauthorized, "invalid access token")
		return
	}
	scopes := t.scopes
	if scopes == nil {
		scopes = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		ClientID  string   `json:"client_id"`
		Login     string   `json:"login,omitempty"`
		Scopes    []string `json:"scopes"`
		UserID    string   `json:"user_id,omitempty"`
		ExpiresIn int      `json:"expires_in"`
	}{f.ClientID, login, scopes, t.userID, seconds(time.Until(t.expires))})
}

// handleRevoke kills one access or refresh token. Its errors are Twitch's documented ones: 404
// "client does not exist" for a wrong client id, 400 "Invalid token" for an unknown token.
func (f *Fake) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		authError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	if r.PostForm.Get("client_id") != f.ClientID {
		authError(w, http.StatusNotFound, "client does not exist")
		return
	}
	v := r.PostForm.Get("token")
	f.mu.Lock()
	_, isAccess := f.tokens[v]
	_, isRefresh := f.refresh[v]
	delete(f.tokens, v)
	delete(f.refresh, v)
	f.mu.Unlock()
	if v == "" || (!isAccess && !isRefresh) {
		authError(w, http.StatusBadRequest, "Invalid token")
		return
	}
	w.WriteHeader(http.StatusOK)
}

package twitch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Token is a user access token with its refresh token.
type Token struct {
	AccessToken, RefreshToken string
	Expiry                    time.Time // zero when Twitch gave no lifetime
	Scopes                    []string
}

type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int64    `json:"expires_in"` // seconds
	Scope        []string `json:"scope"`
}

// ExchangeCode trades the code from the authorize redirect for a user token.
func (c *Client) ExchangeCode(ctx context.Context, code, redirectURI string) (Token, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	return c.userToken(ctx, form, code)
}

// Refresh gets a new user token. Twitch rotates refresh tokens: store the returned RefreshToken in
// place of the old one. A refused refresh token (400 "Invalid refresh token", or 401) is
// ErrTokenRevoked: the user has to sign in again.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	tok, err := c.userToken(ctx, form, refreshToken)
	var apiErr *APIError
	if errors.As(err, &apiErr) && refreshRefused(apiErr) {
		apiErr.refreshRefused = true
	}
	if err == nil && tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken // not rotated this time: the old one stays valid
	}
	return tok, err
}

func refreshRefused(e *APIError) bool {
	return e.Status == http.StatusUnauthorized ||
		e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "invalid refresh token")
}

func (c *Client) userToken(ctx context.Context, form url.Values, secret string) (Token, error) {
	tr, err := c.token(ctx, form, secret)
	if err != nil {
		return Token{}, err
	}
	tok := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Scopes: tr.Scope}
	if tr.ExpiresIn > 0 {
		tok.Expiry = c.now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// token POSTs to /token with the client credentials as form fields, Twitch's documented way.
func (c *Client) token(ctx context.Context, form url.Values, secret string) (tokenResponse, error) {
	form.Set("client_id", c.clientID)
	form.Set("client_secret", c.clientSecret)
	var tr tokenResponse
	err := c.do(ctx, call{
		method: http.MethodPost, base: c.authURL, path: "/token", form: form,
		secrets: []string{c.clientSecret, secret},
	}, &tr)
	if err != nil {
		return tokenResponse{}, err
	}
	if tr.AccessToken == "" {
		return tokenResponse{}, fmt.Errorf("twitch: POST %s: no access token in the response", urlPath(c.authURL+"/token"))
	}
	return tr, nil
}

// cachedToken is the app token and when to stop using it (zero: until invalidated).
type cachedToken struct {
	token     string
	refreshAt time.Time
}

// AppToken returns an app access token (client credentials), fetched once and reused until
// shortly before it expires. Concurrent callers share one fetch.
func (c *Client) AppToken(ctx context.Context) (string, error) {
	if tok, ok := c.cachedAppToken(); ok {
		return tok, nil
	}
	select { // a channel, not a mutex, so that waiters still honour ctx
	case c.appFetch <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("twitch: app token: %w", ctx.Err())
	}
	defer func() { <-c.appFetch }()
	if tok, ok := c.cachedAppToken(); ok { // fetched by whoever held the slot before us
		return tok, nil
	}
	tr, err := c.token(ctx, url.Values{"grant_type": {"client_credentials"}}, "")
	if err != nil {
		return "", err
	}
	cached := cachedToken{token: tr.AccessToken}
	if tr.ExpiresIn > 0 {
		lifetime := time.Duration(tr.ExpiresIn) * time.Second
		cached.refreshAt = c.now().Add(lifetime - min(5*time.Minute, lifetime/10))
	}
	c.appMu.Lock()
	c.app = cached
	c.appMu.Unlock()
	return cached.token, nil
}

func (c *Client) cachedAppToken() (string, bool) {
	c.appMu.Lock()
	defer c.appMu.Unlock()
	if c.app.token == "" || !c.app.refreshAt.IsZero() && !c.now().Before(c.app.refreshAt) {
		return "", false
	}
	return c.app.token, true
}

// InvalidateAppToken drops the cached app token; the next AppToken fetches a new one.
func (c *Client) InvalidateAppToken() {
	c.appMu.Lock()
	c.app = cachedToken{}
	c.appMu.Unlock()
}

// invalidateAppToken drops the cached token only if it is still the one that failed, so that
// concurrent calls failing with the same stale token do not throw away each other's new one.
func (c *Client) invalidateAppToken(failed string) {
	c.appMu.Lock()
	if c.app.token == failed {
		c.app = cachedToken{}
	}
	c.appMu.Unlock()
}

// Validation is what /validate says about a token. App tokens have no Login or UserID.
type Validation struct {
	ClientID, Login, UserID string
	Scopes                  []string
	ExpiresIn               time.Duration
}

// Validate checks a token with Twitch, which apps that keep sessions must do at start-up and
// hourly. An invalid or expired token is ErrUnauthorized.
func (c *Client) Validate(ctx context.Context, accessToken string) (Validation, error) {
	var body struct {
		ClientID  string   `json:"client_id"`
		Login     string   `json:"login"`
		UserID    string   `json:"user_id"`
		Scopes    []string `json:"scopes"`
		ExpiresIn int64    `json:"expires_in"`
	}
	err := c.do(ctx, call{
		method: http.MethodGet, base: c.authURL, path: "/validate",
		auth: "OAuth " + accessToken, secrets: []string{accessToken},
	}, &body)
	if err != nil {
		return Validation{}, err
	}
	return Validation{
		ClientID: body.ClientID, Login: body.Login, UserID: body.UserID, Scopes: body.Scopes,
		ExpiresIn: time.Duration(body.ExpiresIn) * time.Second,
	}, nil
}

// Revoke revokes an access token. Twitch answers 400 "Invalid token" for one that is already
// invalid; that comes back as an *APIError with Status 400 for the caller to judge.
func (c *Client) Revoke(ctx context.Context, token string) error {
	return c.do(ctx, call{
		method: http.MethodPost, base: c.authURL, path: "/revoke",
		form:    url.Values{"client_id": {c.clientID}, "token": {token}},
		secrets: []string{token},
	}, nil)
}

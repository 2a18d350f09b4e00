package twitchtest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestAuthorizationCodeAndRefreshRotation(t *testing.T) {
	f := twitchtest.New(t)
	f.AddUser(streamer)
	f.AuthorizeAs(streamer.ID)

	resp, _ := authorize(t, f, authorizeQuery(f, "moderator:read:followers user:read:email"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirectURI+"?") {
		t.Fatalf("authorize = %d %q, want 302 to %s", resp.StatusCode, loc, redirectURI)
	}
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st4te" || loc.Query().Get("scope") != "moderator:read:followers user:read:email" {
		t.Fatalf("redirect query = %v", loc.Query())
	}
	if got := f.Grants(streamer.ID); !slices.Equal(got, []string{"moderator:read:followers", "user:read:email"}) {
		t.Errorf("grants = %v", got)
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	status, body := postToken(t, f, form, true)
	if status != http.StatusOK || body["token_type"] != "bearer" || body["access_token"] == "" ||
		body["refresh_token"] == "" || body["expires_in"].(float64) <= 0 || len(body["scope"].([]any)) != 2 {
		t.Fatalf("code exchange = %d %v", status, body)
	}
	if status, body := postToken(t, f, form, true); status != http.StatusBadRequest || body["message"] != "Invalid authorization code" {
		t.Errorf("second use of the code = %d %v, want 400", status, body)
	}

	first := body["refresh_token"].(string)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}}
	status, rotated := postToken(t, f, refresh, true)
	second, _ := rotated["refresh_token"].(string)
	if status != http.StatusOK || second == "" || second == first || rotated["access_token"] == body["access_token"] {
		t.Fatalf("refresh = %d %v, want new access and refresh tokens", status, rotated)
	}
	if status, got := postToken(t, f, refresh, true); status != http.StatusBadRequest || got["message"] != "Invalid refresh token" {
		t.Errorf("old refresh token = %d %v, want 400 Invalid refresh token", status, got)
	}
	refresh.Set("refresh_token", second)
	refresh.Set("client_id", f.ClientID)
	refresh.Set("client_secret", f.ClientSecret)
	if status, got := postToken(t, f, refresh, false); status != http.StatusOK {
		t.Errorf("new refresh token with form auth = %d %v", status, got)
	}

	var auths []string
	for _, r := range f.Requests() {
		if r.Path == "/oauth2/token" {
			auths = append(auths, r.GrantType+"/"+r.ClientAuth)
		}
	}
	want := []string{"authorization_code/basic", "authorization_code/basic", "refresh_token/basic",
		"refresh_token/basic", "refresh_token/form"}
	if !slices.Equal(auths, want) {
		t.Errorf("token requests = %v, want %v", auths, want)
	}
}

func TestTokenClientAuthentication(t *testing.T) {
	f := twitchtest.New(t)
	tests := []struct {
		name       string
		form       url.Values
		basic      [2]string
		wantStatus int
		wantMsg    string
	}{
		{"basic", url.Values{}, [2]string{f.ClientID, f.ClientSecret}, 200, ""},
		{"form", url.Values{"client_id": {f.ClientID}, "client_secret": {f.ClientSecret}}, [2]string{}, 200, ""},
		{"basic wrong secret", url.Values{}, [2]string{f.ClientID, "nope"}, 403, "invalid client secret"},
		{"form wrong secret", url.Values{"client_id": {f.ClientID}, "client_secret": {"nope"}}, [2]string{}, 403, "invalid client secret"},
		{"form no secret", url.Values{"client_id": {f.ClientID}}, [2]string{}, 403, "invalid client secret"},
		{"unknown client", url.Values{"client_id": {"other"}, "client_secret": {f.ClientSecret}}, [2]string{}, 400, "invalid client"},
		{"no client", url.Values{}, [2]string{}, 400, "missing client id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			req := newRequest(t, http.MethodPost, f.AuthURL+"/token", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				req.SetBasicAuth(url.QueryEscape(tt.basic[0]), url.QueryEscape(tt.basic[1]))
			}
			resp, body := call(t, req)
			if resp.StatusCode != tt.wantStatus || (tt.wantMsg != "" && body["message"] != tt.wantMsg) {
				t.Errorf("= %d %v, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantMsg)
			}
			if tt.wantStatus == 200 && (body["refresh_token"] != nil || body["token_type"] != "bearer") {
				t.Errorf("app token = %v, want bearer without refresh token", body)
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	f := twitchtest.New(t)
	f.AddUser(streamer)
	f.AuthorizeAs(streamer.ID)
	f.AddRedirectURI(redirectURI)
	with := func(k, v string) url.Values {
		q := authorizeQuery(f, "user:read:email")
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantMsg    string
	}{
		{"wrong client", with("client_id", "other"), 400, "invalid client"},
		{"response_type token", with("response_type", "token"), 400, "unsupported response_type"},
		{"unregistered redirect", with("redirect_uri", "http://evil.test/cb"), 400, "Parameter redirect_uri does not match registered URI"},
		{"unknown scope", with("scope", "user:read:email channel:read:everything"), 400, "invalid scope requested: 'channel:read:everything'"},
		{"comma-separated scopes", with("scope", "user:read:email,bits:read"), 400, "invalid scope requested: 'user:read:email,bits:read'"},
		{"no state", with("state", ""), 302, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := authorize(t, f, tt.query)
			if resp.StatusCode != tt.wantStatus || (tt.wantMsg != "" && body["message"] != tt.wantMsg) {
				t.Errorf("= %d %v, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantMsg)
			}
		})
	}

	stateless := 0
	for _, r := range f.Requests() {
		if r.Path == "/oauth2/authorize" && !r.Query.Has("state") {
			stateless++
		}
	}
	if stateless != 1 {
		t.Errorf("log shows %d authorize requests without state, want 1", stateless)
	}

	f.DenyNextAuthorize()
	resp, _ := authorize(t, f, authorizeQuery(f, "user:read:email"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "st4te" || q.Has("code") {
		t.Errorf("denied authorize redirected to %s", loc)
	}
	if resp, _ := authorize(t, f, authorizeQuery(f, "user:read:email")); resp.StatusCode != http.StatusFound ||
		!strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Errorf("authorize after the denial = %d %s, want a code", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCodeIsBoundToRedirectURI(t *testing.T) {
	f := twitchtest.New(t)
	f.AddUser(streamer)
	f.AuthorizeAs(streamer.ID)
	resp, _ := authorize(t, f, authorizeQuery(f, ""))
	code := mustQuery(t, resp, "code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://app.test/other"}}
	if status, body := postToken(t, f, form, true); status != 400 || body["message"] != "Parameter redirect_uri does not match registered URI" {
		t.Errorf("other redirect_uri = %d %v", status, body)
	}
	form.Set("redirect_uri", redirectURI)
	if status, body := postToken(t, f, form, true); status != 200 || body["scope"] != nil {
		t.Errorf("right redirect_uri = %d %v, want 200 without scope", status, body)
	}
}

func mustQuery(t *testing.T, resp *http.Response, key string) string {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get(key) == "" {
		t.Fatalf("%d redirect %q has no %s", resp.StatusCode, resp.Header.Get("Location"), key)
	}
	return loc.Query().Get(key)
}

func validate(t *testing.T, f *twitchtest.Fake, scheme, token string) (int, map[string]any) {
	t.Helper()
	req := newRequest(t, http.MethodGet, f.AuthURL+"/validate", nil)
	req.Header.Set("Authorization", scheme+" "+token)
	resp, body := call(t, req)
	return resp.StatusCode, body
}

func TestValidate(t *testing.T) {
	f, user, app, _ := setup(t)
	status, body := validate(t, f, "OAuth", user.AccessToken)
	if status != 200 || body["client_id"] != f.ClientID || body["login"] != streamer.Login ||
		body["user_id"] != streamer.ID || len(body["scopes"].([]any)) != 2 || body["expires_in"].(float64) <= 0 {
		t.Errorf("validate user token = %d %v", status, body)
	}
	status, body = validate(t, f, "OAuth", app)
	if _, hasLogin := body["login"]; status != 200 || hasLogin || body["user_id"] != nil || len(body["scopes"].([]any)) != 0 {
		t.Errorf("validate app token = %d %v", status, body)
	}
	for _, tc := range [][2]string{{"OAuth", "nope"}, {"Bearer", user.AccessToken}, {"OAuth", user.RefreshToken}} {
		if status, body := validate(t, f, tc[0], tc[1]); status != 401 || body["status"] != 401.0 {
			t.Errorf("validate %s %.6s… = %d %v, want 401", tc[0], tc[1], status, body)
		}
	}
}

func revoke(t *testing.T, f *twitchtest.Fake, clientID, token string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "token": {token}}
	req := newRequest(t, http.MethodPost, f.AuthURL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := call(t, req)
	return resp.StatusCode, body
}

func TestRevokeToken(t *testing.T) {
	f, user, _, _ := setup(t)
	if status, body := revoke(t, f, "other", user.AccessToken); status != 404 || body["message"] != "client does not exist" {
		t.Errorf("revoke with another client = %d %v", status, body)
	}
	if status, _ := revoke(t, f, f.ClientID, user.AccessToken); status != 200 {
		t.Fatalf("revoke = %d", status)
	}
	if status, _ := validate(t, f, "OAuth", user.AccessToken); status != 401 {
		t.Errorf("revoked token validates: %d", status)
	}
	if status, body := revoke(t, f, f.ClientID, user.AccessToken); status != 400 || body["message"] != "Invalid token" {
		t.Errorf("second revoke = %d %v", status, body)
	}
	if status, _ := revoke(t, f, f.ClientID, user.RefreshToken); status != 200 {
		t.Fatalf("revoke refresh token = %d", status)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {user.RefreshToken}}
	if status, _ := postToken(t, f, refresh, true); status != 400 {
		t.Errorf("refresh with a revoked refresh token = %d, want 400", status)
	}
}

func TestExpiryAndRevokedAuthorization(t *testing.T) {
	f, user, app, _ := setup(t)
	f.ExpireAccessTokens(streamer.ID)
	if resp, body := helix(t, f, "GET", "/users", user.AccessToken, nil); resp.StatusCode != 401 || body["message"] != "Invalid OAuth token" {
		t.Errorf("expired user token = %d %v", resp.StatusCode, body)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {user.RefreshToken}}
	status, body := postToken(t, f, refresh, true)
	if status != 200 {
		t.Fatalf("refresh after expiry = %d %v", status, body)
	}
	if resp, _ := helix(t, f, "GET", "/users", body["access_token"].(string), nil); resp.StatusCode != 200 {
		t.Errorf("refreshed token = %d", resp.StatusCode)
	}

	f.RevokeAuthorization(streamer.ID)
	refresh.Set("refresh_token", body["refresh_token"].(string))
	if status, body := postToken(t, f, refresh, true); status != 400 || body["message"] != "Invalid refresh token" {
		t.Errorf("refresh after RevokeAuthorization = %d %v", status, body)
	}
	if f.Grants(streamer.ID) != nil {
		t.Errorf("grant survived RevokeAuthorization")
	}

	f.ExpireAppTokens()
	if resp, _ := helix(t, f, "GET", "/users?id=1337", app, nil); resp.StatusCode != 401 {
		t.Errorf("expired app token = %d", resp.StatusCode)
	}
	if resp, _ := helix(t, f, "GET", "/users?id=1337", appToken(t, f), nil); resp.StatusCode != 200 {
		t.Errorf("new app token = %d", resp.StatusCode)
	}
}

func TestAccessTokenLifetime(t *testing.T) {
	f := twitchtest.New(t)
	f.SetAccessTokenLifetime(-time.Second)
	if resp, _ := helix(t, f, "GET", "/users?id=1", appToken(t, f), nil); resp.StatusCode != 401 {
		t.Errorf("token issued already expired = %d, want 401", resp.StatusCode)
	}
}

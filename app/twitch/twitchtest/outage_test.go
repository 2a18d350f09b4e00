package twitchtest_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestExpireCodes(t *testing.T) {
	f := twitchtest.New(t)
	f.AddUser(streamer)
	f.AuthorizeAs(streamer.ID)
	resp, _ := authorize(t, f, authorizeQuery(f, ""))
	code := mustQuery(t, resp, "code")
	f.ExpireCodes()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if status, body := postToken(t, f, form, true); status != http.StatusBadRequest || body["message"] != "Invalid authorization code" {
		t.Fatalf("expired code = %d %v, want 400 Invalid authorization code", status, body)
	}
	resp, _ = authorize(t, f, authorizeQuery(f, "")) // codes issued afterwards work
	form.Set("code", mustQuery(t, resp, "code"))
	if status, body := postToken(t, f, form, true); status != http.StatusOK {
		t.Fatalf("fresh code = %d %v, want 200", status, body)
	}
}

func TestServerError(t *testing.T) {
	f := twitchtest.New(t)
	f.SetServerError(http.StatusServiceUnavailable)
	form := url.Values{"grant_type": {"client_credentials"}}
	if status, body := postToken(t, f, form, true); status != http.StatusServiceUnavailable || body["status"] != float64(503) || body["error"] != nil {
		t.Fatalf("token during an outage = %d %v, want id.twitch.tv's 503 body", status, body)
	}
	if resp, body := helix(t, f, http.MethodGet, "/users", "any-token", nil); resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "Service Unavailable" {
		t.Fatalf("helix during an outage = %d %v, want Helix's 503 body", resp.StatusCode, body)
	}
	if reqs := f.Requests(); len(reqs) != 2 || reqs[0].Status != http.StatusServiceUnavailable {
		t.Fatalf("requests %+v, want both listed with 503", reqs)
	}
	f.SetServerError(0)
	if status, body := postToken(t, f, form, true); status != http.StatusOK {
		t.Fatalf("token after the outage = %d %v, want 200", status, body)
	}
}

func TestUnreachable(t *testing.T) {
	f := twitchtest.New(t)
	f.SetUnreachable(true)
	req := newRequest(t, http.MethodPost, f.AuthURL+"/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirects.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.Fatalf("unreachable Twitch answered %d, want a network error", resp.StatusCode)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want a *url.Error", err)
	}
	f.SetUnreachable(false)
	if status, body := postToken(t, f, url.Values{"grant_type": {"client_credentials"}}, true); status != http.StatusOK {
		t.Fatalf("token once reachable = %d %v, want 200", status, body)
	}
}

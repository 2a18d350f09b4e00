package twitchtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

const redirectURI = "http://app.test/auth/twitch/callback"

var streamer = twitchtest.User{ID: "1337", Login: "cooler_user", DisplayName: "Cooler_User",
	Email: "cooler@example.com", ProfileImageURL: "https://example.com/p.png"}

// noRedirects is a client that shows redirects instead of following them, like a test browser.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

type tokens struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int      `json:"expires_in"`
	Scope        []string `json:"scope"`
	TokenType    string   `json:"token_type"`
}

// call sends a request and decodes a JSON answer into a map (nil for an empty body).
func call(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s %s: %v in %s", req.Method, req.URL.Path, err, raw)
		}
	}
	return resp, body
}

func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// postToken posts form to /token, with Basic client authentication when basic is set.
func postToken(t *testing.T, f *twitchtest.Fake, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req := newRequest(t, http.MethodPost, f.AuthURL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(f.ClientID), url.QueryEscape(f.ClientSecret))
	}
	resp, body := call(t, req)
	return resp.StatusCode, body
}

// authorize runs /authorize and returns the redirect it answered.
func authorize(t *testing.T, f *twitchtest.Fake, q url.Values) (*http.Response, map[string]any) {
	t.Helper()
	return call(t, newRequest(t, http.MethodGet, f.AuthURL+"/authorize?"+q.Encode(), nil))
}

func authorizeQuery(f *twitchtest.Fake, scope string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {f.ClientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {"st4te"}}
}

// login signs userID in with scope and returns the tokens of the code exchange.
func login(t *testing.T, f *twitchtest.Fake, userID, scope string) tokens {
	t.Helper()
	f.AuthorizeAs(userID)
	resp, _ := authorize(t, f, authorizeQuery(f, scope))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirectURI}, "client_id": {f.ClientID}, "client_secret": {f.ClientSecret}}
	return exchange(t, f, form)
}

func exchange(t *testing.T, f *twitchtest.Fake, form url.Values) tokens {
	t.Helper()
	req := newRequest(t, http.MethodPost, f.AuthURL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk tokens
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tk
}

func appToken(t *testing.T, f *twitchtest.Fake) string {
	t.Helper()
	return exchange(t, f, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.ClientID},
		"client_secret": {f.ClientSecret}}).AccessToken
}

// helix calls the fake's Helix with token and the app's Client-Id.
func helix(t *testing.T, f *twitchtest.Fake, method, path, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(raw))
	}
	req := newRequest(t, method, f.APIURL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Client-Id", f.ClientID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return call(t, req)
}

// received is one message a callback got.
type received struct {
	Header http.Header
	Body   []byte
	Msg    *eventsub.Message
}

// callback is an app's webhook endpoint: it checks every signature and answers as answer says.
type callback struct {
	*httptest.Server
	secret string
	answer func(w http.ResponseWriter, msgType string, m *eventsub.Message)

	mu   sync.Mutex
	msgs []received
}

func echo(w http.ResponseWriter, msgType string, m *eventsub.Message) {
	if msgType == eventsub.TypeVerification {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, m.Challenge)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func newCallback(t *testing.T, secret string, answer func(http.ResponseWriter, string, *eventsub.Message)) *callback {
	c := &callback{secret: secret, answer: answer}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := eventsub.Verify(c.secret, r.Header, body, time.Now()); err != nil {
			t.Errorf("callback: %v", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		typ := r.Header.Get(eventsub.HeaderMessageType)
		m, err := eventsub.Parse(typ, body)
		if err != nil {
			t.Errorf("callback: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, received{r.Header.Clone(), body, m})
		c.mu.Unlock()
		c.answer(w, typ, m)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *callback) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.msgs...)
}

type subRequest struct {
	Type      string            `json:"type"`
	Version   string            `json:"version"`
	Condition map[string]string `json:"condition"`
	Transport map[string]string `json:"transport"`
}

func followSub(callbackURL, secret string) subRequest {
	return subRequest{Type: "channel.follow", Version: "2",
		Condition: map[string]string{"broadcaster_user_id": streamer.ID, "moderator_user_id": streamer.ID},
		Transport: map[string]string{"method": "webhook", "callback": callbackURL, "secret": secret}}
}

// subscribe creates a subscription and waits for its verification to end.
func subscribe(t *testing.T, f *twitchtest.Fake, app string, req subRequest) twitchtest.Subscription {
	t.Helper()
	resp, body := helix(t, f, http.MethodPost, "/eventsub/subscriptions", app, req)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("subscribe %s: %d %v", req.Type, resp.StatusCode, body)
	}
	id := body["data"].([]any)[0].(map[string]any)["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.AwaitVerification(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setup is a fake with the streamer signed in (moderator:read:followers granted), an app token
// and a callback that answers correctly.
func setup(t *testing.T) (*twitchtest.Fake, tokens, string, *callback) {
	t.Helper()
	f := twitchtest.New(t)
	f.AddUser(streamer)
	user := login(t, f, streamer.ID, "moderator:read:followers user:read:email")
	return f, user, appToken(t, f), newCallback(t, "s3cre7-s3cre7-s3cre7", echo)
}

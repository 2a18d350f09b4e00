package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
	"github.com/twitch-event-viewer/tev/app/web"
)

const (
	testSecret  = "accounts-test-eventsub-secret-0123"
	redirectURI = "http://app.test/auth/twitch/callback"
	followScope = "moderator:read:followers"
	// waitLong only keeps a broken test from hanging; no assertion depends on it.
	waitLong = 2 * time.Minute
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// env is the account service over one test database, talking to a fake Twitch, with the app's
// real router serving the EventSub callback (challenges answered, notifications stored).
type env struct {
	t        *testing.T
	ctx      context.Context
	fake     *twitchtest.Fake
	store    *store.Store
	tw       *twitch.Client
	key      string // the TOKEN_KEY svc seals with
	box      *tokenbox.Box
	clock    *clock
	ingest   *ingest.Batcher
	log      *slog.Logger
	callback string
	svc      *accounts.Service
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	log := testLogger(t) // first: its clean-up runs last
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	fake := twitchtest.New(t)
	e := &env{t: t, ctx: ctx, fake: fake, store: st, log: log, key: tokenbox.NewKey(),
		clock: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	e.box = parseBox(t, e.key)
	e.tw = twitch.New(twitch.Config{ClientID: fake.ClientID, ClientSecret: fake.ClientSecret,
		AuthURL: fake.AuthURL, APIURL: fake.APIURL})
	bell := doorbell.New(doorbell.Options{Store: st})
	h := web.NewHub(st, nil, nil, log)
	t.Cleanup(h.Close)
	e.ingest = newIngest(t, st, bell)

	// The callback URL must be known before the service exists, and the router needs the service.
	ts := httptest.NewUnstartedServer(nil)
	e.callback = "http://" + ts.Listener.Addr().String() + "/webhooks/twitch"
	e.svc = e.service(e.box)
	public, _ := url.Parse("http://" + ts.Listener.Addr().String())
	srv, err := web.New(web.Options{
		Config: config.Config{EventSubSecret: testSecret, SessionSecret: strings.Repeat("s", 32),
			PublicURL: public, TwitchClientID: fake.ClientID, DemoBroadcasterID: config.DefaultDemoBroadcasterID},
		Store: st, Hub: h, Bell: bell, Ingest: e.ingest, Accounts: e.svc, Logger: log})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	return e
}

// newIngest is serve's batcher over st, publishing to h, closed when the test ends.
func newIngest(t *testing.T, st *store.Store, bell *doorbell.Bell) *ingest.Batcher {
	b := ingest.New(ingest.Options{Store: st, Committed: bell.Committed})
	t.Cleanup(b.Close)
	return b
}

// options are the Service's: this database, the fake Twitch, our callback, the test clock.
func (e *env) options() accounts.Options {
	return accounts.Options{Store: e.store, Twitch: e.tw, Box: e.box, Ingest: e.ingest, Logger: e.log,
		Now: e.clock.Now, Callback: e.callback, Secret: testSecret, ClientID: e.fake.ClientID}
}

// service is another Service like e.svc, sealing with box.
func (e *env) service(box *tokenbox.Box) *accounts.Service {
	o := e.options()
	o.Box = box
	return accounts.New(o)
}

func parseBox(t *testing.T, keys string) *tokenbox.Box {
	t.Helper()
	b, err := tokenbox.Parse(keys)
	if err != nil {
		t.Fatalf("tokenbox.Parse: %v", err)
	}
	return b
}

// clock is the service's clock: it stands still (whole seconds, so every database stores it
// exactly) until a test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC().Truncate(time.Second)
}

// addUser adds a streamer to the fake Twitch.
func (e *env) addUser(id, login string) twitchtest.User {
	u := twitchtest.User{ID: id, Login: login, DisplayName: strings.ToUpper(login[:1]) + login[1:]}
	e.fake.AddUser(u)
	return u
}

// browser is a test browser that shows redirects instead of following them.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize plays the browser on Twitch's consent page as u, approving scope, and trades the
// code from the redirect for a user token as the app's callback does.
func (e *env) authorize(u twitchtest.User, scope string) twitch.Token {
	e.t.Helper()
	e.fake.AuthorizeAs(u.ID)
	q := url.Values{"response_type": {"code"}, "client_id": {e.fake.ClientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {"x"}}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, e.fake.AuthURL+"/authorize?"+q.Encode(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		e.t.Fatalf("authorize answered %d without a redirect: %v", resp.StatusCode, err)
	}
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "x" {
		e.t.Fatalf("authorize redirected to %s: no code or wrong state", loc)
	}
	tok, err := e.tw.ExchangeCode(e.ctx, code, redirectURI)
	if err != nil {
		e.t.Fatalf("ExchangeCode: %v", err)
	}
	return tok
}

// grant is what the sign-in hands the service; Scopes is left nil so that SignIn validates.
func grant(u twitchtest.User, tok twitch.Token) accounts.Grant {
	return accounts.Grant{UserID: u.ID, Login: u.Login, DisplayName: u.DisplayName, ProfileImageURL: u.ProfileImageURL,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
}

// signIn is u signing in with Twitch, granting what the app asks for.
func (e *env) signIn(u twitchtest.User) twitch.Token {
	e.t.Helper()
	tok := e.authorize(u, strings.Join(accounts.Scopes, " "))
	if _, err := e.svc.SignIn(e.ctx, grant(u, tok)); err != nil {
		e.t.Fatalf("SignIn(%s): %v", u.Login, err)
	}
	return tok
}

func (e *env) account(id string) *store.Account {
	e.t.Helper()
	a, err := e.store.AccountByID(e.ctx, id)
	if err != nil {
		e.t.Fatalf("AccountByID(%s): %v", id, err)
	}
	return a
}

// tokens opens the account's sealed tokens. The additional data ("access:" or "refresh:" and the
// user id) is part of the at-rest format: changing it would strand every stored token.
func tokens(t *testing.T, box *tokenbox.Box, a *store.Account) (access, refresh string) {
	t.Helper()
	access, err := box.Open(a.AccessToken, "access:"+a.BroadcasterID)
	if err != nil {
		t.Fatalf("open access token of %s: %v", a.BroadcasterID, err)
	}
	refresh, err = box.Open(a.RefreshToken, "refresh:"+a.BroadcasterID)
	if err != nil {
		t.Fatalf("open refresh token of %s: %v", a.BroadcasterID, err)
	}
	return access, refresh
}

// subscribe ensures the broadcaster's subscriptions and waits until Twitch has verified the one
// channel.follow subscription, which must then be enabled.
func (e *env) subscribe(broadcasterID string) twitchtest.Subscription {
	e.t.Helper()
	if err := e.svc.EnsureSubscriptions(e.ctx, broadcasterID); err != nil {
		e.t.Fatalf("EnsureSubscriptions(%s): %v", broadcasterID, err)
	}
	subs := e.remote(followOf(broadcasterID))
	if len(subs) != 1 {
		e.t.Fatalf("Twitch has %d channel.follow subscriptions for %s, want 1: %+v", len(subs), broadcasterID, subs)
	}
	return e.await(subs[0].ID)
}

// await waits for Twitch's verification of a subscription, which must succeed.
func (e *env) await(id string) twitchtest.Subscription {
	e.t.Helper()
	sub, err := e.fake.AwaitVerification(e.ctx, id)
	if err != nil {
		e.t.Fatalf("AwaitVerification(%s): %v", id, err)
	}
	if sub.Status != twitchtest.StatusEnabled {
		e.t.Fatalf("subscription %s (%s) is %q after verification, want enabled", id, sub.Type, sub.Status)
	}
	return sub
}

func followOf(broadcasterID string) func(twitchtest.Subscription) bool {
	return func(s twitchtest.Subscription) bool {
		return s.Type == eventsub.ChannelFollow && s.Condition["broadcaster_user_id"] == broadcasterID
	}
}

func appLevel(s twitchtest.Subscription) bool { return s.Type == eventsub.UserAuthorizationRevoke }

// remote lists the fake Twitch's subscriptions that match.
func (e *env) remote(match func(twitchtest.Subscription) bool) []twitchtest.Subscription {
	return slices.DeleteFunc(e.fake.Subscriptions(), func(s twitchtest.Subscription) bool { return !match(s) })
}

// local lists our subscription rows of a broadcaster ("" for the app's own).
func (e *env) local(broadcasterID string) []store.Subscription {
	e.t.Helper()
	subs, err := e.store.SubscriptionsOf(e.ctx, broadcasterID)
	if err != nil {
		e.t.Fatal(err)
	}
	return subs
}

// since returns the requests the fake answered after mark (a len of Requests) that match.
func (e *env) since(mark int, method, path string) []twitchtest.Request {
	var out []twitchtest.Request
	for _, r := range e.fake.Requests()[mark:] {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) mark() int { return len(e.fake.Requests()) }

// trail is the fake's requests after mark, one "METHOD path status [grant]" line each, to
// check their order and to show in failures.
func (e *env) trail(mark int) []string {
	var out []string
	for _, r := range e.fake.Requests()[mark:] {
		line := fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status)
		if r.GrantType != "" {
			line += " " + r.GrantType
		}
		out = append(out, line)
	}
	return out
}

// otherDeployment is the callback of another app using the same client id: it answers its own
// challenges, signed with its own secret.
func otherDeployment(t *testing.T, secret string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || eventsub.Verify(secret, r.Header, body, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		msg, err := eventsub.Parse(r.Header.Get(eventsub.HeaderMessageType), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if msg.Challenge != "" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, msg.Challenge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/twitch"
}

func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// testLogger sends log lines to the test log while the test runs, and drops later ones.
func testLogger(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

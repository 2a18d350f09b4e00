package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/eventsubws"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
	"github.com/twitch-event-viewer/tev/app/web"
)

// twitchEnv is the app wired as serve.go wires it (config → twitch client → accounts.Service →
// ConfigureGoth → web.New), served on a real listener whose URL is PUBLIC_URL, so that the fake
// Twitch delivers its challenges and notifications to the app's real /webhooks/twitch.
//
// ConfigureGoth sets goth's globals: tests that use a twitchEnv must not call t.Parallel.
type twitchEnv struct {
	*env
	fake     *twitchtest.Fake
	twitch   *twitch.Client // the client the app uses
	acc      *accounts.Service
	accOpt   accounts.Options    // acc's, for another instance over the same database (a restart)
	sessions *eventsubws.Manager // with the websocket transport
	logs     *logBuffer

	mu     sync.Mutex
	issued map[string]bool // every token of the fake's that the test has seen the app hold
}

// newTwitchEnv starts the fake Twitch and the app. When the test ends it checks that no token
// the app was seen holding appears in the app's log.
func newTwitchEnv(t *testing.T, db storetest.DB) *twitchEnv {
	t.Helper()
	return newTwitchEnvWith(t, db, "webhook")
}

// newTwitchEnvWith is newTwitchEnv with EventSub over transport: "webhook", or "websocket" (the
// fake's EventSub WebSocket, one client per signed-in streamer, as serve wires it).
func newTwitchEnvWith(t *testing.T, db storetest.DB, transport string) *twitchEnv {
	t.Helper()
	fake := twitchtest.New(t)
	te := &twitchEnv{fake: fake, logs: &logBuffer{t: t}, issued: map[string]bool{}}
	t.Cleanup(func() { te.noTokensLogged(t) }) // after the app has stopped; the fake is still up

	// The listener exists before the config: PUBLIC_URL must be the server's own address.
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	publicURL := "http://" + ts.Listener.Addr().String()
	fake.AddRedirectURI(publicURL + "/auth/twitch/callback") // from now on the fake checks it exactly
	vars := map[string]string{
		"TWITCH_CLIENT_ID": fake.ClientID, "TWITCH_CLIENT_SECRET": fake.ClientSecret,
		"TWITCH_AUTH_URL": fake.AuthURL, "TWITCH_API_URL": fake.APIURL,
		"PUBLIC_URL": publicURL, "EVENTSUB_SECRET": testSecret, "EVENTSUB_TRANSPORT": transport,
		"TWITCH_EVENTSUB_WS_URL": fake.WebSocketURL(),
		"SESSION_SECRET":         "twitch-e2e-session-secret-0123456789abcdef", "TOKEN_KEY": tokenbox.NewKey(),
		"DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL,
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		ts.Close()
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(te.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := storetest.Open(t, db)
	t.Cleanup(func() { te.noteStoredTokens(t, st) }) // before the store closes

	// As serve.go and its newAccounts do.
	bell := doorbell.New(doorbell.Options{Store: st})
	h := web.NewHub(st, nil, nil, log)
	t.Cleanup(h.Close)
	rec := ingest.New(ingest.Options{Store: st, Writers: 4, Committed: bell.Committed, Logger: log})
	t.Cleanup(rec.Close)
	te.twitch = twitch.New(twitch.Config{ClientID: cfg.TwitchClientID, ClientSecret: cfg.TwitchSecret,
		AuthURL: cfg.TwitchAuthURL.String(), APIURL: cfg.TwitchAPIURL.String()})
	te.accOpt = accounts.Options{Store: st, Twitch: te.twitch, Box: cfg.TokenBox, Ingest: rec, Logger: log,
		Callback: cfg.PublicURL.String() + "/webhooks/twitch", Secret: cfg.EventSubSecret, ClientID: cfg.TwitchClientID}
	te.acc = accounts.New(te.accOpt)
	if cfg.WebSocket() {
		te.sessions = eventsubws.NewManager(eventsubws.Options{URL: cfg.EventSubWSURL.String(),
			Subscriber: te.acc, Ingest: rec, Logger: log})
		te.acc.UseSessions(te.sessions)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); te.sessions.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done }) // before the batcher and the store close
	}
	if err := te.acc.Reseal(context.Background()); err != nil {
		ts.Close()
		t.Fatalf("reseal: %v", err)
	}
	web.ConfigureGoth(cfg)
	srv, err := web.New(web.Options{Config: cfg, Store: st, Hub: h, Bell: bell, Ingest: rec, Accounts: te.acc, Logger: log})
	if err != nil {
		ts.Close()
		t.Fatalf("web.New: %v", err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close) // runs first: open streams end, so ts.Close does not wait for them
	if ts.URL != publicURL {
		t.Fatalf("server URL %s, PUBLIC_URL %s", ts.URL, publicURL)
	}
	te.env = &env{t: t, db: db, cfg: cfg, store: st, hub: h, srv: srv, url: ts.URL, http: noRedirectClient(t, nil)}
	return te
}

// logBuffer keeps everything the app logs, and shows it in the test log too.
type logBuffer struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// note remembers tokens the fake issued, for the log check.
func (te *twitchEnv) note(tokens ...string) {
	te.mu.Lock()
	defer te.mu.Unlock()
	for _, tok := range tokens {
		if tok != "" {
			te.issued[tok] = true
		}
	}
}

func (te *twitchEnv) noteStoredTokens(t *testing.T, st *store.Store) {
	as, err := st.ListAccounts(context.Background())
	if err != nil {
		t.Errorf("list accounts: %v", err)
		return
	}
	for _, a := range as {
		access, _ := te.cfg.TokenBox.Open(a.AccessToken, "access:"+a.BroadcasterID)
		refresh, _ := te.cfg.TokenBox.Open(a.RefreshToken, "refresh:"+a.BroadcasterID)
		te.note(access, refresh)
	}
}

// noTokensLogged fails t when the app's log holds any token seen, the app token included.
func (te *twitchEnv) noTokensLogged(t *testing.T) {
	t.Helper()
	if app, err := te.twitch.AppToken(context.Background()); err == nil {
		te.note(app)
	}
	logs := te.logs.String()
	te.mu.Lock()
	defer te.mu.Unlock()
	for tok := range te.issued {
		if strings.Contains(logs, tok) {
			t.Errorf("the app's log holds a token issued by Twitch (%d characters, starting %.4s…)", len(tok), tok)
		}
	}
}

// addStreamer adds a Twitch user who will sign in.
func (te *twitchEnv) addStreamer(id, login string) twitchtest.User {
	u := twitchtest.User{ID: id, Login: login, DisplayName: strings.ToUpper(login[:1]) + login[1:]}
	te.fake.AddUser(u)
	return u
}

// addFollowers gives broadcaster n followers, one a minute from start, oldest first.
func (te *twitchEnv) addFollowers(broadcaster string, n int, start time.Time) []twitchtest.User {
	us := make([]twitchtest.User, n)
	for i := range us {
		k := followers.Add(1)
		us[i] = twitchtest.User{ID: fmt.Sprint(700000 + k), Login: fmt.Sprintf("fan_%d", k), DisplayName: fmt.Sprintf("Fan_%d", k)}
		te.fake.AddFollower(broadcaster, us[i], start.Add(time.Duration(i)*time.Minute))
	}
	return us
}

// signIn is a sign-in, step by step as the browser takes it.
type signIn struct {
	authorize *url.URL // the fake's /authorize, where the app sent the browser
	callback  *url.URL // the app's callback, where the fake sent the browser back
	dashboard *goquery.Document
}

// startSignIn follows the start page's "Sign in with Twitch" link: it must lead to the fake's
// /authorize for this app, with the scopes the app needs and a state.
func (te *twitchEnv) startSignIn(b *browser) *url.URL {
	b.t.Helper()
	if b.cookie(sessionCookie) == nil { // signed out: the way in is the start page's link
		if href := b.page("/").Find(`[data-testid=twitch-sign-in]`).AttrOr("href", ""); href != "/auth/twitch" {
			b.t.Fatalf("start page sign-in link %q, want /auth/twitch", href)
		}
	}
	r := b.get("/auth/twitch")
	u, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || u.Scheme+"://"+u.Host+u.Path != te.fake.AuthURL+"/authorize" {
		b.t.Fatalf("GET /auth/twitch = %d to %q, want 302 to %s/authorize", r.status, r.header.Get("Location"), te.fake.AuthURL)
	}
	q := u.Query()
	want := map[string]string{"client_id": te.fake.ClientID, "response_type": "code",
		"redirect_uri": te.url + "/auth/twitch/callback", "scope": strings.Join(accounts.Scopes, " ")}
	for k, v := range want {
		if q.Get(k) != v {
			b.t.Errorf("authorize %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("state")) < 32 {
		b.t.Fatalf("authorize state %q: want an unguessable value", q.Get("state"))
	}
	return u
}

// consent is the browser at the fake's /authorize; it returns where the fake sends it back.
func (te *twitchEnv) consent(b *browser, authorize *url.URL) *url.URL {
	b.t.Helper()
	r := b.do(newRequest(b.t, http.MethodGet, authorize.String(), nil))
	u, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || u.Scheme+"://"+u.Host+u.Path != te.url+"/auth/twitch/callback" {
		b.t.Fatalf("fake /authorize = %d to %q, want 302 to the app's callback", r.status, r.header.Get("Location"))
	}
	if got, want := u.Query().Get("state"), authorize.Query().Get("state"); got != want {
		b.t.Fatalf("callback state %q, want %q", got, want)
	}
	return u
}

// signIn signs b in with Twitch as user, the whole way: start page, /auth/twitch, the fake's
// consent, the callback and the dashboard.
func (te *twitchEnv) signIn(b *browser, user twitchtest.User) signIn {
	b.t.Helper()
	te.fake.AuthorizeAs(user.ID)
	var s signIn
	s.authorize = te.startSignIn(b)
	s.callback = te.consent(b, s.authorize)
	if s.callback.Query().Get("code") == "" {
		b.t.Fatalf("callback %s has no code", s.callback.Redacted())
	}
	r := b.do(newRequest(b.t, http.MethodGet, s.callback.String(), nil))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		b.t.Fatalf("callback = %d to %q, want 303 to /dashboard; body %s", r.status, r.header.Get("Location"), r.body)
	}
	s.dashboard = b.page("/dashboard")
	if got := s.dashboard.Find(`[data-testid=signed-in-as]`).Text(); got != user.DisplayName {
		b.t.Fatalf("dashboard signed in as %q, want %q", got, user.DisplayName)
	}
	te.tokens(user.ID)
	return s
}

// open is the browser opening a URL of the app or the fake, redirects not followed.
func (b *browser) open(u *url.URL) reply {
	b.t.Helper()
	return b.do(newRequest(b.t, http.MethodGet, u.String(), nil))
}

// post submits an app form with the CSRF token of the last page seen.
func (b *browser) post(path string) reply {
	b.t.Helper()
	return b.postForm(path, url.Values{"csrf_token": {b.csrf}})
}

// wantSignInProblem requires the friendly sign-in problem page, a 4xx.
func wantSignInProblem(t *testing.T, r reply) {
	t.Helper()
	d := r.doc(t)
	if r.status < 400 || r.status >= 500 || d.Find(`[data-testid=sign-in-problem]`).Length() != 1 {
		t.Fatalf("got %d without the sign-in problem page, want a 4xx explaining it: %s", r.status, r.body)
	}
	if href := d.Find(`[data-testid=sign-in-again]`).AttrOr("href", ""); href != "/auth/twitch" {
		t.Fatalf("sign-in problem page offers %q, want a way to /auth/twitch", href)
	}
}

// wantSignedOut requires b to hold no session: the dashboard sends it to the start page (and a
// dead session's cookie is dropped), which offers the Twitch sign-in.
func wantSignedOut(t *testing.T, b *browser) {
	t.Helper()
	if r := b.get("/dashboard"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("dashboard = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
	}
	if c := b.cookie(sessionCookie); c != nil {
		t.Fatalf("browser holds a session cookie")
	}
	d := b.page("/")
	if d.Find(`[data-testid=twitch-sign-in]`).Length() != 1 || d.Find(`[data-testid=signed-in-as]`).Length() != 0 {
		t.Fatal("the start page is not the signed-out one")
	}
}

// account is the stored account, failing the test when there is none.
func (te *twitchEnv) account(id string) *store.Account {
	te.t.Helper()
	a, err := te.store.AccountByID(context.Background(), id)
	if err != nil {
		te.t.Fatalf("account %s: %v", id, err)
	}
	return a
}

func (te *twitchEnv) noAccount(t *testing.T, id string) {
	t.Helper()
	if a, err := te.store.AccountByID(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account %s: got %+v, %v; want none", id, a, err)
	}
}

// tokens opens the account's sealed tokens with the app's TOKEN_KEY.
func (te *twitchEnv) tokens(id string) (access, refresh string) {
	te.t.Helper()
	a := te.account(id)
	access, err := te.cfg.TokenBox.Open(a.AccessToken, "access:"+id)
	if err != nil {
		te.t.Fatalf("open access token of %s: %v", id, err)
	}
	if refresh, err = te.cfg.TokenBox.Open(a.RefreshToken, "refresh:"+id); err != nil {
		te.t.Fatalf("open refresh token of %s: %v", id, err)
	}
	te.note(access, refresh)
	return access, refresh
}

// followSubs are the fake's channel.follow subscriptions of broadcaster.
func (te *twitchEnv) followSubs(broadcaster string) []twitchtest.Subscription {
	return te.subsAtTwitch(func(s twitchtest.Subscription) bool {
		return s.Type == eventsub.ChannelFollow && s.Condition["broadcaster_user_id"] == broadcaster
	})
}

func (te *twitchEnv) subsAtTwitch(keep func(twitchtest.Subscription) bool) []twitchtest.Subscription {
	var out []twitchtest.Subscription
	for _, s := range te.fake.Subscriptions() {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// onlyFollowSub requires exactly one channel.follow subscription at the fake, verified: enabled.
func (te *twitchEnv) onlyFollowSub(broadcaster string) twitchtest.Subscription {
	te.t.Helper()
	subs := te.followSubs(broadcaster)
	if len(subs) != 1 {
		te.t.Fatalf("fake has %d channel.follow subscriptions for %s, want 1: %+v", len(subs), broadcaster, subs)
	}
	return te.verified(subs[0].ID)
}

// verified waits for the fake to finish verifying a subscription and requires it enabled.
func (te *twitchEnv) verified(id string) twitchtest.Subscription {
	te.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := te.fake.AwaitVerification(ctx, id)
	if err != nil || s.Status != twitchtest.StatusEnabled {
		te.t.Fatalf("subscription %s after verification: %q, %v; want enabled", id, s.Status, err)
	}
	return s
}

// requests counts the fake's answered requests that match.
func (te *twitchEnv) requests(method, path string, match func(twitchtest.Request) bool) []twitchtest.Request {
	var out []twitchtest.Request
	for _, r := range te.fake.Requests() {
		if r.Method == method && r.Path == path && (match == nil || match(r)) {
			out = append(out, r)
		}
	}
	return out
}

func grantType(g string) func(twitchtest.Request) bool {
	return func(r twitchtest.Request) bool { return r.GrantType == g }
}

// panel is the dashboard's status panel: subscription type → status.
func panel(d *goquery.Document) map[string]string {
	out := map[string]string{}
	d.Find(`[data-testid=subscription]`).Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-type", "")] = s.AttrOr("data-status", "")
	})
	return out
}

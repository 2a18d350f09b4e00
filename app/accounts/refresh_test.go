package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

// Twitch rotates refresh tokens: each one works once. A second refresh in the same call must use
// the refresh token the first one stored, not the spent one.
func TestSecondRefreshUsesTheRotatedRefreshToken(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		exp := *e.account(u.ID).TokenExpiresAt

		// The token is about to expire, so it is refreshed before use; and Twitch refuses the
		// access tokens it issues from now on, so the call gets a 401 and refreshes again.
		e.fake.SetAccessTokenLifetime(0)
		e.clock.Set(exp.Add(-time.Minute))
		mark := e.mark()
		_, err := e.svc.SyncHistory(e.ctx, u.ID)
		if errors.Is(err, accounts.ErrNeedsReconnect) {
			t.Fatalf("SyncHistory: %v; requests: %v (the second refresh sent the spent refresh token)", err, e.trail(mark))
		}
		wantErrIs(t, err, twitch.ErrUnauthorized)
		want := []string{"POST /oauth2/token 200 refresh_token", "GET " + followersPath + " 401",
			"POST /oauth2/token 200 refresh_token", "GET " + followersPath + " 401"}
		if got := e.trail(mark); !slices.Equal(got, want) {
			t.Fatalf("requests %v, want %v", got, want)
		}
		a := e.account(u.ID)
		if a.Status != store.AccountOK {
			t.Fatalf("status %q (%q): the streamer's authorization is intact", a.Status, a.StatusReason)
		}
		if _, refresh := tokens(t, e.box, a); !e.refreshWorks(refresh) {
			t.Fatal("the stored refresh token is not the live one")
		}
	})
}

func (e *env) refreshWorks(refresh string) bool {
	e.t.Helper()
	_, err := e.tw.Refresh(e.ctx, refresh)
	if err != nil && !errors.Is(err, twitch.ErrTokenRevoked) {
		e.t.Fatal(err)
	}
	return err == nil
}

// Two calls with the same dead access token (here the hourly validation and a follower page) must
// not both spend the same refresh token: the second would be refused and the account wrongly
// marked as needing reconnection.
func TestConcurrentCallsRefreshOnce(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		addFollowers(e, u.ID, "f", 3, time.Now().Add(-time.Hour))
		g := newGate()
		o := e.options()
		o.Twitch = e.client(g)
		svc := accounts.New(o)
		e.fake.ExpireAccessTokens(u.ID)
		mark := e.mark()

		errs := make(chan error, 2)
		go func() { _, err := svc.SyncHistory(e.ctx, u.ID); errs <- err }()
		e.wait(g.held) // the first refresh is on its way to Twitch
		go func() { errs <- svc.ValidateAll(e.ctx) }()
		e.wait(g.other) // the second call has read the account and met the dead token
		close(g.release)
		for range 2 {
			select {
			case err := <-errs:
				if err != nil {
					t.Errorf("call: %v", err)
				}
			case <-e.ctx.Done():
				t.Fatal(e.ctx.Err())
			}
		}
		var refreshes int
		for _, r := range e.since(mark, http.MethodPost, "/oauth2/token") {
			if r.GrantType == "refresh_token" {
				refreshes++
			}
		}
		if a := e.account(u.ID); a.Status != store.AccountOK || refreshes != 1 {
			t.Fatalf("status %q (%q) after %d refreshes, want ok after 1; requests: %v",
				a.Status, a.StatusReason, refreshes, e.trail(mark))
		}
	})
}

// Instances of the app share the database, not their in-process locks. Two of them meeting the
// same dead access token must still spend its refresh token once: Twitch refuses a spent one, and
// the account would be marked as needing reconnection.
func TestInstancesRefreshOnce(t *testing.T) {
	db := storetest.Postgres(t)
	e := newEnv(t, storetest.Open(t, db))
	// Advisory locks belong to the database, shared with other tests: an id of this test alone.
	u := e.addUser(uniqueUserID(), "streamer_one")
	e.signIn(u)
	addFollowers(e, u.ID, "f", 3, time.Now().Add(-time.Hour))
	first, second := newGate(), newGate()
	close(second.release) // the second instance's requests are never held
	one, two := e.instance(e.store, first), e.instance(storetest.Open(t, db), second)
	e.fake.ExpireAccessTokens(u.ID)
	mark := e.mark()

	errs := make(chan error, 2)
	go func() { _, err := one.SyncHistory(e.ctx, u.ID); errs <- err }()
	e.wait(first.held) // the first instance's refresh is on its way to Twitch
	go func() { errs <- two.ValidateAll(e.ctx) }()
	waitCtx, stop := context.WithCancel(e.ctx)
	defer stop()
	waiting := make(chan error, 1)
	go func() { waiting <- storetest.AwaitAccountLocks(waitCtx, db, u.ID, 1, 1) }()
	pending := 2
	select {
	case err := <-waiting: // the second instance met the dead token and waits for the account
		if err != nil {
			t.Fatal(err)
		}
	case err := <-errs:
		pending--
		t.Errorf("the second instance finished (%v) while the first's refresh was still on its way", err)
	}
	close(first.release)
	for range pending {
		if err := recv(e, errs); err != nil {
			t.Errorf("call: %v", err)
		}
	}

	var refreshes int
	for _, r := range e.since(mark, http.MethodPost, "/oauth2/token") {
		if r.GrantType == "refresh_token" {
			refreshes++
		}
	}
	a := e.account(u.ID)
	if a.Status != store.AccountOK || refreshes != 1 {
		t.Fatalf("status %q (%q) after %d refreshes, want ok after 1; requests: %v",
			a.Status, a.StatusReason, refreshes, e.trail(mark))
	}
	access, _ := tokens(t, e.box, a)
	if first.token() != access || second.token() != access {
		t.Fatalf("the instances last used access tokens %q and %q, want both the stored %q",
			first.token(), second.token(), access)
	}
}

// instance is another instance of the app over st: a Service with its own in-process locks,
// calling Twitch through rt.
func (e *env) instance(st *store.Store, rt http.RoundTripper) *accounts.Service {
	o := e.options()
	o.Store = st
	o.Ingest = newIngest(e.t, st, doorbell.New(doorbell.Options{Store: st}))
	o.Twitch = e.client(rt)
	return accounts.New(o)
}

// client is a Twitch client of the fake that sends its requests through rt.
func (e *env) client(rt http.RoundTripper) *twitch.Client {
	return twitch.New(twitch.Config{ClientID: e.fake.ClientID, ClientSecret: e.fake.ClientSecret,
		AuthURL: e.fake.AuthURL, APIURL: e.fake.APIURL, HTTP: &http.Client{Transport: rt}})
}

// uniqueUserID is a Twitch user id no other test uses.
func uniqueUserID() string {
	return fmt.Sprintf("9%09d", rand.IntN(1_000_000_000))
}

func recv(e *env, c <-chan error) error {
	e.t.Helper()
	select {
	case err := <-c:
		return err
	case <-e.ctx.Done():
		e.t.Fatal(e.ctx.Err())
		return nil
	}
}

func (e *env) wait(c <-chan struct{}) {
	e.t.Helper()
	select {
	case <-c:
	case <-e.ctx.Done():
		e.t.Fatal(e.ctx.Err())
	}
}

// gate holds the first refresh-token request until release is closed, reports every other
// request made while it is held, and remembers the access token last sent.
type gate struct {
	next    http.RoundTripper
	held    chan struct{}
	release chan struct{}
	other   chan struct{}

	mu        sync.Mutex
	refreshed bool
	last      string
}

func newGate() *gate {
	return &gate{next: http.DefaultTransport, held: make(chan struct{}), release: make(chan struct{}),
		other: make(chan struct{}, 16)}
}

// token is the access token of the last request that carried one ("Bearer" or "OAuth").
func (g *gate) token() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, token, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok {
		g.mu.Lock()
		g.last = token
		g.mu.Unlock()
	}
	if g.firstRefresh(req) {
		close(g.held)
		select {
		case <-g.release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		return g.next.RoundTrip(req)
	}
	select {
	case <-g.held:
		select {
		case g.other <- struct{}{}:
		default:
		}
	default:
	}
	return g.next.RoundTrip(req)
}

func (g *gate) firstRefresh(req *http.Request) bool {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/oauth2/token") || req.Body == nil {
		return false
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	if form.Get("grant_type") != "refresh_token" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	first := !g.refreshed
	g.refreshed = true
	return first
}

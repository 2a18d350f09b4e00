package accounts_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

const followersPath = "/helix/channels/followers"

// addFollowers gives the broadcaster n followers, one a minute, the newest before newest.
func addFollowers(e *env, broadcasterID, prefix string, n int, newest time.Time) {
	for i := range n {
		u := twitchtest.User{ID: fmt.Sprintf("%s%04d", prefix, i), Login: fmt.Sprintf("%s_%04d", prefix, i)}
		e.fake.AddFollower(broadcasterID, u, newest.Add(-time.Duration(i)*time.Minute))
	}
}

func TestExpiredAccessTokenIsRefreshed(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		tok := e.signIn(u)
		addFollowers(e, u.ID, "f", 3, time.Now().Add(-time.Hour))
		before := e.account(u.ID)

		e.fake.ExpireAccessTokens(u.ID)
		mark := e.mark()
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 3 {
			t.Fatalf("SyncHistory with an expired access token = %d, %v; want 3 follows stored", n, err)
		}
		want := []string{"GET " + followersPath + " 401", "POST /oauth2/token 200 refresh_token", "GET " + followersPath + " 200"}
		if got := e.trail(mark); !slices.Equal(got, want) {
			t.Fatalf("requests %v, want %v", got, want)
		}

		after := e.account(u.ID)
		access, refresh := tokens(t, e.box, after)
		if access == tok.AccessToken || refresh == tok.RefreshToken {
			t.Fatal("the refreshed tokens were not stored")
		}
		if after.Status != store.AccountOK || after.Scopes != strings.Join(accounts.Scopes, " ") {
			t.Fatalf("after the refresh: status %q, scopes %q", after.Status, after.Scopes)
		}
		if after.TokenExpiresAt == nil || !after.TokenExpiresAt.After(*before.TokenExpiresAt) {
			t.Fatalf("token_expires_at %v, want later than %v", after.TokenExpiresAt, before.TokenExpiresAt)
		}
		// Twitch rotated the refresh token: the old one is spent, so only the stored one can work.
		if _, err := e.tw.Refresh(e.ctx, tok.RefreshToken); !errors.Is(err, twitch.ErrTokenRevoked) {
			t.Fatalf("the old refresh token: %v, want ErrTokenRevoked", err)
		}
		e.fake.ExpireAccessTokens(u.ID)
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil {
			t.Fatalf("SyncHistory refreshing with the stored refresh token: %v", err)
		}
		if a := e.account(u.ID); a.Status != store.AccountOK {
			t.Fatalf("status %q after the second refresh", a.Status)
		}
	})
}

func TestTokenAboutToExpireIsRefreshedBeforeUse(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		exp := *e.account(u.ID).TokenExpiresAt

		// Hours left: used as it is.
		mark := e.mark()
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if got := e.trail(mark); !slices.Equal(got, []string{"GET " + followersPath + " 200"}) {
			t.Fatalf("with hours left: requests %v, want the followers call alone", got)
		}

		// Four minutes left: refreshed first, so Twitch never sees it expire mid-request.
		e.clock.Set(exp.Add(-4 * time.Minute))
		mark = e.mark()
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		want := []string{"POST /oauth2/token 200 refresh_token", "GET " + followersPath + " 200"}
		if got := e.trail(mark); !slices.Equal(got, want) {
			t.Fatalf("with four minutes left: requests %v, want %v", got, want)
		}
		if a := e.account(u.ID); a.TokenExpiresAt == nil || !a.TokenExpiresAt.After(exp) {
			t.Fatalf("token_expires_at %v, want after %v", a.TokenExpiresAt, exp)
		}
	})
}

func TestRefusedRefreshNeedsReconnect(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		e.fake.RevokeAuthorization(u.ID) // silently: no message to the app

		_, err := e.svc.SyncHistory(e.ctx, u.ID)
		wantErrIs(t, err, accounts.ErrNeedsReconnect)
		a := e.account(u.ID)
		if a.Status != store.AccountNeedsReconnect || a.StatusReason == "" {
			t.Fatalf("status %q, reason %q; want needs_reconnect with a reason", a.Status, a.StatusReason)
		}

		// From now on the dead tokens are not even tried.
		mark := e.mark()
		_, _, err = e.svc.LoadMoreHistory(e.ctx, u.ID)
		wantErrIs(t, err, accounts.ErrNeedsReconnect)
		if got := e.trail(mark); len(got) != 0 {
			t.Fatalf("requests with an account that needs reconnecting: %v", got)
		}
	})
}

func TestValidateAll(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		healthy, revoked := e.addUser("1001", "healthy"), e.addUser("1002", "revoked")
		e.signIn(healthy)
		e.signIn(revoked)
		signedIn := e.clock.Now()
		e.fake.RevokeAuthorization(revoked.ID)

		e.clock.Set(signedIn.Add(time.Hour))
		mark := e.mark()
		if err := e.svc.ValidateAll(e.ctx); err != nil {
			t.Fatalf("ValidateAll: %v", err)
		}
		if got := e.since(mark, http.MethodGet, "/oauth2/validate"); len(got) < 2 {
			t.Fatalf("want both tokens validated with Twitch; requests: %v", e.trail(mark))
		}
		h := e.account(healthy.ID)
		if h.Status != store.AccountOK || h.ValidatedAt == nil || !h.ValidatedAt.Equal(e.clock.Now()) {
			t.Fatalf("healthy account: status %q, validated_at %v; want ok, %v", h.Status, h.ValidatedAt, e.clock.Now())
		}
		r := e.account(revoked.ID)
		if r.Status != store.AccountNeedsReconnect || r.StatusReason == "" {
			t.Fatalf("revoked account: status %q, reason %q; want needs_reconnect with a reason", r.Status, r.StatusReason)
		}
		if r.ValidatedAt == nil || !r.ValidatedAt.Equal(signedIn) {
			t.Fatalf("revoked account: validated_at %v, want still %v", r.ValidatedAt, signedIn)
		}

		// An account that needs reconnecting is left alone until its streamer signs in again.
		mark = e.mark()
		if err := e.svc.ValidateAll(e.ctx); err != nil {
			t.Fatalf("ValidateAll again: %v", err)
		}
		if got := e.since(mark, http.MethodGet, "/oauth2/validate"); len(got) != 1 {
			t.Fatalf("second ValidateAll: %d validations, want 1 (the healthy account): %v", len(got), e.trail(mark))
		}
	})
}

func TestResealUnderNewKey(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st) // seals with e.key, about to become the old key
		u := e.addUser("1001", "streamer_one")
		tok := e.signIn(u)
		sealed := e.account(u.ID)

		newKey := tokenbox.NewKey()
		newOnly := parseBox(t, newKey)
		if _, err := newOnly.Open(sealed.AccessToken, "access:"+u.ID); !errors.Is(err, tokenbox.ErrUnknownKey) {
			t.Fatalf("opening with the new key before resealing: %v, want ErrUnknownKey", err)
		}
		// Dropping the old key too early is refused with a hint, and changes nothing.
		if err := e.service(newOnly).Reseal(e.ctx); err == nil {
			t.Fatal("Reseal without the old key succeeded")
		}
		if a := e.account(u.ID); a.AccessToken != sealed.AccessToken || a.RefreshToken != sealed.RefreshToken {
			t.Fatal("a failed Reseal changed the tokens")
		}

		rotating := parseBox(t, newKey+","+e.key) // TOKEN_KEY="new,old"
		if err := e.service(rotating).Reseal(e.ctx); err != nil {
			t.Fatalf("Reseal: %v", err)
		}
		resealed := e.account(u.ID)
		if rotating.Stale(resealed.AccessToken) || rotating.Stale(resealed.RefreshToken) {
			t.Fatal("tokens are still sealed under the old key")
		}
		access, refresh := tokens(t, newOnly, resealed)
		if access != tok.AccessToken || refresh != tok.RefreshToken {
			t.Fatal("resealed tokens do not open to the same tokens with the new key alone")
		}
		if err := e.service(rotating).Reseal(e.ctx); err != nil {
			t.Fatalf("Reseal again: %v", err)
		}
		if again := e.account(u.ID); again.AccessToken != resealed.AccessToken || again.RefreshToken != resealed.RefreshToken {
			t.Fatal("Reseal sealed current tokens again")
		}

		// The old key is gone from TOKEN_KEY: the account still works.
		if _, err := e.service(newOnly).SyncHistory(e.ctx, u.ID); err != nil {
			t.Fatalf("SyncHistory with the new key alone: %v", err)
		}
	})
}

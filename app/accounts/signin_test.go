package accounts_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

func TestSignInStoresSealedTokensAndScopes(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		tok := e.authorize(u, followScope)
		mark := e.mark()
		a, err := e.svc.SignIn(e.ctx, grant(u, tok))
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		if len(e.since(mark, http.MethodGet, "/oauth2/validate")) != 1 {
			t.Fatalf("SignIn without scopes did not validate the token once: %v", e.trail(mark))
		}
		if a.BroadcasterID != u.ID || a.Login != u.Login || a.DisplayName != u.DisplayName {
			t.Fatalf("SignIn returned %+v", a)
		}

		row := e.account(u.ID)
		// Every column of the row, as the store reads it: no token in the clear anywhere.
		whole := fmt.Sprintf("%+v", *row)
		for name, raw := range map[string]string{"access": tok.AccessToken, "refresh": tok.RefreshToken} {
			if raw == "" || strings.Contains(whole, raw) {
				t.Fatalf("the raw %s token is in the account row: %s", name, whole)
			}
		}
		if !strings.HasPrefix(row.AccessToken, "v1:") || !strings.HasPrefix(row.RefreshToken, "v1:") {
			t.Fatalf("tokens are not sealed: %q, %q", row.AccessToken, row.RefreshToken)
		}
		access, refresh := tokens(t, e.box, row)
		if access != tok.AccessToken || refresh != tok.RefreshToken {
			t.Fatal("the sealed tokens do not open to the tokens Twitch issued")
		}
		if row.Scopes != followScope {
			t.Fatalf("scopes = %q, want %q", row.Scopes, followScope)
		}
		if row.Status != store.AccountOK || row.StatusReason != "" {
			t.Fatalf("status = %q (%q), want ok", row.Status, row.StatusReason)
		}
		if row.ValidatedAt == nil || !row.ValidatedAt.Equal(e.clock.Now()) {
			t.Fatalf("validated_at = %v, want %v", row.ValidatedAt, e.clock.Now())
		}
		// PostgreSQL keeps microseconds.
		if row.TokenExpiresAt == nil || row.TokenExpiresAt.Sub(tok.Expiry).Abs() >= time.Microsecond {
			t.Fatalf("token_expires_at = %v, want %v", row.TokenExpiresAt, tok.Expiry)
		}
	})
}

func TestSignInRefusals(t *testing.T) {
	cases := []struct {
		name  string
		token func(e *env, u, other twitchtest.User) twitch.Token
		want  error // nil: any error
	}{
		{"token without moderator:read:followers", func(e *env, u, _ twitchtest.User) twitch.Token {
			return e.authorize(u, "user:read:email")
		}, accounts.ErrMissingScopes},
		{"token without any scope", func(e *env, u, _ twitchtest.User) twitch.Token {
			return e.authorize(u, "")
		}, accounts.ErrMissingScopes},
		{"token of another user", func(e *env, _, other twitchtest.User) twitch.Token {
			return e.authorize(other, followScope)
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.EachStore(t, func(t *testing.T, st *store.Store) {
				e := newEnv(t, st)
				u, other := e.addUser("1001", "streamer_one"), e.addUser("1002", "someone_else")
				_, err := e.svc.SignIn(e.ctx, grant(u, tc.token(e, u, other)))
				switch {
				case err == nil:
					t.Fatal("SignIn succeeded")
				case tc.want != nil:
					wantErrIs(t, err, tc.want)
				case errors.Is(err, accounts.ErrMissingScopes):
					t.Fatalf("err = %v: the wrong user was reported as missing scopes", err)
				}
				for _, id := range []string{u.ID, other.ID} {
					if _, err := st.AccountByID(e.ctx, id); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("AccountByID(%s) after a refused sign-in: %v, want ErrNotFound", id, err)
					}
				}
			})
		})
	}
}

func TestSignInAgainHealsAccount(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		e.fake.RevokeAuthorization(u.ID)
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); !errors.Is(err, accounts.ErrNeedsReconnect) {
			t.Fatalf("SyncHistory after the grant was revoked: %v, want ErrNeedsReconnect", err)
		}
		tok := e.signIn(u)
		a := e.account(u.ID)
		if a.Status != store.AccountOK || a.StatusReason != "" {
			t.Fatalf("after signing in again: status %q (%q), want ok", a.Status, a.StatusReason)
		}
		if access, _ := tokens(t, e.box, a); access != tok.AccessToken {
			t.Fatal("signing in again did not store the new tokens")
		}
		if _, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil {
			t.Fatalf("SyncHistory after signing in again: %v", err)
		}
	})
}

package accounts_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// streamer is one signed-in, subscribed streamer with followers, events and a session.
type streamer struct {
	user    twitchtest.User
	token   twitch.Token
	sub     twitchtest.Subscription
	session string // token hash
	events  int
}

func (e *env) streamer(id, login string) streamer {
	e.t.Helper()
	s := streamer{user: e.addUser(id, login)}
	s.token = e.signIn(s.user)
	s.sub = e.subscribe(id)
	addFollowers(e, id, "fan"+id+"_", 5, time.Now().Add(-time.Hour))
	if _, err := e.svc.SyncHistory(e.ctx, id); err != nil {
		e.t.Fatal(err)
	}
	s.session = "session-of-" + id
	now := time.Now().UTC()
	err := e.store.CreateSession(e.ctx, &store.Session{TokenHash: s.session, BroadcasterID: id, Login: login,
		DisplayName: s.user.DisplayName, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	s.events = e.count(id)
	if s.events != 5 {
		e.t.Fatalf("%s has %d events, want 5", login, s.events)
	}
	return s
}

func (e *env) count(broadcasterID string) int {
	e.t.Helper()
	n, err := e.store.CountEvents(e.ctx, broadcasterID)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// gone fails unless nothing of the streamer is left, here or at Twitch.
func (e *env) gone(s streamer) {
	e.t.Helper()
	id := s.user.ID
	if _, err := e.store.AccountByID(e.ctx, id); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("account of %s: %v, want ErrNotFound", id, err)
	}
	if n := e.count(id); n != 0 {
		e.t.Fatalf("%d events of %s left", n, id)
	}
	if rows := e.local(id); len(rows) != 0 {
		e.t.Fatalf("subscription rows of %s left: %+v", id, rows)
	}
	if _, err := e.store.SessionByTokenHash(e.ctx, s.session, time.Now()); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("session of %s: %v, want ErrNotFound", id, err)
	}
	if subs := e.remote(func(sub twitchtest.Subscription) bool { return sub.Condition["broadcaster_user_id"] == id }); len(subs) != 0 {
		e.t.Fatalf("subscriptions of %s left at Twitch: %+v", id, subs)
	}
}

// intact fails unless the streamer is as they were, and still works.
func (e *env) intact(s streamer) {
	e.t.Helper()
	id := s.user.ID
	if a := e.account(id); a.Status != store.AccountOK {
		e.t.Fatalf("account of %s: status %q", id, a.Status)
	}
	if n := e.count(id); n != s.events {
		e.t.Fatalf("%s has %d events, want %d", id, n, s.events)
	}
	if rows := e.local(id); len(rows) != 1 || rows[0].ID != s.sub.ID || rows[0].Status != "enabled" {
		e.t.Fatalf("subscription rows of %s: %+v", id, rows)
	}
	if _, err := e.store.SessionByTokenHash(e.ctx, s.session, time.Now()); err != nil {
		e.t.Fatalf("session of %s: %v", id, err)
	}
	if subs := e.remote(followOf(id)); len(subs) != 1 || subs[0].ID != s.sub.ID || subs[0].Status != twitchtest.StatusEnabled {
		e.t.Fatalf("subscriptions of %s at Twitch: %+v", id, subs)
	}
	if _, err := e.svc.SyncHistory(e.ctx, id); err != nil {
		e.t.Fatalf("SyncHistory of %s: %v", id, err)
	}
}

func TestDelete(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		leaving, staying := e.streamer("1001", "leaving"), e.streamer("1002", "staying")

		mark := e.mark()
		if err := e.svc.Delete(e.ctx, leaving.user.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		deletes := e.since(mark, http.MethodDelete, subscriptionsPath)
		if len(deletes) != 1 || deletes[0].Query.Get("id") != leaving.sub.ID || deletes[0].Status != http.StatusNoContent {
			t.Fatalf("want %s deleted at Twitch; requests: %v", leaving.sub.ID, e.trail(mark))
		}
		revokes := e.since(mark, http.MethodPost, "/oauth2/revoke")
		if len(revokes) != 2 || revokes[0].Status != http.StatusOK || revokes[1].Status != http.StatusOK {
			t.Fatalf("want the access and the refresh token revoked; requests: %v", e.trail(mark))
		}
		// Twitch no longer honours either token.
		if _, err := e.tw.Validate(e.ctx, leaving.token.AccessToken); !errors.Is(err, twitch.ErrUnauthorized) {
			t.Fatalf("the access token after Delete: %v, want ErrUnauthorized", err)
		}
		if _, err := e.tw.Refresh(e.ctx, leaving.token.RefreshToken); !errors.Is(err, twitch.ErrTokenRevoked) {
			t.Fatalf("the refresh token after Delete: %v, want ErrTokenRevoked", err)
		}
		e.gone(leaving)
		e.intact(staying)
	})
}

func TestRevokedByTwitch(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		leaving, staying := e.streamer("1001", "leaving"), e.streamer("1002", "staying")
		if err := e.svc.Reconcile(e.ctx); err != nil { // creates the app's user.authorization.revoke
			t.Fatalf("Reconcile: %v", err)
		}
		apps := e.remote(appLevel)
		if len(apps) != 1 {
			t.Fatalf("%d app subscriptions, want 1", len(apps))
		}
		app := e.await(apps[0].ID)

		// The streamer disconnects the app at Twitch; Twitch tells our callback, whose handler
		// calls Revoked.
		mark := e.mark()
		status, err := e.fake.SendAuthorizationRevoke(e.ctx, leaving.user.ID)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("SendAuthorizationRevoke: %d, %v", status, err)
		}
		if revokes := e.since(mark, http.MethodPost, "/oauth2/revoke"); len(revokes) != 0 {
			t.Fatalf("dead tokens were revoked: %v", e.trail(mark))
		}
		deletes := e.since(mark, http.MethodDelete, subscriptionsPath)
		if len(deletes) != 1 || deletes[0].Query.Get("id") != leaving.sub.ID {
			t.Fatalf("want %s deleted at Twitch; requests: %v", leaving.sub.ID, e.trail(mark))
		}
		e.gone(leaving)
		e.intact(staying)
		if apps := e.remote(appLevel); len(apps) != 1 || apps[0].ID != app.ID {
			t.Fatalf("the app subscription changed: %+v", apps)
		}
	})
}

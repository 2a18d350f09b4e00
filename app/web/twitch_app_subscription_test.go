package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// On a fresh deployment the first sign-in subscribes to user.authorization.revoke at once, so a
// streamer who disconnects the app right after signing in is signed out; the next start-up does
// not create it again.
func TestTwitchFirstSignInSubscribesToDisconnects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		ctx := context.Background()
		me := te.addStreamer("42100001", "brand_new_streamer")
		b := te.browser()
		te.signIn(b, me) // no reconcile has run, nor the start-up round
		app := te.appSub()
		if app.Condition["client_id"] != te.fake.ClientID || app.Callback != te.url+"/webhooks/twitch" {
			t.Fatalf("user.authorization.revoke subscription at the fake: %+v", app)
		}

		// A restart: another instance over the same database runs its start-up round.
		creates := len(te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil))
		accounts.New(te.accOpt).StartUp(ctx)
		for _, r := range te.requests(http.MethodPost, "/helix/eventsub/subscriptions", nil)[creates:] {
			if r.Status == http.StatusAccepted {
				t.Fatalf("the restart created a subscription: %+v", r)
			}
		}
		if again := te.appSub(); again.ID != app.ID {
			t.Fatalf("user.authorization.revoke subscription %s replaced by %s", app.ID, again.ID)
		}

		// The streamer disconnects the app: Twitch tells it, and the account and session go.
		if status, err := te.fake.SendAuthorizationRevoke(ctx, me.ID); err != nil || status != http.StatusNoContent {
			t.Fatalf("user.authorization.revoke: %d, %v; want 204", status, err)
		}
		te.gone(t, me.ID, b.cookie(sessionCookie).Value)
		wantSignedOut(t, b)
	})
}

package accounts_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

// Twitch lists a raid's condition with from_broadcaster_user_id "" and a redemption's with
// reward_id "": those subscriptions are ours all the same. Signing in again, reconciling and
// resubscribing with every type live asks Twitch for nothing new.
func TestSubscriptionsWithEmptyConditionKeysMatch(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		all := make([]string, 0, len(eventsub.Kinds))
		for _, k := range eventsub.Kinds {
			all = append(all, k.Type)
		}
		if err := e.choose(u.ID, all...); err != nil {
			t.Fatalf("enable every type: %v", err)
		}
		if err := e.svc.Reconcile(e.ctx); err != nil { // and the app's own subscription
			t.Fatalf("Reconcile: %v", err)
		}
		before := map[string]string{}
		for _, s := range e.fake.Subscriptions() {
			e.await(s.ID)
			before[s.Type] = s.ID
		}

		var logs lockedBuffer
		o := e.options()
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		svc := accounts.New(o)
		mark := e.mark()
		for range 2 {
			e.signIn(u)
			steps := map[string]func() error{
				"Setup":       func() error { return svc.Setup(e.ctx, u.ID) },
				"Reconcile":   func() error { return svc.Reconcile(e.ctx) },
				"Resubscribe": func() error { return svc.Resubscribe(e.ctx, u.ID) },
			}
			for _, name := range []string{"Setup", "Reconcile", "Resubscribe"} {
				if err := steps[name](); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
		if got := e.since(mark, http.MethodPost, subscriptionsPath); len(got) != 0 {
			t.Fatalf("subscriptions asked for again: %v", e.trail(mark))
		}
		if strings.Contains(logs.String(), "does not list") || strings.Contains(logs.String(), "level=WARN") {
			t.Fatalf("warnings logged:\n%s", logs.String())
		}
		after := e.fake.Subscriptions()
		if len(after) != len(before) {
			t.Fatalf("Twitch has %d subscriptions, had %d", len(after), len(before))
		}
		for _, s := range after {
			if before[s.Type] != s.ID {
				t.Errorf("%s subscription %s replaced by %s", s.Type, before[s.Type], s.ID)
			}
		}
		for _, r := range e.local(u.ID) {
			if r.Status != "enabled" || strings.Contains(r.Condition, `""`) {
				t.Errorf("local row %+v, want enabled with the condition's set keys only", r)
			}
		}
	})
}

// Twitch refusing to create a subscription (403) although the account holds its scope means
// the streamer's grant is gone: the account needs reconnecting.
func TestCreateRefusedForAuthorizationNeedsReconnect(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		old := e.subscribe(u.ID)
		if _, err := e.fake.Revoke(e.ctx, old.ID, "authorization_revoked"); err != nil {
			t.Fatal(err)
		}
		err := e.svc.Resubscribe(e.ctx, u.ID)
		wantErrIs(t, err, twitch.ErrForbidden)
		wantErrIs(t, err, accounts.ErrNeedsReconnect)
		if a := e.account(u.ID); a.Status != store.AccountNeedsReconnect || !strings.Contains(a.StatusReason, "revoked") {
			t.Fatalf("account %q (%q), want needs_reconnect saying the access was revoked", a.Status, a.StatusReason)
		}
		if rows := e.local(u.ID); len(rows) != 1 || rows[0].Status != "error" || !strings.Contains(rows[0].LastError, "403") {
			t.Fatalf("local rows %+v, want the refusal recorded", rows)
		}

		e.signIn(u) // Reconnect
		if a := e.account(u.ID); a.Status != store.AccountOK {
			t.Fatalf("account %q after signing in again", a.Status)
		}
		sub := e.subscribe(u.ID)
		if rows := e.local(u.ID); len(rows) != 1 || rows[0].ID != sub.ID || rows[0].Status != "enabled" {
			t.Fatalf("local rows %+v, want only %s, enabled", rows, sub.ID)
		}
	})
}

// lockedBuffer is a log destination safe for the concurrent writes of the router and service.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

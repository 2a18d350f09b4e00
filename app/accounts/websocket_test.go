package accounts_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/eventsubws"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// useWebSocket switches e's service to EventSub over the fake's WebSocket, as serve does when
// PUBLIC_URL cannot take webhooks. The clients log to logs as well, when it is not nil.
func (e *env) useWebSocket(sub eventsubws.Subscriber, logs *syncBuffer) *eventsubws.Manager {
	e.t.Helper()
	log := e.log
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, nil))
	}
	if sub == nil {
		sub = e.svc
	}
	m := eventsubws.NewManager(eventsubws.Options{URL: e.fake.WebSocketURL(), Subscriber: sub, Ingest: e.ingest, Logger: log})
	e.svc.UseSessions(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done }) // before the batcher closes
	return m
}

// wsFollowSub waits for the broadcaster's enabled channel.follow subscription on a session
// other than notOn.
func (e *env) wsFollowSub(broadcasterID, notOn string) twitchtest.Subscription {
	e.t.Helper()
	var found twitchtest.Subscription
	eventually(e.t, "an enabled channel.follow subscription on a websocket session", func() bool {
		for _, s := range e.remote(followOf(broadcasterID)) {
			if s.Status == twitchtest.StatusEnabled && s.SessionID != "" && s.SessionID != notOn {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A connection that goes silent (no keepalive within the timeout) is given up: the client
// connects again, the subscriptions are made on the new session, and events arrive.
func TestWebSocketSilenceReconnects(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.fake.SetWebSocketKeepalive(time.Second)
		e.useWebSocket(nil, nil)
		u := e.addUser("45000001", "silent_streamer")
		e.signIn(u)
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		first := e.wsFollowSub(u.ID, "")
		if n := len(e.remote(func(s twitchtest.Subscription) bool { return s.SessionID == "" })); n != 0 {
			t.Fatalf("%d webhook subscriptions created, want none", n)
		}
		e.fake.SilenceWebSocket(first.SessionID)
		second := e.wsFollowSub(u.ID, first.SessionID)
		if _, err := e.fake.SendFollow(e.ctx, u.ID, twitchtest.User{ID: "793001", Login: "after_silence"}); err != nil {
			t.Fatalf("SendFollow: %v", err)
		}
		eventually(t, "the follow stored", func() bool {
			evs, err := st.ListEvents(e.ctx, u.ID, 0, 10)
			return err == nil && len(evs) == 1 && evs[0].UserLogin == "after_silence" && evs[0].Source == store.SourceWebSocket &&
				evs[0].SubscriptionID == second.ID
		})
	})
}

// noSubscriptions subscribes nothing: Twitch closes such a session with 4003.
type noSubscriptions struct{}

func (noSubscriptions) SubscribeSession(context.Context, string, string) error { return nil }
func (noSubscriptions) RecordRevocation(context.Context, eventsub.Subscription) (bool, error) {
	return false, nil
}

// A session left without subscriptions is closed by Twitch with 4003; the client says so, with
// the meaning, and connects again.
func TestWebSocketUnusedClosed(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.fake.SetWebSocketUnusedTimeout(50 * time.Millisecond)
		logs := &syncBuffer{}
		m := e.useWebSocket(noSubscriptions{}, logs)
		m.Start("45000002")
		// Twice: the client came back after the first close (and was closed again).
		eventually(t, "two 4003 closes logged with their meaning", func() bool {
			return strings.Count(logs.String(), "code=4003 meaning=\"connection unused") >= 2
		})
	})
}

// A revocation over the WebSocket is recorded on the subscription's row, as a webhook's is;
// deleting the account closes its connection.
func TestWebSocketRevocationAndDelete(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		m := e.useWebSocket(nil, nil)
		u := e.addUser("45000003", "revoked_streamer")
		e.signIn(u)
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		sub := e.wsFollowSub(u.ID, "")
		if _, err := e.fake.Revoke(e.ctx, sub.ID, "user_removed"); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		eventually(t, "the revocation recorded", func() bool {
			row, err := st.SubscriptionByID(e.ctx, sub.ID)
			return err == nil && row.Status == "user_removed"
		})
		if err := e.svc.Delete(e.ctx, u.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if m.Running(u.ID) {
			t.Fatal("the account's client still runs after Delete")
		}
		eventually(t, "the session closed", func() bool { return len(e.fake.WebSocketSessions()) == 0 })
	})
}

// A streamer who must sign in again gets no connection that retries for ever: the client gives
// up, and the next sign-in starts it again.
func TestWebSocketGivesUpUntilSignIn(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		m := e.useWebSocket(nil, nil)
		u := e.addUser("45000004", "gone_streamer")
		e.signIn(u)
		if err := st.SetAccountStatus(e.ctx, u.ID, store.AccountNeedsReconnect, "test", time.Now()); err != nil {
			t.Fatal(err)
		}
		m.Start(u.ID)
		eventually(t, "the client to give up", func() bool { return !m.Running(u.ID) })
		e.signIn(u)
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		e.wsFollowSub(u.ID, "")
	})
}

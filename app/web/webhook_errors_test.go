package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

const maxBody = 1 << 20

// padded is a correctly signed follow whose body is padded with JSON whitespace to size bytes.
func padded(t *testing.T, size int) eventsub.Outgoing {
	t.Helper()
	out := follow(t, demoID)
	if len(out.Body) > size {
		t.Fatalf("follow body already %d bytes", len(out.Body))
	}
	out.Body = append(out.Body, bytes.Repeat([]byte(" "), size-len(out.Body))...)
	resign(&out, testSecret)
	return out
}

func TestWebhookRefusesBadMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		followSub := func() eventsub.Subscription {
			return subscription(eventsub.ChannelFollow, "2", "enabled", map[string]string{"broadcaster_user_id": demoID, "moderator_user_id": demoID})
		}
		tests := []struct {
			name string
			out  func(t *testing.T) eventsub.Outgoing
			want int
		}{
			{"body over 1 MiB", func(t *testing.T) eventsub.Outgoing { return padded(t, maxBody+1) }, http.StatusRequestEntityTooLarge},
			{"malformed JSON", func(t *testing.T) eventsub.Outgoing {
				return message(t, eventsub.TypeNotification, followSub(), []byte(`{"subscription":{"id":"x"`))
			}, http.StatusBadRequest},
			{"follow without user_id", func(t *testing.T) eventsub.Outgoing {
				sub := followSub()
				return message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub, "event": map[string]string{
					"user_login": "cool_user", "user_name": "Cool_User", "broadcaster_user_id": demoID,
					"followed_at": "2020-07-15T18:16:11.17106713Z"}})
			}, http.StatusBadRequest},
			{"notification without event", func(t *testing.T) eventsub.Outgoing {
				sub := followSub()
				return message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub})
			}, http.StatusBadRequest},
			{"unknown message type", func(t *testing.T) eventsub.Outgoing {
				out := follow(t, demoID)
				out.Header.Set(eventsub.HeaderMessageType, "notification_v2")
				return out // the type header is not signed: the signature still verifies
			}, http.StatusBadRequest},
			{"subscription type header does not match the body", func(t *testing.T) eventsub.Outgoing {
				out := follow(t, demoID)
				out.Header.Set(eventsub.HeaderSubscriptionType, eventsub.ChannelSubscribe)
				return out
			}, http.StatusBadRequest},
			{"revocation without status", func(t *testing.T) eventsub.Outgoing {
				sub := followSub()
				sub.Status = ""
				return message(t, eventsub.TypeRevocation, sub, map[string]any{"subscription": sub})
			}, http.StatusBadRequest},
			{"challenge without challenge", func(t *testing.T) eventsub.Outgoing {
				sub := followSub()
				return message(t, eventsub.TypeVerification, sub, map[string]any{"subscription": sub})
			}, http.StatusBadRequest},
			{"revocation with a bad signature", func(t *testing.T) eventsub.Outgoing {
				sub := followSub()
				sub.Status = "authorization_revoked"
				out := message(t, eventsub.TypeRevocation, sub, map[string]any{"subscription": sub})
				resign(&out, "another-secret-entirely")
				return out
			}, http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				out := tt.out(t)
				if r := e.deliver(out); r.status != tt.want {
					t.Fatalf("webhook = %d %q, want %d", r.status, r.body, tt.want)
				}
				notStored(t, e.store, out.Header.Get(eventsub.HeaderMessageID))
				if n := count(t, e.store, demoID); n != 0 {
					t.Fatalf("%d events stored, want 0", n)
				}
				sent := decodeSentLoose(out.Body)
				if _, err := e.store.SubscriptionByID(context.Background(), sent.Subscription.ID); sent.Subscription.ID != "" && !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("subscription row for a refused message: %v", err)
				}
			})
		}
	})
}

// decodeSentLoose decodes what it can of a possibly malformed body.
func decodeSentLoose(body []byte) sentBody {
	var b sentBody
	_ = json.Unmarshal(bytes.TrimSpace(body), &b)
	return b
}

func TestWebhookBodyOfExactlyOneMiB(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		out := padded(t, maxBody)
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
		}
		e.stored(out.Header.Get(eventsub.HeaderMessageID))
	})
}

func TestWebhookStoresAndShowsUnknownTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		sub := subscription("channel.goal.begin", "1", "enabled", map[string]string{"broadcaster_user_id": demoID})
		event := map[string]any{"id": "12345-cool-event", "broadcaster_user_id": demoID,
			"broadcaster_user_login": "cool_user", "broadcaster_user_name": "Cool_User", "type": "subscription",
			"description": "Help me get partner!", "current_amount": 100, "target_amount": 220, "started_at": "2020-07-15T17:16:03.17106713Z"}
		out := message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub, "event": event})
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
		}
		ev := e.stored(out.Header.Get(eventsub.HeaderMessageID))
		if ev.Type != "channel.goal.begin" || ev.Version != "1" || ev.BroadcasterID != demoID || ev.SubscriptionID != sub.ID {
			t.Fatalf("stored %+v", ev)
		}
		if want := mustTime(t, "2020-07-15T17:16:03.17106713Z"); !sameInstant(ev.OccurredAt, want) {
			t.Errorf("occurred_at = %s, want started_at %s", ev.OccurredAt, want)
		}

		rs := rows(t, e.signedIn().page("/dashboard"))
		if len(rs) != 1 || rs[0].id != ev.ID || rs[0].typ != "channel.goal.begin" {
			t.Fatalf("dashboard rows = %+v, want the goal event %d", rs, ev.ID)
		}
		if !rs[0].sel.HasClass("kind-other") {
			t.Errorf("row class = %q, want the generic kind-other", rs[0].sel.AttrOr("class", ""))
		}
		if got := strings.TrimSpace(rs[0].sel.Find(".action").Text()); got != "channel.goal.begin (v1)" {
			t.Errorf("row action = %q", got)
		}
	})
}

func TestWebhookDatabaseUnavailable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		check := storetest.Open(t, db) // a second connection, to look at the database afterwards
		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		out := follow(t, demoID)
		r := e.deliver(out)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("webhook with the database down = %d %q, want 503", r.status, r.body)
		}
		if strings.Contains(r.body, "database is closed") || strings.Contains(r.body, "store:") {
			t.Errorf("503 body leaks internals: %q", r.body)
		}
		notStored(t, check, out.Header.Get(eventsub.HeaderMessageID))

		// Twitch sends it again once the database is back: stored then, once.
		back := newEnv(t, db)
		if r := back.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("re-sent after recovery = %d %q, want 204", r.status, r.body)
		}
		if n := count(t, check, demoID); n != 1 {
			t.Fatalf("stored %d events, want 1", n)
		}
	})
}

func TestWebhookConcurrentDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			name        string
			broadcaster string
			n           int
			same        bool // the same message delivered n times, or n different ones
		}{
			{"same message 10 times", "2001", 10, true},
			{"20 different messages", "2002", 20, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				one := follow(t, tt.broadcaster)
				outs := make([]eventsub.Outgoing, tt.n)
				for i := range outs {
					outs[i] = one
					if !tt.same {
						outs[i] = follow(t, tt.broadcaster)
					}
				}
				statuses := make([]int, tt.n)
				errs := make([]error, tt.n)
				var wg sync.WaitGroup
				for i, out := range outs {
					wg.Go(func() {
						req, err := out.Request(e.url + "/webhooks/twitch")
						if err != nil {
							errs[i] = err
							return
						}
						resp, err := e.http.Do(req)
						if err != nil {
							errs[i] = err
							return
						}
						resp.Body.Close()
						statuses[i] = resp.StatusCode
					})
				}
				wg.Wait()
				for i := range outs {
					if errs[i] != nil || statuses[i] < 200 || statuses[i] > 299 {
						t.Errorf("delivery %d: status %d, err %v; want 2xx", i, statuses[i], errs[i])
					}
				}
				want := tt.n
				if tt.same {
					want = 1
				}
				if n := count(t, e.store, tt.broadcaster); n != want {
					t.Fatalf("stored %d events, want %d", n, want)
				}
				for _, out := range outs {
					e.stored(out.Header.Get(eventsub.HeaderMessageID))
				}
			})
		}
	})
}

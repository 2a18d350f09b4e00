package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// The test vector from TWITCH.md, computed with openssl.
const (
	vecSecret    = "s3cre7-s3cre7-s3cre7"
	vecMessageID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
	vecTimestamp = "2023-07-19T10:11:12.634234626Z"
	vecBody      = `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},"created_at":"2019-11-16T10:11:12.634234626Z"},"event":{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","followed_at":"2020-07-15T18:16:11.17106713Z"}}`
	vecSignature = "sha256=1959ac251a84192361106b22a9058f60bfdce586daaa6c93cf80e3b27e2c2451"
)

// sentBody is what a test message carries, decoded.
type sentBody struct {
	Subscription eventsub.Subscription `json:"subscription"`
	Event        json.RawMessage       `json:"event"`
}

func decodeSent(t *testing.T, body []byte) sentBody {
	t.Helper()
	var b sentBody
	if err := json.Unmarshal(bytes.TrimSpace(body), &b); err != nil {
		t.Fatalf("decode sent body: %v", err)
	}
	return b
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// sameInstant allows for PostgreSQL keeping microseconds where Twitch sends nanoseconds.
func sameInstant(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Microsecond && d > -time.Microsecond
}

func TestWebhookStoresFollowOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		out := follow(t, demoID)
		msgID := out.Header.Get(eventsub.HeaderMessageID)
		sent := decodeSent(t, out.Body)
		var fields map[string]string
		if err := json.Unmarshal(sent.Event, &fields); err != nil {
			t.Fatal(err)
		}

		before := time.Now()
		if r := e.deliver(out); r.status != http.StatusNoContent || r.body != "" {
			t.Fatalf("webhook = %d %q, want 204 and no body", r.status, r.body)
		}
		after := time.Now()
		ev := e.stored(msgID)
		checks := []struct{ field, got, want string }{
			{"message id", ev.MessageID, msgID},
			{"subscription id", ev.SubscriptionID, sent.Subscription.ID},
			{"type", ev.Type, eventsub.ChannelFollow},
			{"version", ev.Version, "2"},
			{"broadcaster", ev.BroadcasterID, demoID},
			{"user id", ev.UserID, fields["user_id"]},
			{"user login", ev.UserLogin, fields["user_login"]},
			{"user name", ev.UserName, fields["user_name"]},
			{"payload", ev.Payload, string(sent.Event)},
		}
		for _, c := range checks {
			if c.got != c.want || c.want == "" {
				t.Errorf("stored %s = %q, want %q", c.field, c.got, c.want)
			}
		}
		if want := mustTime(t, fields["followed_at"]); !sameInstant(ev.OccurredAt, want) {
			t.Errorf("occurred_at = %s, want followed_at %s", ev.OccurredAt, want)
		}
		if ev.ReceivedAt.Before(before.Add(-time.Second)) || ev.ReceivedAt.After(after.Add(time.Second)) {
			t.Errorf("received_at = %s, want between %s and %s", ev.ReceivedAt, before, after)
		}

		// Twitch re-sends with the same message id: acknowledged, not stored again.
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("re-sent message = %d %q, want 204", r.status, r.body)
		}
		if n := count(t, e.store, demoID); n != 1 {
			t.Fatalf("stored %d events after a re-send, want 1", n)
		}
		if again := e.stored(msgID); again.ID != ev.ID {
			t.Fatalf("re-send changed the stored event: id %d, was %d", again.ID, ev.ID)
		}
	})
}

func TestWebhookTwitchTestVector(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("EVENTSUB_SECRET", vecSecret), withClock(mustTime(t, vecTimestamp).Add(2*time.Minute)))
		req := newRequest(t, http.MethodPost, e.url+"/webhooks/twitch", strings.NewReader(vecBody),
			"Content-Type", "application/json",
			"Twitch-Eventsub-Message-Id", vecMessageID,
			"Twitch-Eventsub-Message-Retry", "0",
			"Twitch-Eventsub-Message-Type", "notification",
			"Twitch-Eventsub-Message-Signature", vecSignature,
			"Twitch-Eventsub-Message-Timestamp", vecTimestamp,
			"Twitch-Eventsub-Subscription-Type", "channel.follow",
			"Twitch-Eventsub-Subscription-Version", "2")
		if r := do(t, e.http, req); r.status != http.StatusNoContent {
			t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
		}
		ev := e.stored(vecMessageID)
		if ev.SubscriptionID != "f1c2a387-161a-49f9-a165-0f21d7a4e1c4" || ev.Type != "channel.follow" || ev.Version != "2" ||
			ev.BroadcasterID != "1337" || ev.UserID != "1234" || ev.UserLogin != "cool_user" || ev.UserName != "Cool_User" {
			t.Errorf("stored %+v", ev)
		}
		if want := mustTime(t, "2020-07-15T18:16:11.17106713Z"); !sameInstant(ev.OccurredAt, want) {
			t.Errorf("occurred_at = %s, want %s", ev.OccurredAt, want)
		}
		if want := decodeSent(t, []byte(vecBody)).Event; ev.Payload != string(want) {
			t.Errorf("payload = %s, want %s", ev.Payload, want)
		}
	})
}

// resign signs out again after its headers were changed, so that only the change is wrong.
func resign(out *eventsub.Outgoing, secret string) {
	h := out.Header
	h.Set(eventsub.HeaderMessageSignature, eventsub.Signature(secret,
		h.Get(eventsub.HeaderMessageID), h.Get(eventsub.HeaderMessageTimestamp), out.Body))
}

func TestWebhookRefusesWhatItCannotVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			name   string
			mutate func(t *testing.T, out *eventsub.Outgoing)
		}{
			{"missing signature", func(_ *testing.T, out *eventsub.Outgoing) { out.Header.Del(eventsub.HeaderMessageSignature) }},
			{"missing message id", func(_ *testing.T, out *eventsub.Outgoing) { out.Header.Del(eventsub.HeaderMessageID) }},
			{"missing timestamp", func(_ *testing.T, out *eventsub.Outgoing) { out.Header.Del(eventsub.HeaderMessageTimestamp) }},
			{"wrong signature", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageSignature, "sha256="+strings.Repeat("0", 64))
			}},
			{"signature without sha256= prefix", func(_ *testing.T, out *eventsub.Outgoing) {
				h := out.Header
				h.Set(eventsub.HeaderMessageSignature, strings.TrimPrefix(h.Get(eventsub.HeaderMessageSignature), "sha256="))
			}},
			{"signed with another secret", func(_ *testing.T, out *eventsub.Outgoing) { resign(out, "another-secret-entirely") }},
			{"body altered after signing", func(t *testing.T, out *eventsub.Outgoing) {
				altered := bytes.Replace(out.Body, []byte(`"user_login":"viewer_`), []byte(`"user_login":"hacker_`), 1)
				if bytes.Equal(altered, out.Body) {
					t.Fatal("body not altered")
				}
				out.Body = altered
			}},
			{"message id altered after signing", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageID, eventsub.NewID())
			}},
			{"timestamp 11 minutes old", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageTimestamp, time.Now().Add(-11*time.Minute).UTC().Format(time.RFC3339Nano))
				resign(out, testSecret)
			}},
			{"timestamp 2 minutes in the future", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageTimestamp, time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339Nano))
				resign(out, testSecret)
			}},
			{"timestamp unparseable", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageTimestamp, "yesterday at noon")
				resign(out, testSecret)
			}},
			{"timestamp in unix seconds", func(_ *testing.T, out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageTimestamp, "1689761472")
				resign(out, testSecret)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				out := follow(t, demoID)
				msgID := out.Header.Get(eventsub.HeaderMessageID)
				tt.mutate(t, &out)
				if r := e.deliver(out); r.status != http.StatusForbidden {
					t.Errorf("webhook = %d %q, want 403", r.status, r.body)
				}
				notStored(t, e.store, msgID)
				notStored(t, e.store, out.Header.Get(eventsub.HeaderMessageID))
				if n := count(t, e.store, demoID); n != 0 {
					t.Errorf("%d events stored, want 0", n)
				}
			})
		}
	})
}

func TestWebhookReplayWindowAccepts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		for _, offset := range []time.Duration{-9 * time.Minute, 30 * time.Second} {
			t.Run(offset.String(), func(t *testing.T) {
				e := e.with(t)
				out := follow(t, demoID)
				out.Header.Set(eventsub.HeaderMessageTimestamp, time.Now().Add(offset).UTC().Format(time.RFC3339Nano))
				resign(&out, testSecret)
				if r := e.deliver(out); r.status != http.StatusNoContent {
					t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
				}
				e.stored(out.Header.Get(eventsub.HeaderMessageID))
			})
		}
	})
}

// message signs a body of any message type with the test secret.
func message(t *testing.T, msgType string, sub eventsub.Subscription, body any) eventsub.Outgoing {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return eventsub.Sign(testSecret, msgType, eventsub.NewID(), sub, raw, time.Now())
}

func subscription(typ, version, status string, condition map[string]string) eventsub.Subscription {
	return eventsub.Subscription{ID: eventsub.NewID(), Type: typ, Version: version, Status: status, Condition: condition,
		Transport: eventsub.Transport{Method: "webhook", Callback: "https://tev.example.com/webhooks/twitch"},
		CreatedAt: time.Now().Add(-time.Hour).UTC()}
}

func TestWebhookAnswersChallenges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		const challenge = "pogchamp-kappa-360noscope-vohiyo"
		sub := subscription(eventsub.ChannelFollow, "2", "webhook_callback_verification_pending",
			map[string]string{"broadcaster_user_id": demoID, "moderator_user_id": demoID})
		body := map[string]any{"challenge": challenge, "subscription": sub}
		tests := []struct {
			name   string
			mutate func(out *eventsub.Outgoing)
			want   int
		}{
			{"valid", func(*eventsub.Outgoing) {}, http.StatusOK},
			{"bad signature", func(out *eventsub.Outgoing) {
				out.Header.Set(eventsub.HeaderMessageSignature, "sha256="+strings.Repeat("ab", 32))
			}, http.StatusForbidden},
			{"signed with another secret", func(out *eventsub.Outgoing) { resign(out, "another-secret-entirely") }, http.StatusForbidden},
			{"missing signature", func(out *eventsub.Outgoing) { out.Header.Del(eventsub.HeaderMessageSignature) }, http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				out := message(t, eventsub.TypeVerification, sub, body)
				tt.mutate(&out)
				// Challenges are never deduplicated: Twitch may send the same one again.
				for range 2 {
					r := e.deliver(out)
					if r.status != tt.want {
						t.Fatalf("challenge = %d %q, want %d", r.status, r.body, tt.want)
					}
					if tt.want != http.StatusOK {
						if strings.Contains(r.body, challenge) {
							t.Fatalf("refused challenge answered with the challenge: %q", r.body)
						}
						continue
					}
					if r.body != challenge {
						t.Fatalf("body = %q, want exactly %q", r.body, challenge)
					}
					if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || mt != "text/plain" {
						t.Fatalf("Content-Type = %q, want text/plain", r.header.Get("Content-Type"))
					}
				}
				if n := count(t, e.store, demoID); n != 0 {
					t.Fatalf("a challenge stored %d events", n)
				}
			})
		}
	})
}

func TestWebhookRecordsRevocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			reason, typ, version string
			condition            map[string]string
			wantBroadcaster      string
		}{
			{"authorization_revoked", eventsub.ChannelFollow, "2", map[string]string{"broadcaster_user_id": demoID, "moderator_user_id": demoID}, demoID},
			{"user_removed", eventsub.ChannelSubscribe, "1", map[string]string{"broadcaster_user_id": "4242"}, "4242"},
			{"notification_failures_exceeded", eventsub.ChannelRaid, "1", map[string]string{"to_broadcaster_user_id": "777"}, "777"},
			{"version_removed", "channel.update", "1", map[string]string{"broadcaster_user_id": demoID}, demoID},
		}
		for _, tt := range tests {
			t.Run(tt.reason, func(t *testing.T) {
				e := e.with(t)
				sub := subscription(tt.typ, tt.version, tt.reason, tt.condition)
				r := e.deliver(message(t, eventsub.TypeRevocation, sub, map[string]any{"subscription": sub}))
				if r.status != http.StatusNoContent {
					t.Fatalf("revocation = %d %q, want 204", r.status, r.body)
				}
				row, err := e.store.SubscriptionByID(context.Background(), sub.ID)
				if err != nil {
					t.Fatalf("subscription row: %v", err)
				}
				if row.Status != tt.reason || row.Type != tt.typ || row.Version != tt.version || row.BroadcasterID != tt.wantBroadcaster {
					t.Fatalf("row = %+v, want status %s, type %s v%s, broadcaster %s", row, tt.reason, tt.typ, tt.version, tt.wantBroadcaster)
				}
				var cond map[string]string
				if err := json.Unmarshal([]byte(row.Condition), &cond); err != nil || len(cond) != len(tt.condition) {
					t.Fatalf("condition = %q (%v), want %v", row.Condition, err, tt.condition)
				}
			})
		}
		if n := count(t, e.store, demoID); n != 0 {
			t.Fatalf("revocations stored %d events", n)
		}
	})
}

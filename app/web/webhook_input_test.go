package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// withNUL re-signs out with a NUL character inside one of its body's strings (section "event"
// or "subscription"); encoding/json writes it as the \u0000 escape, as Twitch would.
func withNUL(t *testing.T, out eventsub.Outgoing, section, field string) eventsub.Outgoing {
	t.Helper()
	var body map[string]map[string]any
	if err := json.Unmarshal(out.Body, &body); err != nil {
		t.Fatal(err)
	}
	v, _ := body[section][field].(string)
	if v == "" {
		t.Fatalf("%s.%s = %q, want a string to put a NUL in", section, field, v)
	}
	body[section][field] = "\x00" + v[:1] + "\x00" + v[1:] + "\x00"
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `\u0000`) {
		t.Fatalf("body carries no NUL escape: %s", raw)
	}
	out.Body = raw
	resign(&out, testSecret)
	return out
}

// TestWebhookDropsNUL: a NUL in a name, an id or the subscription is dropped, not a 503 on every
// retry (both databases refuse it): the event is stored once without it, and a re-send adds no row.
func TestWebhookDropsNUL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		for _, f := range []struct{ section, field string }{
			{"event", "user_name"}, {"event", "user_login"}, {"event", "user_id"},
			{"subscription", "id"}, {"subscription", "type"}, {"subscription", "version"},
		} {
			t.Run(f.section+"."+f.field, func(t *testing.T) {
				e := e.with(t)
				clean := follow(t, demoID)
				sent := decodeSent(t, clean.Body)
				var fields map[string]string
				if err := json.Unmarshal(sent.Event, &fields); err != nil {
					t.Fatal(err)
				}
				out := withNUL(t, clean, f.section, f.field)
				before := count(t, e.store, demoID)
				for range 2 {
					if r := e.deliver(out); r.status != http.StatusNoContent {
						t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
					}
				}
				if n := count(t, e.store, demoID) - before; n != 1 {
					t.Fatalf("%d rows stored for one message sent twice, want 1", n)
				}
				ev := e.stored(out.Header.Get(eventsub.HeaderMessageID))
				for _, c := range []struct{ name, got, want string }{
					{"user name", ev.UserName, fields["user_name"]},
					{"user login", ev.UserLogin, fields["user_login"]},
					{"user id", ev.UserID, fields["user_id"]},
					{"subscription id", ev.SubscriptionID, sent.Subscription.ID},
					{"type", ev.Type, eventsub.ChannelFollow},
					{"version", ev.Version, "2"},
				} {
					if c.got != c.want {
						t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
					}
				}
				var payload map[string]string
				if err := json.Unmarshal([]byte(ev.Payload), &payload); err != nil {
					t.Fatalf("stored payload is not JSON: %v: %s", err, ev.Payload)
				}
				if strings.Contains(ev.Payload, `\u0000`) || payload[f.field] != fields[f.field] && f.section == "event" {
					t.Errorf("stored payload %s keeps the NUL", ev.Payload)
				}
			})
		}
	})
}

// TestWebhookRefusesEventOfNobody: an unknown type whose event and condition name no broadcaster
// would be stored where nobody can see or delete it; it is refused with 400 instead.
func TestWebhookRefusesEventOfNobody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		sub := subscription("channel.some_new_thing", "1", "enabled", map[string]string{"client_id": "abc"})
		out := message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub,
			"event": map[string]any{"user_id": "1234", "user_login": "cool_user", "user_name": "Cool_User"}})
		if r := e.deliver(out); r.status != http.StatusBadRequest {
			t.Fatalf("webhook = %d %q, want 400", r.status, r.body)
		}
		notStored(t, e.store, out.Header.Get(eventsub.HeaderMessageID))
		if n := count(t, e.store, ""); n != 0 {
			t.Fatalf("%d events stored under no broadcaster, want 0", n)
		}

		// With the broadcaster in the condition only, it is stored as before.
		sub = subscription("channel.some_new_thing", "1", "enabled", map[string]string{"broadcaster_user_id": demoID})
		out = message(t, eventsub.TypeNotification, sub, map[string]any{"subscription": sub, "event": map[string]any{}})
		if r := e.deliver(out); r.status != http.StatusNoContent {
			t.Fatalf("webhook = %d %q, want 204", r.status, r.body)
		}
		if ev := e.stored(out.Header.Get(eventsub.HeaderMessageID)); ev.BroadcasterID != demoID {
			t.Fatalf("broadcaster = %q, want %s", ev.BroadcasterID, demoID)
		}
	})
}

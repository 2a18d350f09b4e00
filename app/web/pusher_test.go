package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/pusher"
	"github.com/twitch-event-viewer/tev/app/pusher/pushertest"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

// withPusher configures PUSHER_URL as serve does: the variable, the client, the store's outbox.
func withPusher(t *testing.T, f *pushertest.Fake) option {
	c, err := pusher.New(f.PusherURL())
	if err != nil {
		t.Fatal(err)
	}
	return func(vars map[string]string, o *web.Options) {
		vars["PUSHER_URL"] = f.PusherURL()
		o.Pusher = c
		o.Store.EnableOutbox()
	}
}

// pusherAuth asks to subscribe to channel as pusher-js does; headers are name, value pairs.
func (b *browser) pusherAuth(channel string, headers ...string) reply {
	b.t.Helper()
	return b.postForm("/pusher/auth", url.Values{"socket_id": {"1234.5678"}, "channel_name": {channel}}, headers...)
}

func TestPusherAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		f := pushertest.New(t)
		e := newEnv(t, db, withPusher(t, f))
		b := e.signedIn()
		own := "private-events-" + demoID

		r := b.pusherAuth(own, "X-CSRF-Token", b.csrf)
		if r.status != http.StatusOK {
			t.Fatalf("own channel: %d %q, want 200", r.status, r.body)
		}
		var got struct{ Auth string }
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("auth answer %q: %v", r.body, err)
		}
		m := hmac.New(sha256.New, []byte(f.Secret))
		m.Write([]byte("1234.5678:" + own))
		if want := f.Key + ":" + hex.EncodeToString(m.Sum(nil)); got.Auth != want {
			t.Fatalf("auth = %q, want %q", got.Auth, want)
		}

		for name, tc := range map[string]struct {
			b       *browser
			channel string
			headers []string
			want    int
		}{
			"foreign channel":   {b, "private-events-4242", []string{"X-CSRF-Token", b.csrf}, http.StatusForbidden},
			"other prefix":      {b, "presence-events-" + demoID, []string{"X-CSRF-Token", b.csrf}, http.StatusForbidden},
			"no CSRF header":    {b, own, nil, http.StatusForbidden},
			"wrong CSRF header": {b, own, []string{"X-CSRF-Token", "forged"}, http.StatusForbidden},
		} {
			if r := tc.b.with(t).pusherAuth(tc.channel, tc.headers...); r.status != tc.want {
				t.Errorf("%s: %d %q, want %d", name, r.status, r.body, tc.want)
			}
		}

		// Signed out, as the README says: 403 from the CSRF check, whose token is bound to the
		// session; with the token of a signed-out page, the signed-in group's 401.
		if r := e.browser().pusherAuth(own); r.status != http.StatusForbidden {
			t.Errorf("signed out without a token: %d, want 403", r.status)
		}
		if r := e.browser().pusherAuth(own, "X-CSRF-Token", b.csrf); r.status != http.StatusForbidden {
			t.Errorf("signed out with a signed-in page's token: %d, want 403", r.status)
		}
		// Signed out, with a valid CSRF token: the signed-in group's answer.
		out := e.browser()
		out.remember(out.get("/").doc(t))
		if r := out.pusherAuth(own, "X-CSRF-Token", out.csrf); r.status != http.StatusUnauthorized {
			t.Errorf("signed out: %d, want 401", r.status)
		}
	})
}

func TestPusherAuthNotConfigured(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		if r := b.pusherAuth("private-events-"+demoID, "X-CSRF-Token", b.csrf); r.status != http.StatusNotFound {
			t.Fatalf("without PUSHER_URL: %d, want 404", r.status)
		}
		if n := b.page("/dashboard").Find(`[data-testid=pusher-status]`).Length(); n != 0 {
			t.Fatal("dashboard shows a Pusher status without PUSHER_URL")
		}
	})
}

// TestWebhookWhilePusherIsDown: Twitch gets its 204 at once, the dashboard says Pusher is
// failing, and every event is published once Pusher is back.
func TestWebhookWhilePusherIsDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		f := pushertest.New(t)
		f.FailNext(1_000_000, http.StatusServiceUnavailable)
		e := newEnv(t, db, withPusher(t, f))
		c, err := pusher.New(f.PusherURL())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			pusher.NewWorker(e.store, c, testLogger(t), pusher.WorkerOptions{MinBackoff: 5 * time.Millisecond,
				MaxBackoff: 20 * time.Millisecond, Poll: 10 * time.Millisecond}).Run(ctx)
		})
		t.Cleanup(func() { cancel(); wg.Wait() })

		ids := map[int64]bool{}
		for range 3 {
			ids[e.post(demoID).ID] = true // requires 204
		}
		deadline := time.Now().Add(waitLong)
		for f.Requests() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}

		b := e.signedIn()
		var status string
		for time.Now().Before(deadline) {
			if status = b.page("/dashboard").Find(`[data-testid=pusher-status]`).AttrOr("data-state", ""); status == "failing" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		d := b.page("/dashboard")
		if p := d.Find(`[data-testid=pusher-status]`); status != "failing" || p.AttrOr("data-pending", "") != "3" ||
			d.Find(`[data-testid=pusher-error]`).Length() != 1 {
			t.Fatalf("dashboard with Pusher down: state %q, pending %q, %q", status, p.AttrOr("data-pending", ""), p.Text())
		}

		f.FailNext(0, 0)
		for len(f.Events()) < len(ids) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		for _, ev := range f.Events() {
			var p struct{ ID int64 }
			if err := json.Unmarshal([]byte(ev.Data), &p); err != nil || !ids[p.ID] || ev.Channel != "private-events-"+demoID {
				t.Errorf("published %s %s, want one of %v", ev.Channel, ev.Data, ids)
			}
			delete(ids, p.ID)
		}
		if len(ids) != 0 {
			t.Fatalf("not published once Pusher was back: %v", ids)
		}
		// Pusher accepts a batch a moment before the worker marks it published.
		for status != "ok" && time.Now().Before(deadline) {
			status = b.page("/dashboard").Find(`[data-testid=pusher-status]`).AttrOr("data-state", "")
			time.Sleep(10 * time.Millisecond)
		}
		if status != "ok" {
			t.Fatalf("dashboard once published: state %q, want ok", status)
		}
	})
}

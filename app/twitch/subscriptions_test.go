package twitch

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

const subSecret = "eventsub-secret-MUST-NOT-LEAK"

// fakeEventSub serves app tokens at /oauth2/token and handle at /helix/eventsub/subscriptions,
// for requests bearing the app token accepted (others get Helix's 401).
func fakeEventSub(t *testing.T, tokens *appTokens, accepted func(token string) bool, handle http.HandlerFunc) (*harness, *atomic.Int32) {
	var helixCalls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/oauth2/token", tokens)
	mux.HandleFunc("/helix/eventsub/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		helixCalls.Add(1)
		if r.Header.Get("Client-Id") != testClientID {
			t.Errorf("Client-Id = %q", r.Header.Get("Client-Id"))
		}
		token, ok := bearer(r)
		if !ok || !accepted(token) {
			helixError(w, http.StatusUnauthorized, "Invalid OAuth token")
			return
		}
		handle(w, r)
	})
	return newHarness(t, mux), &helixCalls
}

func bearer(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	a := r.Header.Get("Authorization")
	if len(a) <= len(prefix) || a[:len(prefix)] != prefix {
		return "", false
	}
	return a[len(prefix):], true
}

func firstAppToken(token string) bool { return token == "app-token-1" }

func pendingJSON(id string) map[string]any {
	return map[string]any{
		"id": id, "status": "webhook_callback_verification_pending", "type": "channel.follow", "version": "2",
		"condition":  map[string]string{"broadcaster_user_id": "1337", "moderator_user_id": "1337"},
		"created_at": "2026-03-01T12:00:00.123456789Z", "cost": 1,
		"transport": map[string]string{"method": "webhook", "callback": "https://tev.example/webhooks/twitch"},
	}
}

func followRequest() CreateSubscription {
	return CreateSubscription{
		Type: "channel.follow", Version: "2",
		Condition: map[string]string{"broadcaster_user_id": "1337", "moderator_user_id": "1337"},
		Callback:  "https://tev.example/webhooks/twitch", Secret: subSecret,
	}
}

func TestCreateSubscription(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter)
		wantErr error
	}{
		{name: "202", handle: func(w http.ResponseWriter) {
			writeJSON(w, 202, map[string]any{"data": []any{pendingJSON("sub-1")}, "total": 1, "total_cost": 1, "max_total_cost": 10000})
		}},
		{name: "exists already", wantErr: ErrConflict, handle: func(w http.ResponseWriter) {
			helixError(w, 409, "subscription already exists")
		}},
		{name: "scope not granted", wantErr: ErrForbidden, handle: func(w http.ResponseWriter) {
			helixError(w, 403, "subscription missing proper authorization")
		}},
		{name: "bad request echoing the secret", wantErr: errAny, handle: func(w http.ResponseWriter) {
			helixError(w, 400, "invalid transport secret "+subSecret)
		}},
		{name: "empty data", wantErr: errAny, handle: func(w http.ResponseWriter) {
			writeJSON(w, 202, map[string]any{"data": []any{}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodPost, "/helix/eventsub/subscriptions")
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var body struct {
					Type, Version string
					Condition     map[string]string
					Transport     eventsub.Transport
				}
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					t.Errorf("body: %v", err)
				}
				want := eventsub.Transport{Method: "webhook", Callback: "https://tev.example/webhooks/twitch", Secret: subSecret}
				if body.Type != "channel.follow" || body.Version != "2" || body.Condition["moderator_user_id"] != "1337" || body.Transport != want {
					t.Errorf("body = %+v", body)
				}
				tt.handle(w)
			})
			got, err := h.c.CreateSubscription(context.Background(), followRequest())
			checkErr(t, err, tt.wantErr, subSecret, "app-token-1")
			if err != nil {
				return
			}
			created := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
			if got.ID != "sub-1" || got.Status != "webhook_callback_verification_pending" || got.Type != "channel.follow" ||
				got.Condition["broadcaster_user_id"] != "1337" || !got.CreatedAt.Equal(created) ||
				got.Transport.Callback != "https://tev.example/webhooks/twitch" || got.Cost != 1 {
				t.Errorf("subscription = %+v", got)
			}
		})
	}
}

func TestCreateSubscriptionRejectsBadInputLocally(t *testing.T) {
	h, calls := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {})
	for name, mutate := range map[string]func(*CreateSubscription){
		"no type":      func(r *CreateSubscription) { r.Type = "" },
		"no condition": func(r *CreateSubscription) { r.Condition = nil },
		"no callback":  func(r *CreateSubscription) { r.Callback = "" },
		"short secret": func(r *CreateSubscription) { r.Secret = "short" },
	} {
		req := followRequest()
		mutate(&req)
		_, err := h.c.CreateSubscription(context.Background(), req)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		assertNoSecrets(t, err, subSecret)
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests reached Twitch", calls.Load())
	}
}

// TestEventSubAppTokenRetry: Helix refuses app-token-1. Every EventSub call fetches
// app-token-2 and retries once; when Helix refuses every token, it gives up after that one retry.
func TestEventSubAppTokenRetry(t *testing.T) {
	ops := map[string]func(c *Client) error{
		"create": func(c *Client) error {
			_, err := c.CreateSubscription(context.Background(), followRequest())
			return err
		},
		"list": func(c *Client) error {
			_, err := c.ListSubscriptions(context.Background(), SubscriptionFilter{})
			return err
		},
		"delete": func(c *Client) error { return c.DeleteSubscription(context.Background(), "sub-1") },
	}
	ok := func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			writeJSON(w, 202, map[string]any{"data": []any{pendingJSON("sub-1")}})
		case http.MethodGet:
			writeJSON(w, 200, map[string]any{"data": []any{pendingJSON("sub-1")}, "pagination": map[string]string{}})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
	for name, op := range ops {
		t.Run(name+" stale token", func(t *testing.T) {
			tokens := &appTokens{t: t}
			h, calls := fakeEventSub(t, tokens, func(tok string) bool { return tok != "app-token-1" }, ok)
			if err := op(h.c); err != nil {
				t.Fatal(err)
			}
			if tokens.fetches.Load() != 2 || calls.Load() != 2 {
				t.Errorf("fetches = %d, calls = %d; want 2 and 2", tokens.fetches.Load(), calls.Load())
			}
			if err := op(h.c); err != nil { // the new token is cached
				t.Fatal(err)
			}
			if tokens.fetches.Load() != 2 || calls.Load() != 3 {
				t.Errorf("fetches = %d, calls = %d; want 2 and 3", tokens.fetches.Load(), calls.Load())
			}
		})
		t.Run(name+" always refused", func(t *testing.T) {
			tokens := &appTokens{t: t}
			h, calls := fakeEventSub(t, tokens, func(string) bool { return false }, ok)
			err := op(h.c)
			checkErr(t, err, ErrUnauthorized, "app-token-1", "app-token-2")
			if tokens.fetches.Load() != 2 || calls.Load() != 2 {
				t.Errorf("fetches = %d, calls = %d; want 2 and 2", tokens.fetches.Load(), calls.Load())
			}
		})
	}
}

func TestListSubscriptionsPages(t *testing.T) {
	pages := map[string]struct {
		ids  []string
		next string
	}{
		"":   {[]string{"s1", "s2"}, "c1"},
		"c1": {[]string{"s3", "s4"}, "c2"},
		"c2": {[]string{"s5"}, ""},
	}
	var afters []string
	h, _ := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {
		expectRequest(t, r, http.MethodGet, "/helix/eventsub/subscriptions")
		q := r.URL.Query()
		if q.Get("type") != "channel.follow" || len(q) > 2 {
			t.Errorf("query = %q", r.URL.RawQuery)
		}
		afters = append(afters, q.Get("after"))
		page := pages[q.Get("after")]
		data := []any{}
		for _, id := range page.ids {
			data = append(data, pendingJSON(id))
		}
		pagination := map[string]string{}
		if page.next != "" {
			pagination["cursor"] = page.next
		}
		writeJSON(w, 200, map[string]any{"data": data, "total": 5, "total_cost": 5, "max_total_cost": 10000, "pagination": pagination})
	})
	subs, err := h.c.ListSubscriptions(context.Background(), SubscriptionFilter{Type: "channel.follow"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"s1", "s2", "s3", "s4", "s5"}) || !slices.Equal(afters, []string{"", "c1", "c2"}) {
		t.Errorf("ids = %v after cursors %q", ids, afters)
	}
}

func TestListSubscriptionsRepeatingCursor(t *testing.T) {
	h, calls := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": []any{pendingJSON("s1")}, "pagination": map[string]string{"cursor": "same"}})
	})
	if _, err := h.c.ListSubscriptions(context.Background(), SubscriptionFilter{}); err == nil {
		t.Error("a cursor that never ends was followed to success")
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestListSubscriptionsFilter(t *testing.T) {
	tests := []struct {
		f         SubscriptionFilter
		wantQuery string // "": rejected locally; "-": sent without a query
	}{
		{SubscriptionFilter{}, "-"},
		{SubscriptionFilter{Status: "enabled"}, "status=enabled"},
		{SubscriptionFilter{Type: "channel.raid"}, "type=channel.raid"},
		{SubscriptionFilter{UserID: "1337"}, "user_id=1337"},
		{SubscriptionFilter{SubscriptionID: "sub-1"}, "subscription_id=sub-1"},
		{SubscriptionFilter{Status: "enabled", Type: "channel.raid"}, ""},
		{SubscriptionFilter{UserID: "1337", SubscriptionID: "sub-1"}, ""},
		{SubscriptionFilter{Status: "enabled", Type: "t", UserID: "1", SubscriptionID: "s"}, ""},
	}
	for _, tt := range tests {
		var got string
		h, calls := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {
			got = r.URL.RawQuery
			writeJSON(w, 200, map[string]any{"data": []any{}, "pagination": map[string]string{}})
		})
		_, err := h.c.ListSubscriptions(context.Background(), tt.f)
		switch {
		case tt.wantQuery == "" && (err == nil || calls.Load() != 0):
			t.Errorf("%+v: err = %v after %d calls, want a local error", tt.f, err, calls.Load())
		case tt.wantQuery == "-" && (err != nil || got != ""):
			t.Errorf("%+v: err = %v, query %q", tt.f, err, got)
		case tt.wantQuery != "" && tt.wantQuery != "-" && (err != nil || got != tt.wantQuery):
			t.Errorf("%+v: err = %v, query %q, want %q", tt.f, err, got, tt.wantQuery)
		}
	}
}

func TestDeleteSubscription(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter)
		wantErr error
	}{
		{"204", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, nil},
		{"unknown id", func(w http.ResponseWriter) { helixError(w, 404, "subscription not found") }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {
				expectRequest(t, r, http.MethodDelete, "/helix/eventsub/subscriptions")
				if r.URL.RawQuery != "id=sub-1" {
					t.Errorf("query = %q", r.URL.RawQuery)
				}
				tt.handle(w)
			})
			checkErr(t, h.c.DeleteSubscription(context.Background(), "sub-1"), tt.wantErr, "app-token-1")
		})
	}
	h, calls := fakeEventSub(t, &appTokens{t: t}, firstAppToken, func(w http.ResponseWriter, r *http.Request) {})
	if err := h.c.DeleteSubscription(context.Background(), ""); err == nil || calls.Load() != 0 {
		t.Errorf("empty id: err = %v after %d calls", err, calls.Load())
	}
}

package twitch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// maxPages bounds ListSubscriptions against a server whose cursor never ends. Twitch pages hold
// 100 subscriptions, far more than this app can have.
const maxPages = 1000

// CreateSubscription asks for an EventSub webhook subscription.
type CreateSubscription struct {
	Type, Version string
	Condition     map[string]string
	Callback      string // where Twitch POSTs; it must answer the challenge already
	Secret        string // 10 to 100 characters, see eventsub.ValidSecret
}

// withAppToken runs fn with the app token. Helix refuses a stale app token with 401: then the
// token is fetched again and fn retried, once.
func (c *Client) withAppToken(ctx context.Context, fn func(token string) error) error {
	tok, err := c.AppToken(ctx)
	if err != nil {
		return err
	}
	err = fn(tok)
	if !errors.Is(err, ErrUnauthorized) {
		return err
	}
	c.invalidateAppToken(tok)
	if tok, err = c.AppToken(ctx); err != nil {
		return err
	}
	return fn(tok)
}

// CreateSubscription creates a webhook subscription with the app token. Twitch answers 202 and
// POSTs the challenge to the callback; the returned subscription is then
// webhook_callback_verification_pending. One that exists already (same type and condition) is
// ErrConflict; a missing grant of the type's scope by the streamer is ErrForbidden.
func (c *Client) CreateSubscription(ctx context.Context, req CreateSubscription) (eventsub.Subscription, error) {
	if req.Type == "" || req.Version == "" || req.Callback == "" || len(req.Condition) == 0 {
		return eventsub.Subscription{}, errors.New("twitch: create subscription: type, version, condition and callback are required")
	}
	if !eventsub.ValidSecret(req.Secret) {
		return eventsub.Subscription{}, errors.New("twitch: create subscription: the secret must be 10 to 100 printable ASCII characters")
	}
	var sub eventsub.Subscription
	err := c.withAppToken(ctx, func(token string) (err error) {
		sub, err = c.postSubscription(ctx, token, req, eventsub.Transport{Method: "webhook", Callback: req.Callback, Secret: req.Secret}, req.Secret)
		return err
	})
	return sub, err
}

// postSubscription POSTs req with transport and token; redact is kept out of errors.
func (c *Client) postSubscription(ctx context.Context, token string, req CreateSubscription, transport eventsub.Transport, redact ...string) (eventsub.Subscription, error) {
	body := struct {
		Type      string             `json:"type"`
		Version   string             `json:"version"`
		Condition map[string]string  `json:"condition"`
		Transport eventsub.Transport `json:"transport"`
	}{req.Type, req.Version, req.Condition, transport}
	var resp struct {
		Data []eventsub.Subscription `json:"data"`
	}
	if err := c.helix(ctx, http.MethodPost, "/eventsub/subscriptions", nil, token, body, &resp, redact...); err != nil {
		return eventsub.Subscription{}, err
	}
	if len(resp.Data) == 0 {
		return eventsub.Subscription{}, errors.New("twitch: POST /eventsub/subscriptions: no subscription in the response")
	}
	return resp.Data[0], nil
}

// SubscriptionFilter narrows ListSubscriptions. Twitch takes at most one of the fields.
type SubscriptionFilter struct {
	Status, Type, UserID, SubscriptionID string
}

func (f SubscriptionFilter) query() (url.Values, error) {
	q := url.Values{}
	for _, kv := range [][2]string{
		{"status", f.Status}, {"type", f.Type}, {"user_id", f.UserID}, {"subscription_id", f.SubscriptionID},
	} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if len(q) > 1 {
		return nil, errors.New("twitch: list subscriptions: status, type, user id and subscription id filters are mutually exclusive")
	}
	return q, nil
}

// ListSubscriptions returns every subscription matching f, following the cursor through all pages.
func (c *Client) ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]eventsub.Subscription, error) {
	q, err := f.query()
	if err != nil {
		return nil, err
	}
	var subs []eventsub.Subscription
	seen := map[string]bool{}
	for range maxPages {
		var page struct {
			Data       []eventsub.Subscription `json:"data"`
			Pagination pagination              `json:"pagination"`
		}
		err := c.withAppToken(ctx, func(token string) error {
			return c.helix(ctx, http.MethodGet, "/eventsub/subscriptions", q, token, nil, &page)
		})
		if err != nil {
			return nil, err
		}
		subs = append(subs, page.Data...)
		cursor := page.Pagination.Cursor
		if cursor == "" {
			return subs, nil
		}
		if seen[cursor] {
			return nil, errors.New("twitch: GET /eventsub/subscriptions: the pagination cursor repeats")
		}
		seen[cursor] = true
		q.Set("after", cursor)
	}
	return nil, fmt.Errorf("twitch: GET /eventsub/subscriptions: more than %d pages", maxPages)
}

// DeleteSubscription deletes a subscription; one Twitch does not know is ErrNotFound.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	return c.withAppToken(ctx, func(token string) error { return c.DeleteSubscriptionAs(ctx, token, id) })
}

// CreateWebSocketSubscription creates a subscription delivered to an EventSub WebSocket
// session, with the user access token of the streamer the condition names (Twitch refuses an
// app token for this transport). Twitch answers 202 with the subscription enabled at once.
// Callback and Secret of req are ignored.
func (c *Client) CreateWebSocketSubscription(ctx context.Context, userToken, sessionID string, req CreateSubscription) (eventsub.Subscription, error) {
	if req.Type == "" || req.Version == "" || sessionID == "" || len(req.Condition) == 0 {
		return eventsub.Subscription{}, errors.New("twitch: create websocket subscription: type, version, condition and session id are required")
	}
	return c.postSubscription(ctx, userToken, req, eventsub.Transport{Method: "websocket", SessionID: sessionID})
}

// DeleteSubscriptionAs deletes a subscription with a user token: the WebSocket transport's
// subscriptions are the user's, not the app's. One Twitch does not know is ErrNotFound.
func (c *Client) DeleteSubscriptionAs(ctx context.Context, userToken, id string) error {
	if id == "" {
		return errors.New("twitch: delete subscription: id is required")
	}
	return c.helix(ctx, http.MethodDelete, "/eventsub/subscriptions", url.Values{"id": {id}}, userToken, nil, nil)
}

package twitchtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// callbackTimeout bounds one delivery; Twitch wants an answer within a few seconds.
const callbackTimeout = 10 * time.Second

// Delivery is one message the fake POSTed to a callback, and the answer.
type Delivery struct {
	MessageID      string
	MessageType    string // notification, webhook_callback_verification or revocation
	SubscriptionID string
	Retry          int
	Status         int    // 0 when no answer came
	ContentType    string // of the answer
	Body           string // of the answer, at most 64 KiB
	Err            error  // why no answer came
}

// message is what was sent once, kept so that Resend can send it again.
type message struct {
	id, typ string
	sub     Subscription // callback and secret as they were
	body    []byte
	retries int
}

// Deliveries returns every message POSTed to a callback so far, oldest first.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.deliveries...)
}

// AwaitVerification waits until the subscription's callback verification has ended and returns
// the subscription: enabled, or webhook_callback_verification_failed.
func (f *Fake) AwaitVerification(ctx context.Context, subscriptionID string) (Subscription, error) {
	f.mu.Lock()
	s := f.subs[subscriptionID]
	f.mu.Unlock()
	if s == nil {
		return Subscription{}, fmt.Errorf("twitchtest: no subscription %s", subscriptionID)
	}
	select {
	case <-s.verified:
	case <-ctx.Done():
		return Subscription{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return s.clone(), nil
}

// verify sends the challenge, and enables the subscription only if the callback answers 2xx
// with the challenge, exactly, as the whole body.
func (f *Fake) verify(s Subscription, done chan struct{}) {
	defer f.wg.Done()
	defer close(done)
	challenge := randomString(8) + "-" + randomString(8) + "-" + randomString(8)
	body, _ := json.Marshal(eventsub.Message{Subscription: s.wire(), Challenge: challenge})
	m := &message{id: eventsub.NewID(), typ: eventsub.TypeVerification, sub: s, body: body}
	f.mu.Lock()
	f.messages[m.id] = m
	f.mu.Unlock()

	d := f.post(f.ctx, m, 0)
	status := StatusVerificationFailed
	if d.Err == nil && d.Status >= 200 && d.Status < 300 && d.Body == challenge {
		status = StatusEnabled
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The subscription may have been deleted or revoked meanwhile.
	if cur := f.subs[s.ID]; cur != nil && cur.Status == StatusPending {
		cur.Status = status
	}
}

// post signs m afresh (new timestamp, given retry count) and POSTs it to its callback.
func (f *Fake) post(ctx context.Context, m *message, retry int) Delivery {
	out := eventsub.Sign(m.sub.Secret, m.typ, m.id, m.sub.wire(), m.body, time.Now())
	out.Header.Set(eventsub.HeaderMessageRetry, strconv.Itoa(retry))
	d := Delivery{MessageID: m.id, MessageType: m.typ, SubscriptionID: m.sub.ID, Retry: retry}
	req, err := out.Request(m.sub.Callback)
	if err == nil {
		var resp *httpResponse
		resp, err = f.do(req.WithContext(ctx))
		if err == nil {
			d.Status, d.ContentType, d.Body = resp.status, resp.contentType, resp.body
		}
	}
	if err != nil {
		d.Err = fmt.Errorf("twitchtest: deliver %s %s to %s: %w", m.typ, m.id, m.sub.Callback, err)
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, d)
	f.mu.Unlock()
	return d
}

// SendFollow is follower following broadcasterID now: the follower joins the followers list and
// the enabled channel.follow subscription of the broadcaster gets a signed notification. It
// returns the callback's status (0 for a websocket subscription); an error when there is no
// such subscription or no answer.
func (f *Fake) SendFollow(ctx context.Context, broadcasterID string, follower User) (int, error) {
	f.mu.Lock()
	b := f.users[broadcasterID]
	s, ok := f.findLocked(func(s Subscription) bool {
		return s.Type == eventsub.ChannelFollow && s.Version == "2" && s.Status == StatusEnabled &&
			s.Condition["broadcaster_user_id"] == broadcasterID
	})
	if b == nil || !ok {
		f.mu.Unlock()
		return 0, fmt.Errorf("twitchtest: SendFollow: no enabled channel.follow subscription for broadcaster %q", broadcasterID)
	}
	now := time.Now().UTC()
	f.addFollowerLocked(broadcasterID, follower, now)
	u := f.users[follower.ID].User
	f.mu.Unlock()
	return f.notify(ctx, s, struct {
		UserID               string `json:"user_id"`
		UserLogin            string `json:"user_login"`
		UserName             string `json:"user_name"`
		BroadcasterUserID    string `json:"broadcaster_user_id"`
		BroadcasterUserLogin string `json:"broadcaster_user_login"`
		BroadcasterUserName  string `json:"broadcaster_user_name"`
		FollowedAt           string `json:"followed_at"`
	}{u.ID, u.Login, u.DisplayName, b.ID, b.Login, b.DisplayName, now.Format(time.RFC3339Nano)})
}

// SendEvent sends a notification with the given event object (anything that marshals to a JSON
// object) to an enabled subscription of any type.
func (f *Fake) SendEvent(ctx context.Context, subscriptionID string, event any) (int, error) {
	f.mu.Lock()
	s, ok := f.findLocked(func(s Subscription) bool { return s.ID == subscriptionID && s.Status == StatusEnabled })
	f.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("twitchtest: SendEvent: no enabled subscription %s", subscriptionID)
	}
	return f.notify(ctx, s, event)
}

func (f *Fake) findLocked(match func(Subscription) bool) (Subscription, bool) {
	subs := f.sortedSubsLocked(match)
	if len(subs) == 0 {
		return Subscription{}, false
	}
	return subs[0], true
}

func (f *Fake) notify(ctx context.Context, s Subscription, event any) (int, error) {
	raw, err := json.Marshal(event)
	if err != nil {
		return 0, fmt.Errorf("twitchtest: marshal %s event: %w", s.Type, err)
	}
	body, err := json.Marshal(eventsub.Message{Subscription: s.wire(), Event: raw})
	if err != nil {
		return 0, fmt.Errorf("twitchtest: marshal %s notification: %w", s.Type, err)
	}
	return f.send(ctx, &message{id: eventsub.NewID(), typ: eventsub.TypeNotification, sub: s, body: body})
}

func (f *Fake) send(ctx context.Context, m *message) (int, error) {
	f.mu.Lock()
	f.messages[m.id] = m
	f.mu.Unlock()
	if m.sub.webSocket() {
		return f.sendWebSocket(m, 0)
	}
	d := f.post(ctx, m, 0)
	return d.Status, d.Err
}

// Resend POSTs an earlier message again, as Twitch's retries do: same message id and body, a
// fresh timestamp and signature, and the retry counter one higher. A websocket subscription's
// message is sent again on its session, as Twitch's at-least-once delivery may.
func (f *Fake) Resend(ctx context.Context, messageID string) (int, error) {
	f.mu.Lock()
	m := f.messages[messageID]
	var retry int
	exists := false
	if m != nil {
		m.retries++
		retry = m.retries
		_, exists = f.subs[m.sub.ID]
	}
	f.mu.Unlock()
	switch {
	case m == nil:
		return 0, fmt.Errorf("twitchtest: Resend: no message %s", messageID)
	case !exists:
		return 0, fmt.Errorf("twitchtest: Resend: subscription %s was deleted; Twitch would not retry", m.sub.ID)
	}
	if m.sub.webSocket() {
		return f.sendWebSocket(m, retry)
	}
	d := f.post(ctx, m, retry)
	return d.Status, d.Err
}

// Revoke ends a subscription with reason as its status (authorization_revoked, user_removed,
// notification_failures_exceeded, version_removed, moderator_removed) and sends the revocation.
// authorization_revoked means, as at Twitch, that the user whose grant the subscription needs
// took it back: their tokens and grant are gone too, so creating it again is refused (403)
// until they authorize the app again. (SendAuthorizationRevoke plays the whole disconnection.)
func (f *Fake) Revoke(ctx context.Context, subscriptionID, reason string) (int, error) {
	if reason == "" {
		return 0, errors.New("twitchtest: Revoke: empty reason")
	}
	f.mu.Lock()
	s := f.subs[subscriptionID]
	var snapshot Subscription
	if s != nil {
		s.Status = reason
		snapshot = s.clone()
		if st := subTypes[s.Type]; reason == "authorization_revoked" && st.grantor != "" {
			f.revokeUserLocked(s.Condition[st.grantor])
		}
	}
	f.mu.Unlock()
	if s == nil {
		return 0, fmt.Errorf("twitchtest: Revoke: no subscription %s", subscriptionID)
	}
	return f.sendRevocation(ctx, snapshot)
}

func (f *Fake) sendRevocation(ctx context.Context, s Subscription) (int, error) {
	body, err := json.Marshal(eventsub.Message{Subscription: s.wire()})
	if err != nil {
		return 0, fmt.Errorf("twitchtest: marshal revocation: %w", err)
	}
	return f.send(ctx, &message{id: eventsub.NewID(), typ: eventsub.TypeRevocation, sub: s, body: body})
}

// SendAuthorizationRevoke is the user disconnecting the app, as Twitch plays it: the user's tokens
// and grant die, the enabled user.authorization.revoke subscription gets a notification, and each
// live subscription that needed the user's authorization is revoked (authorization_revoked) with
// a revocation message. It returns the status the notification got; errors are joined.
func (f *Fake) SendAuthorizationRevoke(ctx context.Context, userID string) (int, error) {
	f.mu.Lock()
	u := f.users[userID]
	s, ok := f.findLocked(func(s Subscription) bool {
		return s.Type == eventsub.UserAuthorizationRevoke && s.Status == StatusEnabled &&
			s.Condition["client_id"] == f.ClientID
	})
	if u == nil || !ok {
		f.mu.Unlock()
		return 0, fmt.Errorf("twitchtest: SendAuthorizationRevoke: unknown user %q or no enabled user.authorization.revoke subscription", userID)
	}
	f.revokeUserLocked(userID)
	revoked := f.sortedSubsLocked(func(s Subscription) bool {
		st := subTypes[s.Type]
		return s.live() && st.scope != "" && s.Condition[st.grantor] == userID
	})
	for i := range revoked {
		revoked[i].Status = "authorization_revoked"
		f.subs[revoked[i].ID].Status = revoked[i].Status
	}
	f.mu.Unlock()

	status, err := f.notify(ctx, s, map[string]string{
		"client_id": f.ClientID, "user_id": u.ID, "user_login": u.Login, "user_name": u.DisplayName,
	})
	errs := []error{err}
	for _, r := range revoked {
		_, err := f.sendRevocation(ctx, r)
		errs = append(errs, err)
	}
	return status, errors.Join(errs...)
}

type httpResponse struct {
	status      int
	contentType string
	body        string
}

func (f *Fake) do(req *http.Request) (*httpResponse, error) {
	resp, err := f.callback.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	return &httpResponse{resp.StatusCode, resp.Header.Get("Content-Type"), string(body)}, nil
}

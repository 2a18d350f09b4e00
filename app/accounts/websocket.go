package accounts

import (
	"context"
	"errors"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/eventsubws"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

// Sessions connects streamers to EventSub's WebSocket transport: eventsubws.Manager.
type Sessions interface {
	Start(broadcasterID string)
	Stop(broadcasterID string)
}

// UseSessions makes the service subscribe over EventSub WebSocket sessions instead of webhooks.
// It is called once, while wiring, before the service runs: the sessions' client calls back
// into the service, so neither can be built with the other.
func (s *Service) UseSessions(sessions Sessions) {
	s.sessions = sessions
}

// webSocket reports whether subscriptions go over WebSocket sessions.
func (s *Service) webSocket() bool { return s.sessions != nil }

func (s *Service) sessionOf(broadcasterID string) string {
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	return s.sessionIDs[broadcasterID]
}

// SubscribeSession creates the streamer's subscriptions on a new WebSocket session. Those of
// their previous session died with it: their rows go. A type that fails is recorded on its row
// for the panel and does not end the session; a streamer who must sign in again does.
func (s *Service) SubscribeSession(ctx context.Context, broadcasterID, sessionID string) error {
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if errors.Is(err, store.ErrNotFound) {
		return errors.Join(err, eventsubws.ErrGiveUp) // the account is gone
	}
	if err != nil {
		return err
	}
	if a.Status == store.AccountNeedsReconnect {
		return errors.Join(ErrNeedsReconnect, eventsubws.ErrGiveUp)
	}
	s.sessionMu.Lock()
	if s.sessionIDs == nil {
		s.sessionIDs = map[string]string{}
	}
	s.sessionIDs[broadcasterID] = sessionID
	s.sessionMu.Unlock()
	rows, err := s.store.SubscriptionsOf(ctx, broadcasterID)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if err := s.store.DeleteSubscription(ctx, row.ID); err != nil {
			return err
		}
	}
	err = s.EnsureSubscriptions(ctx, broadcasterID)
	if errors.Is(err, ErrNeedsReconnect) {
		return errors.Join(err, eventsubws.ErrGiveUp)
	}
	if err != nil {
		s.log.Warn("eventsub websocket subscriptions incomplete", "broadcaster_id", broadcasterID, "err", err)
	}
	return nil
}

// createOnSession creates w on the streamer's WebSocket session with their user token. With
// no session yet there is nothing to do: the session's welcome creates it.
func (s *Service) createOnSession(ctx context.Context, broadcasterID string, w wanted) (eventsub.Subscription, bool, error) {
	session := s.sessionOf(broadcasterID)
	if session == "" || broadcasterID == "" {
		return eventsub.Subscription{}, false, nil
	}
	var sub eventsub.Subscription
	err := s.withUserToken(ctx, broadcasterID, func(token string) error {
		var err error
		sub, err = s.twitch.CreateWebSocketSubscription(ctx, token, session,
			twitch.CreateSubscription{Type: w.Type, Version: w.Version, Condition: w.Condition})
		return err
	})
	return sub, true, err
}

// deleteAtTwitch deletes a subscription at Twitch: a WebSocket one with its streamer's token.
func (s *Service) deleteAtTwitch(ctx context.Context, row store.Subscription) error {
	if !s.webSocket() || row.BroadcasterID == "" {
		return s.twitch.DeleteSubscription(ctx, row.ID)
	}
	return s.withUserToken(ctx, row.BroadcasterID, func(token string) error {
		return s.twitch.DeleteSubscriptionAs(ctx, token, row.ID)
	})
}

// RecordRevocation records that Twitch ended one of our subscriptions, and why, whichever
// transport said so. Every subscription the service makes has a row. A revocation without one
// is for a subscription already forgotten: after user.authorization.revoke, Twitch revokes the
// streamer's subscriptions that the clean-up has just deleted. Recording it would leave a stale
// row that the streamer's panel shows if they come back. It is ignored, and reports false.
func (s *Service) RecordRevocation(ctx context.Context, sub eventsub.Subscription) (bool, error) {
	row, err := s.store.SubscriptionByID(ctx, sub.ID)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("revocation of an unknown subscription ignored", "subscription_id", sub.ID, "type", sub.Type, "reason", sub.Status)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	row.Status, row.UpdatedAt = sub.Status, s.now().UTC()
	if err := s.store.SaveSubscription(ctx, row); err != nil {
		return false, err
	}
	s.log.Warn("eventsub subscription revoked", "subscription_id", sub.ID, "type", sub.Type, "reason", sub.Status,
		"broadcaster_id", row.BroadcasterID)
	return true, nil
}

package accounts

import (
	"context"
	"errors"

	"github.com/twitch-event-viewer/tev/app/twitch"
)

// Delete removes a streamer who asked to leave: their subscriptions are deleted at Twitch, their
// tokens revoked, and their events, sessions, subscriptions and settings removed. Twitch failures
// are logged and do not keep the data: reconciliation deletes subscriptions left without an
// account, and unrevoked tokens die with their expiry.
func (s *Service) Delete(ctx context.Context, broadcasterID string) error {
	s.cleanUpAtTwitch(ctx, broadcasterID, true)
	if err := s.store.DeleteAccount(ctx, broadcasterID); err != nil {
		return err
	}
	s.log.Info("account deleted", "broadcaster_id", broadcasterID)
	return nil
}

// Revoked runs when Twitch reports that the streamer disconnected the app
// (user.authorization.revoke): the same clean-up as Delete, minus revoking tokens that are dead.
func (s *Service) Revoked(ctx context.Context, broadcasterID string) error {
	s.cleanUpAtTwitch(ctx, broadcasterID, false)
	if err := s.store.DeleteAccount(ctx, broadcasterID); err != nil {
		return err
	}
	s.log.Info("account removed: the streamer revoked the app's access", "broadcaster_id", broadcasterID)
	return nil
}

func (s *Service) cleanUpAtTwitch(ctx context.Context, broadcasterID string, revokeTokens bool) {
	if s.webSocket() {
		// Closing the session disables its subscriptions at Twitch.
		s.sessions.Stop(broadcasterID)
		s.sessionMu.Lock()
		delete(s.sessionIDs, broadcasterID)
		s.sessionMu.Unlock()
		s.revokeTokens(ctx, broadcasterID, revokeTokens)
		return
	}
	rows, err := s.store.SubscriptionsOf(ctx, broadcasterID)
	if err != nil {
		s.log.Warn("list subscriptions to delete", "broadcaster_id", broadcasterID, "err", err)
	}
	for _, row := range rows {
		if row.Status == statusError {
			continue
		}
		if err := s.twitch.DeleteSubscription(ctx, row.ID); err != nil && !errors.Is(err, twitch.ErrNotFound) {
			s.log.Warn("delete subscription at twitch", "subscription_id", row.ID, "err", err)
		}
	}
	s.revokeTokens(ctx, broadcasterID, revokeTokens)
}

func (s *Service) revokeTokens(ctx context.Context, broadcasterID string, revoke bool) {
	if !revoke {
		return
	}
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if err != nil {
		return
	}
	for _, t := range []struct{ sealed, ad string }{{a.AccessToken, adAccess(broadcasterID)}, {a.RefreshToken, adRefresh(broadcasterID)}} {
		token, err := s.box.Open(t.sealed, t.ad)
		if err != nil || token == "" {
			continue
		}
		if err := s.twitch.Revoke(ctx, token); err != nil {
			s.log.Warn("revoke token at twitch", "broadcaster_id", broadcasterID, "err", err)
		}
	}
}

package accounts

import (
	"context"
	"encoding/json"
	"maps"
)

// EnsureAppSubscription makes sure the app's own user.authorization.revoke subscription exists,
// so that a streamer who disconnects the app is signed out at once, even right after their first
// sign-in. It runs at start-up and at every sign-in; the reconcile retries it when it fails.
// A live row of it here means it exists: nothing is sent to Twitch. Otherwise it is created, or
// adopted when Twitch answers that it exists already (409).
func (s *Service) EnsureAppSubscription(ctx context.Context) error {
	w := s.appWanted()
	rows, err := s.store.SubscriptionsOf(ctx, "")
	if err != nil {
		return err
	}
	for _, row := range rows {
		var cond map[string]string
		if row.Type == w.Type && row.Version == w.Version && live(row.Status) &&
			json.Unmarshal([]byte(row.Condition), &cond) == nil && maps.Equal(cond, w.Condition) {
			return nil
		}
	}
	return s.ensure(ctx, "", w)
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Account statuses.
const (
	AccountOK             = "ok"
	AccountNeedsReconnect = "needs_reconnect" // tokens are dead: the streamer must sign in again
)

// Account is a streamer who signed in with Twitch. AccessToken and RefreshToken hold sealed
// values (package tokenbox); the store never sees a token in the clear.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	BroadcasterID   string     `bun:"broadcaster_id,pk"`
	Login           string     `bun:"login,notnull"`
	DisplayName     string     `bun:"display_name,notnull"`
	ProfileImageURL string     `bun:"profile_image_url,notnull"`
	AccessToken     string     `bun:"access_token,notnull"`
	RefreshToken    string     `bun:"refresh_token,notnull"`
	TokenExpiresAt  *time.Time `bun:"token_expires_at"`
	Scopes          string     `bun:"scopes,notnull"` // space-separated, as OAuth writes them
	Status          string     `bun:"status,notnull"`
	StatusReason    string     `bun:"status_reason,notnull"`
	HistoryCursor   string     `bun:"history_cursor,notnull"` // Helix cursor of the next older follower page
	HistoryComplete bool       `bun:"history_complete,notnull"`
	ValidatedAt     *time.Time `bun:"validated_at"`
	CreatedAt       time.Time  `bun:"created_at,notnull"`
	UpdatedAt       time.Time  `bun:"updated_at,notnull"`
}

// SaveAccount inserts the account, or on sign-in again updates its profile, tokens and status
// (keeping its history progress and creation time).
func (s *Store) SaveAccount(ctx context.Context, a *Account) error {
	_, err := s.db.NewInsert().Model(a).
		On("CONFLICT (broadcaster_id) DO UPDATE").
		Set("login = EXCLUDED.login, display_name = EXCLUDED.display_name, profile_image_url = EXCLUDED.profile_image_url").
		Set("access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token").
		Set("token_expires_at = EXCLUDED.token_expires_at, scopes = EXCLUDED.scopes").
		Set("status = EXCLUDED.status, status_reason = EXCLUDED.status_reason").
		Set("validated_at = EXCLUDED.validated_at, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save account %s: %w", a.BroadcasterID, err)
	}
	return nil
}

// AccountByID finds an account, or ErrNotFound.
func (s *Store) AccountByID(ctx context.Context, broadcasterID string) (*Account, error) {
	a := new(Account)
	if err := s.db.NewSelect().Model(a).Where("broadcaster_id = ?", broadcasterID).Scan(ctx); err != nil {
		return nil, notFound(err, "store: account %s", broadcasterID)
	}
	return a, nil
}

// ListAccounts returns every account, oldest first.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	var as []Account
	if err := s.db.NewSelect().Model(&as).OrderExpr("created_at ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return as, nil
}

// SaveTokens stores freshly refreshed (sealed) tokens and marks the account healthy.
func (s *Store) SaveTokens(ctx context.Context, broadcasterID, access, refresh string, expiresAt *time.Time, scopes string, now time.Time) error {
	_, err := s.db.NewUpdate().Model((*Account)(nil)).
		Set("access_token = ?, refresh_token = ?, token_expires_at = ?, scopes = ?", access, refresh, expiresAt, scopes).
		Set("status = ?, status_reason = '', updated_at = ?", AccountOK, now).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save tokens of %s: %w", broadcasterID, err)
	}
	return nil
}

// SetAccountStatus records the account's health, e.g. AccountNeedsReconnect and why.
func (s *Store) SetAccountStatus(ctx context.Context, broadcasterID, status, reason string, now time.Time) error {
	_, err := s.db.NewUpdate().Model((*Account)(nil)).
		Set("status = ?, status_reason = ?, updated_at = ?", status, reason, now).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set status of %s: %w", broadcasterID, err)
	}
	return nil
}

// MarkValidated records a successful token validation.
func (s *Store) MarkValidated(ctx context.Context, broadcasterID string, now time.Time) error {
	_, err := s.db.NewUpdate().Model((*Account)(nil)).Set("validated_at = ?", now).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: mark %s validated: %w", broadcasterID, err)
	}
	return nil
}

// SetHistoryProgress records how far back the follower history has been fetched.
func (s *Store) SetHistoryProgress(ctx context.Context, broadcasterID, cursor string, complete bool) error {
	_, err := s.db.NewUpdate().Model((*Account)(nil)).
		Set("history_cursor = ?, history_complete = ?", cursor, complete).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: history progress of %s: %w", broadcasterID, err)
	}
	return nil
}

// DeleteAccount removes a streamer and everything kept for them: events, sessions, subscription
// rows, event type choices, the overlay and the account itself, in one transaction.
func (s *Store) DeleteAccount(ctx context.Context, broadcasterID string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, model := range []any{(*Event)(nil), (*Session)(nil), (*Subscription)(nil), (*EventTypeChoice)(nil), (*AlertSetting)(nil), (*Media)(nil), (*QueueState)(nil), (*Overlay)(nil), (*Account)(nil)} {
			if _, err := tx.NewDelete().Model(model).Where("broadcaster_id = ?", broadcasterID).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete account %s: %w", broadcasterID, err)
	}
	return nil
}

// ResealTokens replaces the sealed tokens with the same tokens sealed under the current key.
func (s *Store) ResealTokens(ctx context.Context, broadcasterID, access, refresh string) error {
	_, err := s.db.NewUpdate().Model((*Account)(nil)).Set("access_token = ?, refresh_token = ?", access, refresh).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: reseal tokens of %s: %w", broadcasterID, err)
	}
	return nil
}

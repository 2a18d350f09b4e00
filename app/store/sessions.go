package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Session is a signed-in browser. Only a hash of the cookie's token is stored, so a database
// leak does not hand out sessions.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	TokenHash     string    `bun:"token_hash,pk"`
	BroadcasterID string    `bun:"broadcaster_id,notnull"`
	Login         string    `bun:"login,notnull"`
	DisplayName   string    `bun:"display_name,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	if _, err := s.db.NewInsert().Model(sess).Exec(ctx); err != nil {
		return fmt.Errorf("store: create session of %s: %w", sess.BroadcasterID, err)
	}
	return nil
}

// SessionByTokenHash returns the unexpired session with that token hash, or ErrNotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string, now time.Time) (*Session, error) {
	sess := new(Session)
	err := s.db.NewSelect().Model(sess).Where("token_hash = ?", hash).Where("expires_at > ?", now).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "store: session")
	}
	return sess, nil
}

// DeleteSession removes a session (logout); deleting a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.NewDelete().Model((*Session)(nil)).Where("token_hash = ?", hash).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

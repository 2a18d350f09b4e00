package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Overlay is a streamer's OBS overlay: its secret URL's token, by hash.
type Overlay struct {
	bun.BaseModel `bun:"table:overlays"`

	BroadcasterID string    `bun:"broadcaster_id,pk"`
	TokenHash     string    `bun:"token_hash,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	SafeMode      bool      `bun:"safe_mode,notnull"` // follow alerts off
}

// OverlayByTokenHash finds the overlay whose token has this hash (ErrNotFound: none, or rotated).
func (s *Store) OverlayByTokenHash(ctx context.Context, tokenHash string) (*Overlay, error) {
	o := new(Overlay)
	if err := s.db.NewSelect().Model(o).Where("token_hash = ?", tokenHash).Scan(ctx); err != nil {
		return nil, notFound(err, "store: overlay by token")
	}
	return o, nil
}

// OverlayOf finds a streamer's overlay (ErrNotFound: none yet).
func (s *Store) OverlayOf(ctx context.Context, broadcasterID string) (*Overlay, error) {
	o := new(Overlay)
	if err := s.db.NewSelect().Model(o).Where("broadcaster_id = ?", broadcasterID).Scan(ctx); err != nil {
		return nil, notFound(err, "store: overlay of %s", broadcasterID)
	}
	return o, nil
}

// SaveOverlay creates the streamer's overlay or replaces its token: the old token stops
// matching at once. Safe mode stays as it was.
func (s *Store) SaveOverlay(ctx context.Context, o *Overlay) error {
	o.CreatedAt = o.CreatedAt.UTC()
	_, err := s.db.NewInsert().Model(o).On("CONFLICT (broadcaster_id) DO UPDATE").
		Set("token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save overlay of %s: %w", o.BroadcasterID, err)
	}
	return nil
}

// NewestEventID is the highest event id stored for a broadcaster (0: none): where a fresh
// overlay starts, so it plays no backlog.
func (s *Store) NewestEventID(ctx context.Context, broadcasterID string) (int64, error) {
	evs, err := s.ListEvents(ctx, broadcasterID, 0, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].ID, nil
}

// SetOverlaySafeMode turns a streamer's follow alerts off (on) or back on (off).
func (s *Store) SetOverlaySafeMode(ctx context.Context, broadcasterID string, on bool) error {
	_, err := s.db.NewUpdate().Model((*Overlay)(nil)).Set("safe_mode = ?", on).Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: overlay safe mode of %s: %w", broadcasterID, err)
	}
	return nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Presence is one instance's count of a broadcaster's open streams of a kind, as of UpdatedAt.
type Presence struct {
	bun.BaseModel `bun:"table:stream_presence"`

	Instance      string    `bun:"instance,pk"`
	BroadcasterID string    `bun:"broadcaster_id,pk"`
	Kind          string    `bun:"kind,pk"`
	Viewers       int       `bun:"viewers,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// SetPresence records that instance has n streams of kind open for broadcaster; n == 0 deletes
// the row.
func (s *Store) SetPresence(ctx context.Context, instance, broadcaster, kind string, n int, now time.Time) error {
	var err error
	if n <= 0 {
		_, err = s.db.NewDelete().Model((*Presence)(nil)).Where("instance = ?", instance).
			Where("broadcaster_id = ?", broadcaster).Where("kind = ?", kind).Exec(ctx)
	} else {
		row := &Presence{Instance: instance, BroadcasterID: broadcaster, Kind: kind, Viewers: n, UpdatedAt: now.UTC().Truncate(time.Microsecond)}
		_, err = s.db.NewInsert().Model(row).On("CONFLICT (instance, broadcaster_id, kind) DO UPDATE").
			Set("viewers = EXCLUDED.viewers, updated_at = EXCLUDED.updated_at").Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: set presence %s/%s/%s: %w", instance, broadcaster, kind, err)
	}
	return nil
}

// TouchPresence marks all of instance's rows as current at now, and tells how many there are.
func (s *Store) TouchPresence(ctx context.Context, instance string, now time.Time) (int64, error) {
	res, err := s.db.NewUpdate().Model((*Presence)(nil)).Set("updated_at = ?", now.UTC().Truncate(time.Microsecond)).
		Where("instance = ?", instance).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: touch presence of %s: %w", instance, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeletePresence removes all of instance's rows (it is stopping).
func (s *Store) DeletePresence(ctx context.Context, instance string) error {
	if _, err := s.db.NewDelete().Model((*Presence)(nil)).Where("instance = ?", instance).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete presence of %s: %w", instance, err)
	}
	return nil
}

// CountPresence sums the streams of kind open for broadcaster on every instance but
// exceptInstance, counting only rows updated at or after since.
func (s *Store) CountPresence(ctx context.Context, broadcaster, kind, exceptInstance string, since time.Time) (int, error) {
	var n int
	err := s.db.NewSelect().Model((*Presence)(nil)).ColumnExpr("COALESCE(SUM(viewers), 0)").
		Where("broadcaster_id = ?", broadcaster).Where("kind = ?", kind).Where("instance <> ?", exceptInstance).
		Where("updated_at >= ?", since.UTC().Truncate(time.Microsecond)).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("store: count presence of %s/%s: %w", broadcaster, kind, err)
	}
	return n, nil
}

// DeleteStalePresence removes the rows of every instance not updated since before: instances
// that died without deleting their own.
func (s *Store) DeleteStalePresence(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*Presence)(nil)).Where("updated_at < ?", before.UTC().Truncate(time.Microsecond)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete stale presence: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

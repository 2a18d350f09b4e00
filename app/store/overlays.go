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
	// SafeMode is where safe mode was kept before it became the follow alert's off switch; any
	// change of that switch clears it (see SetAlertEnabled), and readers treat it as follows off.
	SafeMode  bool   `bun:"safe_mode,notnull"`
	CustomCSS string `bun:"custom_css,notnull"`
	QueueRules
}

// AlertSetting is how one event type plays on a streamer's overlay.
type AlertSetting struct {
	bun.BaseModel `bun:"table:overlay_alerts"`

	BroadcasterID   string `bun:"broadcaster_id,pk"`
	Type            string `bun:"type,pk"`
	Enabled         bool   `bun:"enabled,notnull"`
	Template        string `bun:"template,notnull"`         // "" the dashboard's wording
	DurationSeconds int    `bun:"duration_seconds,notnull"` // 0 the default
	Style           string `bun:"style,notnull"`            // JSON (overlay.Style); "" the defaults
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
// matching at once. Its settings stay as they were.
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

// SetAlertEnabled turns one type's alerts on or off, keeping its template and duration. Safe
// mode is the follow alert's off switch: the overlay's old safe-mode flag is cleared with it.
func (s *Store) SetAlertEnabled(ctx context.Context, broadcasterID, typ string, on bool) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		set := &AlertSetting{BroadcasterID: broadcasterID, Type: typ, Enabled: on}
		if _, err := tx.NewInsert().Model(set).On("CONFLICT (broadcaster_id, type) DO UPDATE").Set("enabled = EXCLUDED.enabled").Exec(ctx); err != nil {
			return err
		}
		return clearSafeMode(ctx, tx, broadcasterID)
	})
	if err != nil {
		return fmt.Errorf("store: turn %s alerts of %s on=%v: %w", typ, broadcasterID, on, err)
	}
	return nil
}

func clearSafeMode(ctx context.Context, tx bun.Tx, broadcasterID string) error {
	_, err := tx.NewUpdate().Model((*Overlay)(nil)).Set("safe_mode = ?", false).Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	return err
}

// AlertSettings are a streamer's alert settings by type; a type without a row has none.
func (s *Store) AlertSettings(ctx context.Context, broadcasterID string) (map[string]AlertSetting, error) {
	var rows []AlertSetting
	if err := s.db.NewSelect().Model(&rows).Where("broadcaster_id = ?", broadcasterID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: alert settings of %s: %w", broadcasterID, err)
	}
	m := make(map[string]AlertSetting, len(rows))
	for _, r := range rows {
		m[r.Type] = r
	}
	return m, nil
}

// SaveAlertSettings replaces a streamer's alert settings and overlay CSS, in one transaction.
func (s *Store) SaveAlertSettings(ctx context.Context, broadcasterID string, settings []AlertSetting, css string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*AlertSetting)(nil)).Where("broadcaster_id = ?", broadcasterID).Exec(ctx); err != nil {
			return err
		}
		if len(settings) > 0 {
			for i := range settings {
				settings[i].BroadcasterID = broadcasterID
			}
			if _, err := tx.NewInsert().Model(&settings).Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model((*Overlay)(nil)).Set("custom_css = ?", css).Where("broadcaster_id = ?", broadcasterID).Exec(ctx); err != nil {
			return err
		}
		return clearSafeMode(ctx, tx, broadcasterID) // the settings' follow row says it now
	})
	if err != nil {
		return fmt.Errorf("store: save alert settings of %s: %w", broadcasterID, err)
	}
	return nil
}

// FollowsBetween returns the ids and times of a broadcaster's follows that happened from from to
// to, oldest first (at most 10,000): what the dashboard needs to tell follow bursts.
func (s *Store) FollowsBetween(ctx context.Context, broadcasterID string, from, to time.Time) ([]Event, error) {
	var evs []Event
	err := s.db.NewSelect().Model(&evs).Column("id", "occurred_at").
		Where("broadcaster_id = ?", broadcasterID).Where("type = ?", "channel.follow").
		Where("occurred_at >= ?", from.UTC()).Where("occurred_at <= ?", to.UTC()).
		OrderExpr("occurred_at ASC, id ASC").Limit(10000).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: follows of %s between %s and %s: %w", broadcasterID, from, to, err)
	}
	return evs, nil
}

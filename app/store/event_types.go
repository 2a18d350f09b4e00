package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// EventTypeChoice is a streamer's choice to receive one event type, or not.
type EventTypeChoice struct {
	bun.BaseModel `bun:"table:event_types"`

	BroadcasterID string    `bun:"broadcaster_id,pk"`
	Type          string    `bun:"type,pk"`
	Enabled       bool      `bun:"enabled,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// EventTypeChoices returns the streamer's choices, type → enabled. A type the streamer never
// chose is absent: its default applies.
func (s *Store) EventTypeChoices(ctx context.Context, broadcasterID string) (map[string]bool, error) {
	var rows []EventTypeChoice
	if err := s.db.NewSelect().Model(&rows).Where("broadcaster_id = ?", broadcasterID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: event types of %s: %w", broadcasterID, err)
	}
	out := make(map[string]bool, len(rows))
	for _, r := range rows {
		out[r.Type] = r.Enabled
	}
	return out, nil
}

// SaveEventTypeChoices records the streamer's choices (type → enabled), in one transaction.
func (s *Store) SaveEventTypeChoices(ctx context.Context, broadcasterID string, choices map[string]bool, now time.Time) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for typ, on := range choices {
			row := &EventTypeChoice{BroadcasterID: broadcasterID, Type: typ, Enabled: on, UpdatedAt: now.UTC()}
			_, err := tx.NewInsert().Model(row).
				On("CONFLICT (broadcaster_id, type) DO UPDATE").
				Set("enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at").Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save event types of %s: %w", broadcasterID, err)
	}
	return nil
}

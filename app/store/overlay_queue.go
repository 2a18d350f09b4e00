package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// QueueRules are an overlay's rules for heavy traffic; the zero value is every rule off.
type QueueRules struct {
	Max         int  `bun:"queue_max,notnull"`          // at most this many alerts wait (0: no limit); the oldest waiting is dropped
	BusySeconds int  `bun:"queue_busy_seconds,notnull"` // while others wait, an alert shows at most this long (0: its own duration)
	Combine     bool `bun:"queue_combine,notnull"`      // waiting alerts of one type without a message play as one
}

// QueueState is what one open overlay page last reported about its alert queue.
type QueueState struct {
	bun.BaseModel `bun:"table:overlay_queue_state"`

	BroadcasterID string    `bun:"broadcaster_id,pk"`
	PageID        string    `bun:"page_id,pk"`
	Paused        bool      `bun:"paused,notnull"`
	Waiting       int       `bun:"waiting,notnull"`
	BehindMs      int64     `bun:"behind_ms,notnull"`
	Dropped       int       `bun:"dropped,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// SaveQueueRules replaces a streamer's queue rules.
func (s *Store) SaveQueueRules(ctx context.Context, broadcasterID string, r QueueRules) error {
	_, err := s.db.NewUpdate().Model((*Overlay)(nil)).
		Set("queue_max = ?, queue_busy_seconds = ?, queue_combine = ?", r.Max, r.BusySeconds, r.Combine).
		Where("broadcaster_id = ?", broadcasterID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save queue rules of %s: %w", broadcasterID, err)
	}
	return nil
}

// SetQueueState records a page's report, and deletes the broadcaster's reports older than stale
// (pages that closed): a broadcaster keeps a handful of rows at most.
func (s *Store) SetQueueState(ctx context.Context, st QueueState, stale time.Time) error {
	st.UpdatedAt = st.UpdatedAt.UTC().Truncate(time.Microsecond)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&st).On("CONFLICT (broadcaster_id, page_id) DO UPDATE").
			Set("paused = EXCLUDED.paused, waiting = EXCLUDED.waiting, behind_ms = EXCLUDED.behind_ms, dropped = EXCLUDED.dropped, updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return err
		}
		_, err = tx.NewDelete().Model((*QueueState)(nil)).Where("broadcaster_id = ?", st.BroadcasterID).
			Where("updated_at < ?", stale.UTC().Truncate(time.Microsecond)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set queue state of %s/%s: %w", st.BroadcasterID, st.PageID, err)
	}
	return nil
}

// QueueStates are the broadcaster's page reports updated at or after since, the furthest behind first.
func (s *Store) QueueStates(ctx context.Context, broadcasterID string, since time.Time) ([]QueueState, error) {
	var rows []QueueState
	err := s.db.NewSelect().Model(&rows).Where("broadcaster_id = ?", broadcasterID).
		Where("updated_at >= ?", since.UTC().Truncate(time.Microsecond)).
		OrderExpr("behind_ms DESC, waiting DESC, page_id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: queue states of %s: %w", broadcasterID, err)
	}
	return rows, nil
}

package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// Event is one EventSub notification as received: the log the dashboard, the stream and export read.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID             int64     `bun:"id,pk,autoincrement"`
	MessageID      string    `bun:"message_id,notnull"`
	SubscriptionID string    `bun:"subscription_id,notnull"`
	Type           string    `bun:"type,notnull"`
	Version        string    `bun:"version,notnull"`
	BroadcasterID  string    `bun:"broadcaster_id,notnull"`
	UserID         string    `bun:"user_id,notnull"`
	UserLogin      string    `bun:"user_login,notnull"`
	UserName       string    `bun:"user_name,notnull"`
	OccurredAt     time.Time `bun:"occurred_at,notnull"`
	ReceivedAt     time.Time `bun:"received_at,notnull"`
	Payload        string    `bun:"payload,notnull"` // the raw "event" JSON object
	Source         string    `bun:"source,notnull"`  // SourceWebhook or SourceBackfill
	DedupeKey      *string   `bun:"dedupe_key"`      // same key, same real-world event (see FollowKey)
	Hidden         bool      `bun:"hidden,notnull"`  // kept and exported, but not a row of its own (a gift's subs)
}

// Where events come from.
const (
	SourceWebhook  = "webhook"
	SourceBackfill = "backfill"
)

// FollowKey identifies a follow whichever road it took: EventSub gives followed_at with
// nanoseconds, Helix's follower list to the second, so the key keeps whole seconds.
func FollowKey(userID string, followedAt time.Time) *string {
	k := "follow:" + userID + ":" + strconv.FormatInt(followedAt.Unix(), 10)
	return &k
}

// InsertEvent stores ev and sets ev.ID. It reports false, and stores nothing, when an event with
// the same Twitch message id is already stored (Twitch re-sends with the same id), or one with
// the same dedupe key for that broadcaster. With the outbox enabled, a new event is queued for
// Pusher in the same transaction.
//
// Within one broadcaster, ids are committed in increasing order: viewers resume "after id N", so a
// smaller id must never become visible after a larger one. SQLite gets this from its single writer;
// on PostgreSQL a transaction-scoped advisory lock per broadcaster is taken before the id is drawn.
func (s *Store) InsertEvent(ctx context.Context, ev *Event) (bool, error) {
	var inserted bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", ev.BroadcasterID); err != nil {
				return err
			}
		}
		if ev.Source == "" {
			ev.Source = SourceWebhook
		}
		// One precision and zone on both databases, so timeline cursors compare exactly.
		ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Microsecond)
		ev.ReceivedAt = ev.ReceivedAt.UTC().Truncate(time.Microsecond)
		// No conflict target: either unique key (message id, or broadcaster + dedupe key) skips.
		res, err := tx.NewInsert().Model(ev).On("CONFLICT DO NOTHING").Returning("id").Exec(ctx)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		inserted = n == 1
		if inserted && s.outboxWake != nil {
			return s.queueOutbox(ctx, tx, ev)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: insert event %s: %w", ev.MessageID, err)
	}
	if inserted && s.outboxWake != nil {
		s.ringOutbox()
	}
	return inserted, nil
}

// ListEvents returns up to limit events of a broadcaster, newest first, with ids below before
// (all events when before is 0): keyset pagination for the dashboard and export.
func (s *Store) ListEvents(ctx context.Context, broadcasterID string, before int64, limit int) ([]Event, error) {
	var evs []Event
	q := s.db.NewSelect().Model(&evs).Where("broadcaster_id = ?", broadcasterID).OrderExpr("id DESC").Limit(int64(limit))
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list events of %s before %d: %w", broadcasterID, before, err)
	}
	return evs, nil
}

// EventsAfter returns up to limit events of a broadcaster with ids above after, oldest first:
// what a reconnecting viewer missed.
func (s *Store) EventsAfter(ctx context.Context, broadcasterID string, after int64, limit int) ([]Event, error) {
	var evs []Event
	err := s.db.NewSelect().Model(&evs).
		Where("broadcaster_id = ?", broadcasterID).Where("id > ?", after).
		OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list events of %s after %d: %w", broadcasterID, after, err)
	}
	return evs, nil
}

// EventByMessageID finds an event by its Twitch message id.
func (s *Store) EventByMessageID(ctx context.Context, messageID string) (*Event, error) {
	ev := new(Event)
	err := s.db.NewSelect().Model(ev).Where("message_id = ?", messageID).Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "store: event %s", messageID)
	}
	return ev, nil
}

// CountEvents counts a broadcaster's stored events.
func (s *Store) CountEvents(ctx context.Context, broadcasterID string) (int, error) {
	n, err := s.db.NewSelect().Model((*Event)(nil)).Where("broadcaster_id = ?", broadcasterID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count events of %s: %w", broadcasterID, err)
	}
	return int(n), nil
}

// LastEventAt is when the newest event of a type reached us for a broadcaster (nil: never).
func (s *Store) LastEventAt(ctx context.Context, broadcasterID, eventType string) (*time.Time, error) {
	var evs []Event
	err := s.db.NewSelect().Model(&evs).Column("received_at").
		Where("broadcaster_id = ?", broadcasterID).Where("type = ?", eventType).Where("source = ?", SourceWebhook).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: last %s event of %s: %w", eventType, broadcasterID, err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	return &evs[0].ReceivedAt, nil
}

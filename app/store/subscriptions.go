package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Subscription is the last known state of one EventSub subscription.
type Subscription struct {
	bun.BaseModel `bun:"table:eventsub_subscriptions"`

	ID            string     `bun:"id,pk"`
	Type          string     `bun:"type,notnull"`
	Version       string     `bun:"version,notnull"`
	BroadcasterID string     `bun:"broadcaster_id,notnull"`
	Condition     string     `bun:"condition,notnull"` // JSON object
	Status        string     `bun:"status,notnull"`    // Twitch's status: enabled, or the revocation reason
	LastError     string     `bun:"last_error,notnull"`
	CreatedAt     *time.Time `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at,notnull"`
}

// SaveSubscription inserts or replaces the subscription's row.
func (s *Store) SaveSubscription(ctx context.Context, sub *Subscription) error {
	_, err := s.db.NewInsert().Model(sub).
		On("CONFLICT (id) DO UPDATE").
		Set("type = EXCLUDED.type, version = EXCLUDED.version, broadcaster_id = EXCLUDED.broadcaster_id").
		Set("condition = EXCLUDED.condition, updated_at = EXCLUDED.updated_at").
		// A challenge answered before CreateSubscription returned enables the row first; the late
		// "pending" from the create response must not undo that.
		Set("status = CASE WHEN ?TableAlias.status = 'enabled' AND EXCLUDED.status = 'webhook_callback_verification_pending' THEN ?TableAlias.status ELSE EXCLUDED.status END").
		Set("last_error = EXCLUDED.last_error, created_at = COALESCE(EXCLUDED.created_at, ?TableAlias.created_at)").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save subscription %s: %w", sub.ID, err)
	}
	return nil
}

// SubscriptionByID finds a subscription by its Twitch id.
func (s *Store) SubscriptionByID(ctx context.Context, id string) (*Subscription, error) {
	sub := new(Subscription)
	if err := s.db.NewSelect().Model(sub).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "store: subscription %s", id)
	}
	return sub, nil
}

// notFound wraps err with context, turning "no rows" into ErrNotFound.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// SubscriptionsOf lists a broadcaster's subscriptions ("" lists app-level ones), by type.
func (s *Store) SubscriptionsOf(ctx context.Context, broadcasterID string) ([]Subscription, error) {
	var subs []Subscription
	err := s.db.NewSelect().Model(&subs).Where("broadcaster_id = ?", broadcasterID).OrderExpr("type ASC, updated_at DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions of %s: %w", broadcasterID, err)
	}
	return subs, nil
}

// AllSubscriptions lists every known subscription.
func (s *Store) AllSubscriptions(ctx context.Context) ([]Subscription, error) {
	var subs []Subscription
	if err := s.db.NewSelect().Model(&subs).OrderExpr("broadcaster_id, type").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list subscriptions: %w", err)
	}
	return subs, nil
}

// DeleteSubscription forgets a subscription; a missing one is not an error.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	if _, err := s.db.NewDelete().Model((*Subscription)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete subscription %s: %w", id, err)
	}
	return nil
}

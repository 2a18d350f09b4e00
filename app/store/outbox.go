package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// OutboxEntry is a stored event waiting to be published to Pusher.
type OutboxEntry struct {
	bun.BaseModel `bun:"table:pusher_outbox"`

	EventID       int64     `bun:"event_id,pk"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	NextAttemptAt time.Time `bun:"next_attempt_at,notnull"` // when a publisher may take it (again)
	Attempts      int       `bun:"attempts,notnull"`        // failed attempts so far
	LastError     string    `bun:"last_error,notnull"`
}

// Outboxed is a claimed outbox entry with its event.
type Outboxed struct {
	OutboxEntry
	Event Event
}

// OutboxStats is how far publishing lags behind for one broadcaster.
type OutboxStats struct {
	Pending   int
	Oldest    *OutboxEntry // the oldest pending entry, nil when none
	LastError string       // the newest failure among pending entries, "" when none
}

// EnableOutbox makes InsertEvent also queue every new event for Pusher, in the same transaction.
// Call it before the store is used concurrently; calling it again changes nothing.
func (s *Store) EnableOutbox() {
	if s.outboxWake == nil {
		s.outboxWake = make(chan struct{}, 1)
	}
}

// OutboxWake receives after an event was queued; nil (never ready) when the outbox is off.
func (s *Store) OutboxWake() <-chan struct{} { return s.outboxWake }

// ringOutbox tells a waiting publisher that there is work, without ever blocking.
func (s *Store) ringOutbox() {
	select {
	case s.outboxWake <- struct{}{}:
	default:
	}
}

// ClaimOutbox takes up to limit due entries, oldest event first, and holds them for lease: other
// publishers skip them until then (on PostgreSQL, FOR UPDATE SKIP LOCKED keeps two publishers
// from claiming the same row at once; SQLite has a single writer). The caller deletes them with
// DoneOutbox after publishing, or backs them off with FailOutbox; a publisher that dies holding
// them lets the lease run out and another takes them.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Outboxed, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var out []Outboxed
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var entries []OutboxEntry
		q := tx.NewSelect().Model(&entries).Where("next_attempt_at <= ?", now).OrderExpr("event_id ASC").Limit(int64(limit))
		if s.dialect == Postgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx); err != nil || len(entries) == 0 {
			return err
		}
		ids := make([]int64, len(entries))
		for i, e := range entries {
			ids[i] = e.EventID
		}
		if _, err := tx.NewUpdate().Model((*OutboxEntry)(nil)).Set("next_attempt_at = ?", now.Add(lease)).
			Where("event_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
			return err
		}
		var evs []Event
		if err := tx.NewSelect().Model(&evs).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return err
		}
		byID := make(map[int64]Event, len(evs))
		for _, ev := range evs {
			byID[ev.ID] = ev
		}
		var orphans []int64 // the foreign key deletes entries with their event; this is a second belt
		for _, e := range entries {
			if ev, ok := byID[e.EventID]; ok {
				out = append(out, Outboxed{OutboxEntry: e, Event: ev})
			} else {
				orphans = append(orphans, e.EventID)
			}
		}
		if len(orphans) > 0 {
			_, err := tx.NewDelete().Model((*OutboxEntry)(nil)).Where("event_id IN (?)", bun.In(orphans)).Exec(ctx)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	return out, nil
}

// DoneOutbox removes published entries.
func (s *Store) DoneOutbox(ctx context.Context, eventIDs []int64) error {
	if len(eventIDs) == 0 {
		return nil
	}
	if _, err := s.db.NewDelete().Model((*OutboxEntry)(nil)).Where("event_id IN (?)", bun.In(eventIDs)).Exec(ctx); err != nil {
		return fmt.Errorf("store: mark %d outbox entries published: %w", len(eventIDs), err)
	}
	return nil
}

// FailOutbox records a failed attempt at the given entries and sets when each may be tried again;
// backoff maps an entry's failed attempts (including this one) to the wait.
func (s *Store) FailOutbox(ctx context.Context, entries []OutboxEntry, now time.Time, reason string, backoff func(attempts int) time.Duration) error {
	now = now.UTC().Truncate(time.Microsecond)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, e := range entries {
			attempts := e.Attempts + 1
			if _, err := tx.NewUpdate().Model((*OutboxEntry)(nil)).
				Set("attempts = ?, last_error = ?, next_attempt_at = ?", attempts, reason, now.Add(backoff(attempts))).
				Where("event_id = ?", e.EventID).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record failed outbox attempt: %w", err)
	}
	return nil
}

// OutboxStatsOf reports the broadcaster's events not yet published.
func (s *Store) OutboxStatsOf(ctx context.Context, broadcasterID string) (OutboxStats, error) {
	var st OutboxStats
	mine := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("event_id IN (SELECT id FROM events WHERE broadcaster_id = ?)", broadcasterID)
	}
	n, err := mine(s.db.NewSelect().Model((*OutboxEntry)(nil))).Count(ctx)
	if err != nil || n == 0 {
		return st, wrapStats(broadcasterID, err)
	}
	st.Pending = int(n)
	var oldest, failed []OutboxEntry
	if err := mine(s.db.NewSelect().Model(&oldest)).OrderExpr("event_id ASC").Limit(1).Scan(ctx); err != nil {
		return st, wrapStats(broadcasterID, err)
	}
	if len(oldest) == 1 {
		st.Oldest = &oldest[0]
	}
	if err := mine(s.db.NewSelect().Model(&failed)).Where("attempts > 0").OrderExpr("event_id DESC").Limit(1).Scan(ctx); err != nil {
		return st, wrapStats(broadcasterID, err)
	}
	if len(failed) == 1 {
		st.LastError = failed[0].LastError
	}
	return st, nil
}

func wrapStats(broadcasterID string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: outbox of %s: %w", broadcasterID, err)
}

// OutboxTotals reports every broadcaster's events not yet published: how many, and when the
// oldest was queued (zero when none). /metrics reads it at each scrape.
func (s *Store) OutboxTotals(ctx context.Context) (int, time.Time, error) {
	var row struct {
		N      int        `bun:"n"`
		Oldest *time.Time `bun:"oldest"`
	}
	err := s.db.NewSelect().Model((*OutboxEntry)(nil)).ColumnExpr("count(*) AS n, min(created_at) AS oldest").Scan(ctx, &row)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: outbox totals: %w", err)
	}
	if row.Oldest == nil {
		return row.N, time.Time{}, nil
	}
	return row.N, *row.Oldest, nil
}

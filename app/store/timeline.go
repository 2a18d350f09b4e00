package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Cursor is a position in a broadcaster's timeline (events by when they happened, newest
// first): the event at which a page ended. The zero Cursor is the top.
type Cursor struct {
	At time.Time
	ID int64
}

// CursorOf is the position of ev.
func CursorOf(ev Event) Cursor { return Cursor{At: ev.OccurredAt, ID: ev.ID} }

// String encodes the cursor for a URL.
func (c Cursor) String() string {
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads a cursor written by String.
func ParseCursor(s string) (Cursor, error) {
	at, id, ok := strings.Cut(s, ".")
	micros, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return Cursor{}, errors.New("store: malformed cursor")
	}
	return Cursor{At: time.UnixMicro(micros).UTC(), ID: n}, nil
}

// Shown selects the events a viewer sees as rows: never hidden ones, and of one type when Type
// is set. The zero Shown is every visible event.
type Shown struct {
	Type string
	// Superseded includes the earlier messages of a group (Event.Superseded): the overlay still
	// plays a hype train's begin that its progress has hidden from the dashboard.
	Superseded bool
}

func (f Shown) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Superseded {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("hidden = ?", false).WhereOr("group_key IS NOT NULL")
		})
	} else {
		q = q.Where("hidden = ?", false)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	return q
}

// Timeline returns up to limit events of a broadcaster after the cursor, newest first by when
// they happened: every event, hidden ones included (export), of type typ when it is not "".
func (s *Store) Timeline(ctx context.Context, broadcasterID, typ string, after Cursor, limit int) ([]Event, error) {
	return timeline(ctx, s.db, broadcasterID, func(q *bun.SelectQuery) *bun.SelectQuery {
		if typ != "" {
			q = q.Where("type = ?", typ)
		}
		return q
	}, after, limit)
}

// ShownTimeline is Timeline for the dashboard: only the events f selects.
func (s *Store) ShownTimeline(ctx context.Context, broadcasterID string, f Shown, after Cursor, limit int) ([]Event, error) {
	return timeline(ctx, s.db, broadcasterID, f.apply, after, limit)
}

// ShownAfter returns up to limit of the events f selects with ids above after, oldest first:
// what a reconnecting viewer missed.
func (s *Store) ShownAfter(ctx context.Context, broadcasterID string, f Shown, after int64, limit int) ([]Event, error) {
	var evs []Event
	q := s.db.NewSelect().Model(&evs).Where("broadcaster_id = ?", broadcasterID).Where("id > ?", after)
	if err := f.apply(q).OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: shown events of %s after %d: %w", broadcasterID, after, err)
	}
	return evs, nil
}

// TimelineTop is TimelineTopShown of every visible event.
func (s *Store) TimelineTop(ctx context.Context, broadcasterID string, limit int) ([]Event, int64, error) {
	return s.TimelineTopShown(ctx, broadcasterID, Shown{}, limit)
}

// TimelineTopShown returns the newest page of the events f selects together with the highest
// event id stored for the broadcaster (of any event), both from one snapshot: a live viewer's
// list and the id it resumes after.
func (s *Store) TimelineTopShown(ctx context.Context, broadcasterID string, f Shown, limit int) ([]Event, int64, error) {
	var evs []Event
	var maxID sql.NullInt64
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for both statements
	}
	err := s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if evs, err = timeline(ctx, tx, broadcasterID, f.apply, Cursor{}, limit); err != nil {
			return err
		}
		return tx.NewSelect().Model((*Event)(nil)).ColumnExpr("max(id)").
			Where("broadcaster_id = ?", broadcasterID).Scan(ctx, &maxID)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: timeline top of %s: %w", broadcasterID, err)
	}
	return evs, maxID.Int64, nil
}

// timeline pages through a broadcaster's events that filter selects.
func timeline(ctx context.Context, db bun.IDB, broadcasterID string, filter func(*bun.SelectQuery) *bun.SelectQuery,
	after Cursor, limit int) ([]Event, error) {
	var evs []Event
	q := filter(db.NewSelect().Model(&evs).Where("broadcaster_id = ?", broadcasterID).
		OrderExpr("occurred_at DESC, id DESC").Limit(int64(limit)))
	if after.ID > 0 {
		at := after.At.UTC()
		q = q.Where("(occurred_at < ? OR (occurred_at = ? AND id < ?))", at, at, after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: timeline of %s after %s: %w", broadcasterID, after, err)
	}
	return evs, nil
}

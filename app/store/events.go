package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
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
	Source         string    `bun:"source,notnull"`  // SourceWebhook, SourceWebSocket or SourceBackfill
	DedupeKey      *string   `bun:"dedupe_key"`      // same key, same real-world event (see FollowKey)
	Hidden         bool      `bun:"hidden,notnull"`  // kept and exported, but not a row of its own (a gift's subs)
	// GroupKey joins the messages that tell one thing as it changes (a hype train): when one is
	// stored, the earlier ones of its group are hidden, so the newest is the group's one row.
	GroupKey *string `bun:"group_key"`
}

// Superseded reports whether ev is an earlier message of a group (a hype train's begin once its
// progress came): not a dashboard row any more, but still an event, whose alert plays.
func (ev *Event) Superseded() bool { return ev.Hidden && ev.GroupKey != nil }

// Where events come from.
const (
	SourceWebhook   = "webhook"
	SourceWebSocket = "websocket" // EventSub's WebSocket transport
	SourceBackfill  = "backfill"
)

// FollowKey identifies a follow whichever road it took: EventSub gives followed_at with
// nanoseconds, Helix's follower list to the second, so the key keeps whole seconds.
func FollowKey(userID string, followedAt time.Time) *string {
	k := "follow:" + userID + ":" + strconv.FormatInt(followedAt.Unix(), 10)
	return &k
}

// InsertEvent stores ev and sets ev.ID: InsertEvents with a batch of one.
func (s *Store) InsertEvent(ctx context.Context, ev *Event) (bool, error) {
	inserted, err := s.InsertEvents(ctx, []*Event{ev})
	if err != nil {
		return false, err
	}
	return inserted[0], nil
}

// InsertEvents stores a batch of events in one transaction (one commit, one fsync) and sets the
// ID of each one stored. inserted[i] is false, and nothing is stored for evs[i], when an event with
// the same Twitch message id is stored already (Twitch re-sends with the same id), or one with the
// same dedupe key for that broadcaster, earlier in the batch included. With the outbox enabled,
// each new event is queued for Pusher in the same transaction. Any error rolls back the whole batch.
//
// Within one broadcaster, ids are committed in increasing order: viewers resume "after id N", so a
// smaller id must never become visible after a larger one. SQLite gets this from its single writer;
// on PostgreSQL the batch takes a transaction-scoped advisory lock per broadcaster before any id is
// drawn, all of them at once in sorted order, so that two batches never wait for each other in a
// cycle.
func (s *Store) InsertEvents(ctx context.Context, evs []*Event) ([]bool, error) {
	inserted := make([]bool, len(evs))
	if len(evs) == 0 {
		return inserted, nil
	}
	var queued bool
	before := make([]int64, len(evs)) // restored on failure, so that a retry draws its ids again
	for i, ev := range evs {
		before[i] = ev.ID
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockBroadcasters(ctx, tx, evs); err != nil {
			return err
		}
		var err error
		queued, err = s.insertBatch(ctx, tx, evs, inserted)
		return err
	})
	if err != nil {
		clear(inserted)
		for i, ev := range evs {
			ev.ID = before[i]
		}
		return inserted, fmt.Errorf("store: insert %d events: %w", len(evs), err)
	}
	if queued && s.outboxWake != nil {
		s.ringOutbox()
	}
	return inserted, nil
}

// lockBroadcasters takes, on PostgreSQL, the advisory lock of every broadcaster of the batch in one
// statement. The key is the one a single-event insert has always used, hashtext(broadcaster id).
func (s *Store) lockBroadcasters(ctx context.Context, tx bun.Tx, evs []*Event) error {
	if s.dialect != Postgres {
		return nil
	}
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.BroadcasterID
	}
	_, err := tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(k)) FROM
		(SELECT DISTINCT hashtext(b)::bigint AS k FROM unnest(?::text[]) AS b ORDER BY 1) AS l`, pgdialect.Array(ids))
	if err != nil {
		return fmt.Errorf("lock broadcasters: %w", err)
	}
	return nil
}

// insertBatch stores the batch with one multi-row statement (a statement per event costs a parse
// and, on PostgreSQL, a round trip each), and queues the new events for Pusher when the outbox is
// on. It reports whether any event was new.
//
// Conflicting rows (a message id stored already, or a dedupe key of the broadcaster's, earlier in
// the batch included) are skipped by ON CONFLICT DO NOTHING, on both databases also within the
// statement, and RETURNING gives the id of each row stored, by message id: the first event of the
// batch with that message id is the one stored.
func (s *Store) insertBatch(ctx context.Context, tx bun.Tx, evs []*Event, inserted []bool) (bool, error) {
	rows := make([]Event, len(evs))
	for i, ev := range evs {
		if ev.Source == "" {
			ev.Source = SourceWebhook
		}
		// One precision and zone on both databases, so timeline cursors compare exactly.
		ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Microsecond)
		ev.ReceivedAt = ev.ReceivedAt.UTC().Truncate(time.Microsecond)
		rows[i] = *ev
		rows[i].ID = 0 // drawn by the database
	}
	var stored []storedID
	// No conflict target: either unique key (message id, or broadcaster + dedupe key) skips.
	if s.dialect == Postgres {
		if err := insertUnnest(ctx, tx, rows, &stored); err != nil {
			return false, err
		}
	} else if _, err := tx.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Returning("id, message_id").Exec(ctx, &stored); err != nil {
		return false, err
	}
	if len(stored) == 0 {
		return false, nil
	}
	ids := make(map[string]int64, len(stored))
	for _, r := range stored {
		ids[r.MessageID] = r.ID
	}
	var outbox []OutboxEntry
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i, ev := range evs {
		id, ok := ids[ev.MessageID]
		if !ok {
			continue
		}
		delete(ids, ev.MessageID) // a later event with the same message id was skipped
		ev.ID, inserted[i] = id, true
		if s.outboxWake != nil {
			outbox = append(outbox, OutboxEntry{EventID: id, CreatedAt: now, NextAttemptAt: now})
		}
	}
	if len(outbox) > 0 {
		if _, err := tx.NewInsert().Model(&outbox).Exec(ctx); err != nil {
			return false, fmt.Errorf("queue for pusher: %w", err)
		}
	}
	if err := hideSuperseded(ctx, tx, evs, inserted); err != nil {
		return false, err
	}
	return true, nil
}

// hideSuperseded hides, in the batch's transaction, the earlier messages of each group a new
// event belongs to: ids grow with every insert, so the group's largest id is its newest message
// and its one row, on the page and to a viewer resuming after an id alike.
func hideSuperseded(ctx context.Context, tx bun.Tx, evs []*Event, inserted []bool) error {
	for i, ev := range evs {
		if !inserted[i] || ev.GroupKey == nil {
			continue
		}
		_, err := tx.NewUpdate().Table("events").Set("hidden = ?", true).
			Where("broadcaster_id = ?", ev.BroadcasterID).Where("group_key = ?", *ev.GroupKey).
			Where("id < ?", ev.ID).Where("hidden = ?", false).Exec(ctx)
		if err != nil {
			return fmt.Errorf("hide earlier messages of %s: %w", *ev.GroupKey, err)
		}
	}
	return nil
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

// MessageCounts counts the stored events of each Twitch message id in ids; an id with none is
// absent from the map. It checks from outside the write path that what was acknowledged is stored
// exactly once (the crash test, the load tools).
func (s *Store) MessageCounts(ctx context.Context, ids []string) (map[string]int, error) {
	counts := make(map[string]int)
	// In chunks: both databases cap the parameters of one statement.
	for chunk := range slices.Chunk(ids, 500) {
		var rows []struct {
			MessageID string `bun:"message_id"`
			N         int    `bun:"n"`
		}
		err := s.db.NewSelect().Model((*Event)(nil)).Column("message_id").ColumnExpr("count(*) AS n").
			Where("message_id IN (?)", bun.In(chunk)).Group("message_id").Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("store: count events of %d message ids: %w", len(ids), err)
		}
		for _, r := range rows {
			counts[r.MessageID] = r.N
		}
	}
	return counts, nil
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
		Where("broadcaster_id = ?", broadcasterID).Where("type = ?", eventType).Where("source IN (?)", bun.In([]string{SourceWebhook, SourceWebSocket})).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: last %s event of %s: %w", eventType, broadcasterID, err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	return &evs[0].ReceivedAt, nil
}

// storedID is what the batch insert returns for each row it stored.
type storedID struct {
	ID        int64  `bun:"id"`
	MessageID string `bun:"message_id"`
}

// insertUnnest is PostgreSQL's batch insert: one column array per bind parameter, so that the
// server parses and plans one short statement whatever the batch size, instead of a VALUES list
// with every value written out.
func insertUnnest(ctx context.Context, tx bun.Tx, rows []Event, out *[]storedID) error {
	n := len(rows)
	msg, sub, typ, ver, bro := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	uid, ulogin, uname, payload, source := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	occurred, received := make([]time.Time, n), make([]time.Time, n)
	dedupe, hidden, group := make([]*string, n), make([]bool, n), make([]*string, n)
	for i, r := range rows {
		msg[i], sub[i], typ[i], ver[i], bro[i] = r.MessageID, r.SubscriptionID, r.Type, r.Version, r.BroadcasterID
		uid[i], ulogin[i], uname[i], payload[i], source[i] = r.UserID, r.UserLogin, r.UserName, r.Payload, r.Source
		occurred[i], received[i], dedupe[i], hidden[i] = r.OccurredAt, r.ReceivedAt, r.DedupeKey, r.Hidden
		group[i] = r.GroupKey
	}
	res, err := tx.Tx.QueryContext(ctx, `INSERT INTO events (message_id, subscription_id, type, version,
		broadcaster_id, user_id, user_login, user_name, occurred_at, received_at, payload, source, dedupe_key, hidden, group_key)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::boolean[], $15::text[])
		ON CONFLICT DO NOTHING RETURNING id, message_id`,
		msg, sub, typ, ver, bro, uid, ulogin, uname, occurred, received, payload, source, dedupe, hidden, group)
	if err != nil {
		return err
	}
	defer res.Close()
	for res.Next() {
		var r storedID
		if err := res.Scan(&r.ID, &r.MessageID); err != nil {
			return err
		}
		*out = append(*out, r)
	}
	return res.Err()
}

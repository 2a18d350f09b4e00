package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// AccountLockClass is the first key of the PostgreSQL advisory locks WithAccountLock takes; the
// second is hashtext(broadcaster_id). In pg_locks they show as classid = AccountLockClass,
// objid = hashtext(broadcaster_id), objsubid = 2. Two-key locks never collide with single-bigint
// ones (the events' pg_advisory_xact_lock(hashtext(broadcaster_id)), the migration lock).
const AccountLockClass = 0x61636374 // "acct"

// accountLockSlots caps the account locks one Store holds at once. Each holds a pool connection
// while fn needs others for its queries: without a cap, as many concurrent refreshes as the pool
// has connections would take them all and then wait for ever for one more.
const accountLockSlots = 4

// unlockTimeout bounds the unlock, which runs even when the caller's context is done.
const unlockTimeout = 5 * time.Second

// WithAccountLock runs fn while holding the account's lock, which every instance sharing the
// PostgreSQL database respects. Waiting for the lock ends with ctx; fn's error is returned as is.
//
// It is a session-level advisory lock on a connection of its own rather than a row lock
// (SELECT ... FOR UPDATE) because fn makes a Twitch call while the lock is held: a row lock would
// keep a transaction open across that call, block every other update of the account row (sign-in,
// validation, history progress) meanwhile, and deadlock fn's own writes made through the pool.
//
// On SQLite, fn runs at once: SQLite serves one instance, and the caller already excludes its own
// concurrent calls in process.
func (s *Store) WithAccountLock(ctx context.Context, broadcasterID string, fn func(ctx context.Context) error) error {
	if s.dialect != Postgres {
		return fn(ctx)
	}
	select {
	case s.accountLocks <- struct{}{}:
		defer func() { <-s.accountLocks }()
	case <-ctx.Done():
		return fmt.Errorf("store: lock account %s: %w", broadcasterID, ctx.Err())
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: lock account %s: connect: %w", broadcasterID, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", AccountLockClass, broadcasterID); err != nil {
		// The wait may have been cut short just as the lock was granted: the session must not
		// go back to the pool, where it would keep the lock.
		discard(conn)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("store: lock account %s: %w", broadcasterID, err)
	}
	defer unlockAccount(ctx, conn, broadcasterID)
	return fn(ctx)
}

// unlockAccount releases the lock on a short context of its own, so that a canceled caller
// still releases it. When that fails the session is closed, and the server drops its locks.
func unlockAccount(ctx context.Context, conn *sql.Conn, broadcasterID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	var released bool
	err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", AccountLockClass, broadcasterID).Scan(&released)
	if err != nil || !released {
		discard(conn)
	}
}

// discard closes conn's database session instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

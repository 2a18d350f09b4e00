// Package store keeps the event log and everything else the app persists, on PostgreSQL or on
// embedded SQLite, through one set of Bun models.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// Dialect names the database behind a Store.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the app's database.
type Store struct {
	db      *bun.DB
	dialect Dialect
	url     string // the PostgreSQL URL it was opened with; empty on SQLite

	outboxWake   chan struct{} // non-nil when new events are also queued for Pusher (EnableOutbox)
	accountLocks chan struct{} // PostgreSQL: one slot per account lock held (WithAccountLock)
}

// sqliteConns bounds SQLite's connection pool.
const sqliteConns = 8

// Open connects to PostgreSQL when databaseURL is a postgres:// URL, and otherwise opens (creating
// it if needed) the SQLite file events.db in dataDir. It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	var s *Store
	switch {
	case databaseURL == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data dir %s: %w", dataDir, err)
		}
		path := filepath.Join(dataDir, "events.db")
		// WAL lets the dashboard read while a webhook writes; immediate transactions take the
		// write lock up front so concurrent writers wait (busy_timeout) instead of failing.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		// SQLite writes one at a time, and a read needs no more than a few connections: a bounded
		// pool keeps a connect storm from opening a file handle (and a page cache) per request;
		// the rest wait their turn in database/sql.
		sqldb.SetMaxOpenConns(sqliteConns)
		sqldb.SetMaxIdleConns(sqliteConns)
		s = &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), dialect: SQLite}
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		sqldb, err := sql.Open("pgx", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(10)
		s = &Store{db: bun.NewDB(sqldb, pgdialect.New()), dialect: Postgres, url: databaseURL}
		s.accountLocks = make(chan struct{}, accountLockSlots)
	default:
		return nil, errors.New("store: database URL must start with postgres:// or postgresql://")
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect tells which database this store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error { return s.db.Close() }

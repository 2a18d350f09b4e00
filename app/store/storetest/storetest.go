// Package storetest gives tests a fresh, migrated database of each kind: SQLite always, and
// PostgreSQL when TEST_DATABASE_URL is set (each test in a schema of its own).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/twitch-event-viewer/tev/app/store"
)

// DB says how to reach one test database: DatabaseURL is empty for SQLite in DataDir.
type DB struct {
	Name        string
	DatabaseURL string
	DataDir     string
}

// Each runs fn as a subtest against SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachStore is Each with the store opened and migrated.
func EachStore(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	Each(t, func(t *testing.T, db DB) { fn(t, Open(t, db)) })
}

// SQLite is an empty data directory.
func SQLite(t testing.TB) DB {
	return DB{Name: "sqlite", DataDir: t.TempDir()}
}

// Postgres is a fresh schema in the TEST_DATABASE_URL database, dropped when the test ends. The
// test is skipped, naming the variable, when it is unset.
func Postgres(t testing.TB) DB {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("PostgreSQL tests skipped: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return DB{Name: "postgres", DatabaseURL: u.String(), DataDir: t.TempDir()}
}

// Open opens and migrates db, closing it when the test ends.
func Open(t testing.TB, db DB) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, db.DatabaseURL, db.DataDir)
	if err != nil {
		t.Fatalf("open %s: %v", db.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", db.Name, err)
	}
	return s
}

// AwaitAccountLocks waits until, on the PostgreSQL db, exactly held sessions hold and waiting
// sessions wait for the account lock of store.WithAccountLock on broadcasterID, as pg_locks shows
// them, or until ctx ends. Advisory locks belong to the database, not to a test's schema: use a
// broadcaster id that no other test uses at the same time.
func AwaitAccountLocks(ctx context.Context, db DB, broadcasterID string, held, waiting int) error {
	pg, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		return err
	}
	defer pg.Close()
	const q = `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::oid AND objid = hashtext($2)::oid AND objsubid = 2`
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	var h, w int
	for {
		if err := pg.QueryRowContext(ctx, q, int64(store.AccountLockClass), broadcasterID).Scan(&h, &w); err != nil {
			return fmt.Errorf("storetest: account locks of %s: %w", broadcasterID, err)
		}
		if h == held && w == waiting {
			return nil
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			return fmt.Errorf("storetest: account locks of %s: %d held, %d waiting; want %d, %d: %w", broadcasterID, h, w, held, waiting, ctx.Err())
		}
	}
}

// Poison makes every insert of an event with messageID fail on db, as a database refusing one
// row would: a trigger raises an error. The rest of a batch holding it rolls back with it.
func Poison(t testing.TB, db DB, messageID string) {
	t.Helper()
	driver, dsn := "pgx", db.DatabaseURL
	stmts := []string{
		`CREATE OR REPLACE FUNCTION tev_poison() RETURNS trigger AS $$ BEGIN
			IF NEW.message_id = TG_ARGV[0] THEN RAISE EXCEPTION 'poisoned event %', NEW.message_id; END IF;
			RETURN NEW; END $$ LANGUAGE plpgsql`,
		fmt.Sprintf(`CREATE TRIGGER poison_%x BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION tev_poison('%s')`,
			messageID, messageID),
	}
	if dsn == "" {
		driver, dsn = sqliteshim.ShimName, "file:"+filepath.Join(db.DataDir, "events.db")+"?_pragma=busy_timeout(10000)"
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER poison_%x BEFORE INSERT ON events WHEN NEW.message_id = '%s'
			BEGIN SELECT RAISE(ABORT, 'poisoned event'); END`, messageID, messageID)}
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("storetest: poison %s: %v", messageID, err)
	}
	defer conn.Close()
	for _, q := range stmts {
		if _, err := conn.Exec(q); err != nil {
			t.Fatalf("storetest: poison %s: %v", messageID, err)
		}
	}
}

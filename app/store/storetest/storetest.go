// Package storetest gives tests a fresh, migrated database of each kind: SQLite always, and
// PostgreSQL when TEST_DATABASE_URL is set (each test in a schema of its own).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

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

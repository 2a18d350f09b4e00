package store

import (
	"context"
	"errors"
	"fmt"
)

// errNotPostgres is returned by what only PostgreSQL can do.
var errNotPostgres = errors.New("store: PostgreSQL only")

// DatabaseURL is the PostgreSQL URL the store was opened with, for a connection of one's own
// (LISTEN cannot share the pool); empty on SQLite.
func (s *Store) DatabaseURL() string { return s.url }

// CurrentSchema names the PostgreSQL schema the store's tables live in (its search_path's
// first). Instances on one database but different schemas are different deployments.
func (s *Store) CurrentSchema(ctx context.Context) (string, error) {
	if s.dialect != Postgres {
		return "", errNotPostgres
	}
	var schema *string
	if err := s.db.DB.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("store: current schema: %w", err)
	}
	if schema == nil {
		return "", errors.New("store: current schema: no schema of the search_path exists")
	}
	return *schema, nil
}

// Notify sends payload to the PostgreSQL listeners of channel (pg_notify, delivered when the
// implicit transaction commits, so at once).
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if s.dialect != Postgres {
		return errNotPostgres
	}
	if _, err := s.db.DB.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

package store

import "database/sql"

// Stats are the connection pool's statistics, for the pool's tests.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }

package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// A storm of reads waits for SQLite's few connections instead of opening one each.
func TestSQLitePoolIsBounded(t *testing.T) {
	s := storetest.Open(t, storetest.SQLite(t))
	if s.Dialect() != store.SQLite {
		t.Fatalf("dialect %s", s.Dialect())
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			if _, err := s.NewestEventID(ctx, "1337"); err != nil {
				errs <- err
			}
			if i%2 == 0 {
				if _, err := s.CountEvents(ctx, "1337"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.MaxOpenConnections != 8 || st.OpenConnections > 8 {
		t.Fatalf("pool: %d open, at most %d; want at most 8", st.OpenConnections, st.MaxOpenConnections)
	}
}

package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// BenchmarkInsertEvent measures the write path's database part, one event per transaction, as
// webhooks arrive today:
//
//	go test -run '^$' -bench InsertEvent -benchtime 3s ./app/store/
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test -run '^$' -bench InsertEvent ./app/store/
func BenchmarkInsertEvent(b *testing.B) {
	dbs := map[store.Dialect]func(testing.TB) storetest.DB{store.SQLite: storetest.SQLite, store.Postgres: storetest.Postgres}
	for _, name := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(name), func(b *testing.B) {
			s := storetest.Open(b, dbs[name](b))
			b.Run("serial", func(b *testing.B) {
				ctx := context.Background()
				for i := 0; b.Loop(); i++ {
					if _, err := s.InsertEvent(ctx, event(fmt.Sprintf("serial-%d", i), "1337")); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel-broadcasters", func(b *testing.B) {
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					for pb.Next() {
						i := n.Add(1)
						if _, err := s.InsertEvent(ctx, event(fmt.Sprintf("par-%d", i), fmt.Sprint(i%50))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkInsertEvents measures group commit: b.N events stored in batches of 1 and of 64, one
// transaction per batch, spread over 50 broadcasters (ns/op is per event):
//
//	go test -run '^$' -bench InsertEvents -benchtime 3s ./app/store/
func BenchmarkInsertEvents(b *testing.B) {
	dbs := map[store.Dialect]func(testing.TB) storetest.DB{store.SQLite: storetest.SQLite, store.Postgres: storetest.Postgres}
	for _, name := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(name), func(b *testing.B) {
			s := storetest.Open(b, dbs[name](b))
			for _, size := range []int{1, 64} {
				b.Run(fmt.Sprintf("batch-%d", size), func(b *testing.B) {
					ctx := context.Background()
					batch := make([]*store.Event, 0, size)
					flush := func() {
						if _, err := s.InsertEvents(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
					for i := 0; b.Loop(); i++ {
						batch = append(batch, event(fmt.Sprintf("batch%d-%d", size, i), fmt.Sprint(i%50)))
						if len(batch) == size {
							flush()
						}
					}
					flush()
				})
			}
		})
	}
}

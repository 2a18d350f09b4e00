package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestWithAccountLockRunsFn(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store) {
		ctx := lockCtx(t)
		id := lockID()
		ran := false
		err := s.WithAccountLock(ctx, id, func(context.Context) error { ran = true; return nil })
		if err != nil || !ran {
			t.Fatalf("WithAccountLock = %v, fn ran: %v", err, ran)
		}
		errFn := errors.New("fn failed")
		if err := s.WithAccountLock(ctx, id, func(context.Context) error { return errFn }); err != errFn {
			t.Fatalf("WithAccountLock = %v, want fn's error as is", err)
		}
	})
}

// Two stores on one PostgreSQL database stand for two instances of the app.
func TestAccountLockAcrossStores(t *testing.T) {
	db := storetest.Postgres(t)
	a, b := storetest.Open(t, db), storetest.Open(t, db)

	t.Run("the same account waits", func(t *testing.T) {
		ctx := lockCtx(t)
		id := lockID()
		first := hold(ctx, t, a, id)
		var mu sync.Mutex
		var order []string
		note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
		second := make(chan error, 1)
		go func() {
			second <- b.WithAccountLock(ctx, id, func(context.Context) error { note("second runs"); return nil })
		}()
		awaitLocks(ctx, t, db, id, 1, 1)
		note("first returns")
		first.end(ctx, t)
		if err := recv(ctx, t, second); err != nil {
			t.Fatalf("second WithAccountLock: %v", err)
		}
		if want := []string{"first returns", "second runs"}; !slices.Equal(order, want) {
			t.Fatalf("order %v, want %v", order, want)
		}
		awaitLocks(ctx, t, db, id, 0, 0)
	})

	t.Run("other accounts do not wait", func(t *testing.T) {
		ctx := lockCtx(t)
		one, other := lockID(), lockID()
		first := hold(ctx, t, a, one)
		ran := false
		if err := b.WithAccountLock(ctx, other, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
			t.Fatalf("WithAccountLock on another account while one is held = %v, fn ran: %v", err, ran)
		}
		first.end(ctx, t)
	})

	t.Run("a canceled wait leaves no lock behind", func(t *testing.T) {
		ctx := lockCtx(t)
		id := lockID()
		first := hold(ctx, t, a, id)
		waitCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		second := make(chan error, 1)
		go func() {
			second <- b.WithAccountLock(waitCtx, id, func(context.Context) error {
				t.Error("fn ran while another store held the lock")
				return nil
			})
		}()
		awaitLocks(ctx, t, db, id, 1, 1)
		cancel()
		if err := recv(ctx, t, second); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled WithAccountLock = %v, want context.Canceled", err)
		}
		awaitLocks(ctx, t, db, id, 1, 0)
		first.end(ctx, t)
		awaitLocks(ctx, t, db, id, 0, 0)
		mustLock(ctx, t, b, id)
	})

	t.Run("released when fn fails", func(t *testing.T) {
		ctx := lockCtx(t)
		id := lockID()
		errFn := errors.New("fn failed")
		if err := a.WithAccountLock(ctx, id, func(context.Context) error { return errFn }); err != errFn {
			t.Fatalf("WithAccountLock = %v, want fn's error as is", err)
		}
		awaitLocks(ctx, t, db, id, 0, 0)
		mustLock(ctx, t, b, id)
	})

	t.Run("released when ctx ends while fn runs", func(t *testing.T) {
		ctx := lockCtx(t)
		id := lockID()
		fnCtx, cancel := context.WithCancel(ctx)
		err := a.WithAccountLock(fnCtx, id, func(ctx context.Context) error { cancel(); return ctx.Err() })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WithAccountLock = %v, want context.Canceled from fn", err)
		}
		awaitLocks(ctx, t, db, id, 0, 0)
		mustLock(ctx, t, b, id)
	})
}

// holder is a WithAccountLock call whose fn runs until end is called.
type holder struct {
	release chan struct{}
	done    chan error
}

// hold locks id in s and returns once fn runs.
func hold(ctx context.Context, t *testing.T, s *store.Store, id string) *holder {
	t.Helper()
	h := &holder{release: make(chan struct{}), done: make(chan error, 1)}
	in := make(chan struct{})
	go func() {
		h.done <- s.WithAccountLock(ctx, id, func(context.Context) error {
			close(in)
			<-h.release
			return nil
		})
	}()
	select {
	case <-in:
	case err := <-h.done:
		t.Fatalf("WithAccountLock(%s) returned before fn ran: %v", id, err)
	case <-ctx.Done():
		t.Fatalf("WithAccountLock(%s): %v", id, ctx.Err())
	}
	return h
}

// end lets fn return, and waits for WithAccountLock to.
func (h *holder) end(ctx context.Context, t *testing.T) {
	t.Helper()
	close(h.release)
	if err := recv(ctx, t, h.done); err != nil {
		t.Fatalf("holding WithAccountLock: %v", err)
	}
}

func mustLock(ctx context.Context, t *testing.T, s *store.Store, id string) {
	t.Helper()
	ran := false
	if err := s.WithAccountLock(ctx, id, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("WithAccountLock(%s) = %v, fn ran: %v", id, err, ran)
	}
}

func awaitLocks(ctx context.Context, t *testing.T, db storetest.DB, id string, held, waiting int) {
	t.Helper()
	if err := storetest.AwaitAccountLocks(ctx, db, id, held, waiting); err != nil {
		t.Fatal(err)
	}
}

func recv(ctx context.Context, t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-ctx.Done():
		t.Fatal(ctx.Err())
		return nil
	}
}

// lockCtx only keeps a broken test from hanging; no assertion depends on it.
func lockCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lockID is an account id of this test alone: advisory locks are shared by every schema of the
// database, and other tests may lock their accounts at the same time.
func lockID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "lock-" + hex.EncodeToString(b)
}

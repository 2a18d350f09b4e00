package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

var seq atomic.Int64

func event(broadcaster string) *store.Event {
	n := seq.Add(1)
	now := time.Now().UTC()
	return &store.Event{MessageID: fmt.Sprintf("msg-%d-%d", n, now.UnixNano()), SubscriptionID: "sub-1", Type: "channel.follow",
		Version: "2", BroadcasterID: broadcaster, UserID: fmt.Sprint(n), UserLogin: fmt.Sprintf("viewer_%d", n),
		UserName: fmt.Sprintf("Viewer_%d", n), OccurredAt: now, ReceivedAt: now, Payload: `{}`}
}

// committed records the Committed calls. When held, the first call blocks the writer until
// release: the queue then fills up behind it, deterministically.
type committed struct {
	held    bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	freed   sync.Once

	mu    sync.Mutex
	calls [][]*store.Event
}

func newCommitted(held bool) *committed {
	return &committed{held: held, entered: make(chan struct{}), release: make(chan struct{})}
}

func (c *committed) fn(_ context.Context, evs []*store.Event) {
	c.mu.Lock()
	c.calls = append(c.calls, slices.Clone(evs))
	c.mu.Unlock()
	if c.held {
		c.once.Do(func() { close(c.entered); <-c.release })
	}
}

// unblock lets the held writer go on.
func (c *committed) unblock() { c.freed.Do(func() { close(c.release) }) }

func (c *committed) events() []*store.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Concat(c.calls...)
}

func (c *committed) largest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, call := range c.calls {
		n = max(n, len(call))
	}
	return n
}

// open makes a batcher over a fresh store, closed when the test ends.
func open(t *testing.T, db storetest.DB, c *committed, o ingest.Options) (*ingest.Batcher, *store.Store) {
	s := storetest.Open(t, db)
	o.Store, o.Committed = s, c.fn
	b := ingest.New(o)
	t.Cleanup(func() { c.unblock(); b.Close() })
	return b, s
}

// waitFor polls cond until it holds; the test's deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if d, ok := t.Deadline(); ok && time.Until(d) < time.Second {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// block stores one event and returns once the writer is held in Committed with it.
func block(t *testing.T, b *ingest.Batcher, c *committed) <-chan error {
	errc := make(chan error, 1)
	go func() { _, err := b.Store(context.Background(), event("1337")); errc <- err }()
	<-c.entered
	return errc
}

// storeAsync queues one Store call and returns where its answer arrives.
func storeAsync(b *ingest.Batcher, evs ...*store.Event) <-chan result {
	out := make(chan result, 1)
	go func() {
		inserted, err := b.Store(context.Background(), evs...)
		out <- result{inserted, err}
	}()
	return out
}

type result struct {
	inserted []bool
	err      error
}

func TestLoneEventCommitsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(false)
		b, s := open(t, db, c, ingest.Options{})
		ev := event("1337")
		inserted, err := b.Store(context.Background(), ev)
		if err != nil || !slices.Equal(inserted, []bool{true}) || ev.ID == 0 {
			t.Fatalf("Store = %v, %v (id %d); want [true], nil and an id", inserted, err, ev.ID)
		}
		if got := c.events(); len(got) != 1 || got[0] != ev {
			t.Fatalf("Committed got %v, want the event", got)
		}
		if stored, err := s.EventByMessageID(context.Background(), ev.MessageID); err != nil || stored.ID != ev.ID {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		if b.Depth() != 0 {
			t.Fatalf("depth %d after the commit", b.Depth())
		}
	})
}

// TestConcurrentCallersShareCommits: callers that arrive while a commit is in flight are stored
// together in the next one, each exactly once, and Committed hears of each new event once, in id
// order per call.
func TestConcurrentCallersShareCommits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		const callers = 60
		c := newCommitted(true)
		b, s := open(t, db, c, ingest.Options{})
		first := block(t, b, c)
		answers := make([]<-chan result, callers)
		for i := range answers {
			answers[i] = storeAsync(b, event(fmt.Sprint(1000+i%3)))
		}
		waitFor(t, "every caller queued", func() bool { return b.Depth() == callers })
		c.unblock()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for i, a := range answers {
			if r := <-a; r.err != nil || !slices.Equal(r.inserted, []bool{true}) {
				t.Fatalf("caller %d: %v, %v", i, r.inserted, r.err)
			}
		}
		got := c.events()
		ids := map[int64]bool{}
		for _, ev := range got {
			ids[ev.ID] = true
		}
		if len(got) != callers+1 || len(ids) != callers+1 {
			t.Fatalf("Committed heard of %d events (%d ids), want %d", len(got), len(ids), callers+1)
		}
		if c.largest() < 2 {
			t.Fatal("no batch of more than one event formed")
		}
		if ids := idsOf(got); !slices.IsSorted(ids) {
			t.Fatalf("Committed heard of ids out of order: %v", ids)
		}
		total := 0
		for i := range 3 {
			n, _ := s.CountEvents(context.Background(), fmt.Sprint(1000+i))
			total += n
		}
		if total != callers {
			t.Fatalf("stored %d events, want %d", total, callers)
		}
	})
}

// TestWritersKeepEachBroadcasterInOrder: with several writers, each broadcaster's events are
// still announced in id order, as live viewers need, and each exactly once.
func TestWritersKeepEachBroadcasterInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		const callers, broadcasters = 200, 8
		c := newCommitted(false)
		b, _ := open(t, db, c, ingest.Options{Writers: 4, MaxBatch: 16})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				if inserted, err := b.Store(context.Background(), event(fmt.Sprint(i%broadcasters))); err != nil || !inserted[0] {
					t.Errorf("caller %d: %v, %v", i, inserted, err)
				}
			})
		}
		wg.Wait()
		per := map[string][]*store.Event{}
		for _, ev := range c.events() {
			per[ev.BroadcasterID] = append(per[ev.BroadcasterID], ev)
		}
		total := 0
		for id, evs := range per {
			total += len(evs)
			if ids := idsOf(evs); !slices.IsSorted(ids) || len(slices.Compact(ids)) != len(evs) {
				t.Errorf("broadcaster %s announced as %v, want increasing ids", id, idsOf(evs))
			}
		}
		if total != callers {
			t.Fatalf("Committed heard of %d events, want %d", total, callers)
		}
	})
}

func idsOf(evs []*store.Event) []int64 {
	ids := make([]int64, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

// TestDuplicatesReported: a message sent twice is stored once, whether the copies share a call,
// a batch, or come after the commit.
func TestDuplicatesReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		b, _ := open(t, db, c, ingest.Options{})
		first := block(t, b, c)
		a, again := event("1337"), event("1337")
		again.MessageID = a.MessageID
		one := storeAsync(b, a, again)
		waitFor(t, "the first call queued", func() bool { return b.Depth() == 2 })
		other := event("1337")
		other.MessageID = a.MessageID
		two := storeAsync(b, other)
		waitFor(t, "both calls queued", func() bool { return b.Depth() == 3 })
		c.unblock()
		<-first
		if r := <-one; r.err != nil || !slices.Equal(r.inserted, []bool{true, false}) {
			t.Fatalf("a call with a message twice: %v, %v; want [true false]", r.inserted, r.err)
		}
		if r := <-two; r.err != nil || !slices.Equal(r.inserted, []bool{false}) {
			t.Fatalf("a copy in the same batch: %v, %v; want [false]", r.inserted, r.err)
		}
		late := event("1337")
		late.MessageID = a.MessageID
		if inserted, err := b.Store(context.Background(), late); err != nil || inserted[0] {
			t.Fatalf("a copy after the commit: %v, %v; want [false]", inserted, err)
		}
		if n := len(c.events()); n != 2 {
			t.Fatalf("Committed heard of %d events, want 2 (the blocker and the message)", n)
		}
	})
}

// TestBusyWhenQueueFull: with the writer held and the queue full, Store refuses at once.
func TestBusyWhenQueueFull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		b, _ := open(t, db, c, ingest.Options{Queue: 4})
		first := block(t, b, c)
		queued := []<-chan result{storeAsync(b, event("1"), event("1")), storeAsync(b, event("2"), event("2"))}
		waitFor(t, "the queue full", func() bool { return b.Depth() == 4 })
		if _, err := b.Store(context.Background(), event("3")); !errors.Is(err, ingest.ErrBusy) {
			t.Fatalf("Store with the queue full: %v, want ErrBusy", err)
		}
		c.unblock()
		<-first
		for _, q := range queued {
			if r := <-q; r.err != nil {
				t.Fatal(r.err)
			}
		}
		if _, err := b.Store(context.Background(), event("3")); err != nil {
			t.Fatalf("Store once the queue drained: %v", err)
		}
	})
}

// TestCloseDrains: what is queued when Close is called is committed; then Store refuses.
func TestCloseDrains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		b, s := open(t, db, c, ingest.Options{})
		first := block(t, b, c)
		var answers []<-chan result
		for range 10 {
			answers = append(answers, storeAsync(b, event("1337")))
		}
		waitFor(t, "every caller queued", func() bool { return b.Depth() == 10 })
		closed := make(chan struct{})
		go func() { b.Close(); close(closed) }()
		c.unblock()
		<-closed
		<-first
		for _, a := range answers {
			if r := <-a; r.err != nil || !r.inserted[0] {
				t.Fatalf("queued before Close: %v, %v", r.inserted, r.err)
			}
		}
		if n, _ := s.CountEvents(context.Background(), "1337"); n != 11 {
			t.Fatalf("stored %d events, want 11", n)
		}
		if _, err := b.Store(context.Background(), event("1337")); !errors.Is(err, ingest.ErrClosed) {
			t.Fatalf("Store after Close: %v, want ErrClosed", err)
		}
	})
}

// TestPoisonedEventFailsAlone: when the database refuses one event, the batch it was in is
// retried call by call, and only its own caller gets the error.
func TestPoisonedEventFailsAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		b, s := open(t, db, c, ingest.Options{})
		storetest.Poison(t, db, "poison")
		first := block(t, b, c)
		bad := event("1337")
		bad.MessageID = "poison"
		good1, poisoned, good2 := storeAsync(b, event("1337")), storeAsync(b, bad), storeAsync(b, event("1337"))
		waitFor(t, "every caller queued", func() bool { return b.Depth() == 3 })
		c.unblock()
		<-first
		if r := <-poisoned; r.err == nil {
			t.Fatal("the poisoned event was stored")
		}
		for _, g := range []<-chan result{good1, good2} {
			if r := <-g; r.err != nil || !r.inserted[0] {
				t.Fatalf("an event batched with a poisoned one: %v, %v", r.inserted, r.err)
			}
		}
		if n, _ := s.CountEvents(context.Background(), "1337"); n != 3 {
			t.Fatalf("stored %d events, want 3", n)
		}
	})
}

// TestCallerLeavesWhileQueued: a caller whose context ends gets its error at once.
func TestCallerLeavesWhileQueued(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		b, _ := open(t, db, c, ingest.Options{})
		block(t, b, c)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := b.Store(ctx, event("1337")); errc <- err }()
		waitFor(t, "the caller queued", func() bool { return b.Depth() == 1 })
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Store after the caller left: %v, want context.Canceled", err)
		}
	})
}

// TestExpectedCallerJoinsTheBatch: a writer holds a ready event while a caller announced by Expect
// is still on its way, and commits both together; one that gives up releases the wait.
func TestExpectedCallerJoinsTheBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		c := newCommitted(true)
		// Long enough that only the announced caller, never the timer, ends the wait.
		b, _ := open(t, db, c, ingest.Options{FollowerWait: time.Hour})
		blocked := block(t, b, c)
		coming := b.Expect()
		first := storeAsync(b, event("1337"))
		waitFor(t, "the first event to queue", func() bool { return b.Depth() == 1 })
		c.unblock()
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the writer to take the first event", func() bool { return b.Depth() == 0 })
		if n := len(c.events()); n != 1 {
			t.Fatalf("committed %d events; want only the blocking one while an announced caller is coming", n)
		}
		second := make(chan result, 1)
		go func() {
			inserted, err := coming.Store(context.Background(), event("1337"))
			second <- result{inserted, err}
		}()
		for _, r := range []<-chan result{first, second} {
			if r := <-r; r.err != nil || !slices.Equal(r.inserted, []bool{true}) {
				t.Fatalf("Store = %v, %v", r.inserted, r.err)
			}
		}
		if c.largest() != 2 || len(c.events()) != 3 {
			t.Fatalf("Committed calls %v; want the first and the announced event in one", c.calls)
		}

		gaveUp := b.Expect()
		alone := storeAsync(b, event("1337"))
		waitFor(t, "the writer to take the event", func() bool { return b.Depth() == 0 })
		gaveUp.Done()
		gaveUp.Done() // a second call changes nothing
		if r := <-alone; r.err != nil {
			t.Fatalf("Store after the announced caller gave up: %v", r.err)
		}
	})
}

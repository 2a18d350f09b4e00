// Package ingest is the write path for events: it gathers the events that arrive together into
// one transaction (group commit), so that a burst of webhooks costs one commit, not one each.
//
// There is no fixed delay: a writer waits for the first event, then takes whatever else is
// already waiting. A lone webhook on an idle server commits at once; under load the batches grow
// by themselves while the previous commit is in flight.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/store"
)

var (
	// ErrBusy is returned at once when the queue is full: the caller should ask to be retried
	// (a webhook answers 503, and Twitch sends the message again).
	ErrBusy = errors.New("ingest: queue full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("ingest: closed")
)

// commitTimeout bounds one batch's transaction, and the Committed call after it.
const commitTimeout = 30 * time.Second

// followerWait is the default of Options.FollowerWait.
const followerWait = 2 * time.Millisecond

// Options configure a Batcher. Zero values take the defaults.
type Options struct {
	Store    *store.Store
	Writers  int // concurrent transactions; default 1, and always 1 on SQLite (a single writer)
	MaxBatch int // events per transaction; default 256
	Queue    int // events waiting for a writer before Store refuses with ErrBusy; default 4096
	// Committed is called by the writer after each commit, before the callers are released, with
	// the newly stored events in id order. It may be nil.
	Committed func(ctx context.Context, inserted []*store.Event)
	// FollowerWait bounds how long a writer holds a ready batch for the callers it expects (see
	// Expect and pace); default 2ms. It is not a linger: an idle server commits at once.
	FollowerWait time.Duration
	Metrics      *metrics.Metrics
	Logger       *slog.Logger
}

// Batcher queues events and stores them in batches. It is safe for concurrent use.
type Batcher struct {
	o Options
	// One queue per writer. A broadcaster's events always take the same one, so that one writer
	// commits them and calls Committed in id order; writers of one instance also never wait for
	// each other's broadcaster locks.
	lanes  []chan *job
	depth  atomic.Int64 // events queued, not yet taken by a writer
	coming atomic.Int64 // callers announced by Expect that have not called Store yet
	// arrived is closed, and replaced, whenever coming falls to zero: it wakes a writer waiting
	// for announced callers that gave up without storing anything.
	arrived atomic.Pointer[chan struct{}]
	writers sync.WaitGroup

	mu     sync.RWMutex // held for reading while enqueuing, for writing by Close
	closed bool
}

// job is one Store call: its events are committed together, in one batch or, should the batch
// fail, in a transaction of their own.
type job struct {
	ctx  context.Context
	evs  []*store.Event
	done chan result // buffered: the writer never waits for a caller who left
}

type result struct {
	inserted []bool
	err      error
}

// New starts the writers.
func New(o Options) *Batcher {
	if o.Writers < 1 || o.Store.Dialect() == store.SQLite {
		o.Writers = 1
	}
	if o.MaxBatch < 1 {
		o.MaxBatch = 256
	}
	if o.Queue < 1 {
		o.Queue = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FollowerWait <= 0 {
		o.FollowerWait = followerWait
	}
	b := &Batcher{o: o, lanes: make([]chan *job, o.Writers)}
	b.arrived.Store(new(make(chan struct{})))
	for i := range b.lanes {
		// Every queued job holds an event, so Queue jobs fit and a send never blocks.
		b.lanes[i] = make(chan *job, o.Queue)
		b.writers.Go(func() { b.write(b.lanes[i]) })
	}
	o.Metrics.QueueDepth(b.Depth)
	return b
}

// Store queues evs as one job and returns once they are committed, with inserted flags parallel
// to evs (false: a duplicate, stored before or earlier in the batch) and the ids set; or with an
// error and nothing known to be stored. It returns ErrBusy at once when the queue is full,
// ErrClosed after Close, and ctx.Err() when ctx ends first (the events may still be committed).
func (b *Batcher) Store(ctx context.Context, evs ...*store.Event) ([]bool, error) {
	return b.store(ctx, nil, evs)
}

func (b *Batcher) store(ctx context.Context, a *Arrival, evs []*store.Event) ([]bool, error) {
	if len(evs) == 0 {
		a.Done()
		return nil, nil
	}
	j := &job{ctx: ctx, evs: evs, done: make(chan result, 1)}
	err := b.enqueue(j)
	a.Done() // after the job is queued: a writer woken by the announcement's end finds it
	if err != nil {
		return nil, err
	}
	select {
	case r := <-j.done:
		return r.inserted, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Batcher) enqueue(j *job) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	n := int64(len(j.evs))
	// A job larger than the whole queue still goes in when the queue is empty.
	if d := b.depth.Add(n); d > int64(b.o.Queue) && d != n {
		b.depth.Add(-n)
		return ErrBusy
	}
	b.lanes[b.lane(j.evs[0].BroadcasterID)] <- j
	return nil
}

func (b *Batcher) lane(broadcasterID string) int {
	h := fnv.New32a()
	h.Write([]byte(broadcasterID))
	return int(h.Sum32() % uint32(len(b.lanes)))
}

// Expect announces a caller on its way to Store (a webhook being read and verified). A writer
// with a batch ready holds it, for at most FollowerWait, while announced callers are still coming,
// rather than committing without them and paying a commit each. The caller stores through the
// Arrival, or calls Done when it gives up.
func (b *Batcher) Expect() *Arrival {
	b.coming.Add(1)
	return &Arrival{b: b}
}

// Arrival is a caller announced by Expect.
type Arrival struct {
	b    *Batcher
	done atomic.Bool
}

// Store is Batcher.Store, and ends the announcement once the events are queued.
func (a *Arrival) Store(ctx context.Context, evs ...*store.Event) ([]bool, error) {
	return a.b.store(ctx, a, evs)
}

// Done ends the announcement; calling it again, or after Store, does nothing. A nil Arrival is
// no announcement.
func (a *Arrival) Done() {
	if a != nil && a.done.CompareAndSwap(false, true) && a.b.coming.Add(-1) == 0 {
		close(*a.b.arrived.Swap(new(make(chan struct{}))))
	}
}

// Depth is how many events wait for a writer.
func (b *Batcher) Depth() int { return int(b.depth.Load()) }

// Close stops accepting events, commits those already queued and waits for the writers. Calling
// it again changes nothing.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for _, l := range b.lanes {
			close(l)
		}
	}
	b.mu.Unlock()
	b.writers.Wait()
}

// write runs one writer until its lane is closed and drained.
func (b *Batcher) write(lane <-chan *job) {
	var next *job // taken from the lane but left for the next batch, which it would overfill
	var last pace
	for {
		first := next
		if first == nil {
			j, ok := <-lane
			if !ok {
				return
			}
			first = b.took(j)
		}
		var jobs []*job
		jobs, next = b.gather(lane, first, last.expect(b.o.FollowerWait))
		b.commit(jobs)
		last = pace{jobs: len(jobs), done: time.Now()}
	}
}

// pace remembers the writer's last batch: the callers it released just now are likely to be back
// together (a client keeps its connections busy), and committing the first one alone would cost a
// whole commit for one event.
type pace struct {
	jobs int
	done time.Time
}

// expect is how many jobs the next batch waits for: half the last batch when that one was a
// group that ended within wait, else none (an idle server commits at once).
func (p pace) expect(wait time.Duration) int {
	if p.jobs < 2 || time.Since(p.done) > wait {
		return 0
	}
	return p.jobs / 2
}

// gather adds to first the jobs already waiting, up to MaxBatch events. It waits for more, for at
// most FollowerWait, only while callers announced by Expect are still coming or the batch has
// fewer than expect jobs.
func (b *Batcher) gather(lane <-chan *job, first *job, expect int) (jobs []*job, next *job) {
	jobs, n := []*job{first}, len(first.evs)
	var deadline <-chan time.Time
	for n < b.o.MaxBatch {
		var j *job
		var ok bool
		select {
		case j, ok = <-lane:
		default:
			arrived := *b.arrived.Load() // before reading coming, so that its fall to zero wakes us
			coming := b.coming.Load() > 0
			if len(jobs) >= expect && !coming {
				return jobs, nil
			}
			if deadline == nil {
				t := time.NewTimer(b.o.FollowerWait)
				defer t.Stop()
				deadline = t.C
			}
			if !coming {
				arrived = nil // waiting for the expected jobs only
			}
			select {
			case j, ok = <-lane:
			case <-arrived:
				continue
			case <-deadline:
				return jobs, nil
			}
		}
		if !ok {
			return jobs, nil
		}
		if n+len(b.took(j).evs) > b.o.MaxBatch {
			return jobs, j
		}
		jobs, n = append(jobs, j), n+len(j.evs)
	}
	return jobs, nil
}

func (b *Batcher) took(j *job) *job {
	b.depth.Add(-int64(len(j.evs)))
	return j
}

// commit stores the jobs' events in one transaction. If it fails, each job is tried in a
// transaction of its own, so that one event the database refuses fails only its own caller.
// Jobs whose caller has gone are left out: nobody waits for the answer, and Twitch retries.
func (b *Batcher) commit(jobs []*job) {
	jobs = slices.DeleteFunc(jobs, func(j *job) bool {
		if err := j.ctx.Err(); err != nil {
			j.done <- result{err: err}
			return true
		}
		return false
	})
	if len(jobs) == 0 {
		return
	}
	var evs []*store.Event
	for _, j := range jobs {
		evs = append(evs, j.evs...)
	}
	inserted, err := b.insert(evs)
	if err == nil {
		for _, j := range jobs {
			j.done <- result{inserted: inserted[:len(j.evs):len(j.evs)]}
			inserted = inserted[len(j.evs):]
		}
		return
	}
	if len(jobs) == 1 {
		jobs[0].done <- result{err: err}
		return
	}
	b.o.Logger.Warn("ingest batch failed; storing its jobs one by one", "events", len(evs), "jobs", len(jobs), "err", err)
	for _, j := range jobs {
		inserted, err := b.insert(j.evs)
		j.done <- result{inserted: inserted, err: err}
	}
}

// insert commits one transaction and announces what it stored.
func (b *Batcher) insert(evs []*store.Event) ([]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	start := time.Now()
	inserted, err := b.o.Store.InsertEvents(ctx, evs)
	b.o.Metrics.Batch(len(evs), time.Since(start))
	if err != nil {
		return nil, err
	}
	if b.o.Committed != nil {
		var fresh []*store.Event
		for i, ev := range evs {
			if inserted[i] {
				fresh = append(fresh, ev)
			}
		}
		if len(fresh) > 0 {
			slices.SortFunc(fresh, func(a, b *store.Event) int { return cmp.Compare(a.ID, b.ID) })
			b.o.Committed(ctx, fresh)
		}
	}
	return inserted, nil
}

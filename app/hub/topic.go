package hub

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
)

// Delivery is one stored event on its way to viewers. Frames rendered from it are shared by
// every viewer of the same kind.
type Delivery struct {
	Event *store.Event
	Read  time.Time // when the hub read it: delivery lag is measured from here

	mu     sync.Mutex
	frames map[string][]byte
}

// Frame returns render's result for key, rendering it only once per delivery.
func (d *Delivery) Frame(key string, render func(*store.Event) []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.frames[key]; ok {
		return f
	}
	if d.frames == nil {
		d.frames = map[string][]byte{}
	}
	f := render(d.Event)
	d.frames[key] = f
	return f
}

// topic is one broadcaster's viewers on this instance, its read cursor and recent window.
type topic struct {
	h           *Hub
	broadcaster string
	ready       chan struct{} // closed once cursor is known
	err         error

	mu         sync.Mutex
	members    map[*Member]struct{}
	cursor     int64       // newest id read
	windowFrom int64       // window holds every visible event with id in (windowFrom, cursor]
	window     []*Delivery // oldest first
	reading    bool
	again      bool
	retired    bool // removed from the hub: Join must not add to it
	idleSince  time.Time
	memo       map[string]*memo
}

type memo struct {
	cursor int64
	once   sync.Once
	v      any
	err    error
}

func (t *topic) countLocked(kind string) int {
	n := 0
	for m := range t.members {
		if m.sink.Kind() == kind {
			n++
		}
	}
	return n
}

func (t *topic) membersNow() []*Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := make([]*Member, 0, len(t.members))
	for m := range t.members {
		ms = append(ms, m)
	}
	return ms
}

// since returns the window's deliveries after id; the caller holds t.mu.
func (t *topic) since(after int64) []*Delivery {
	i := len(t.window)
	for i > 0 && t.window[i-1].Event.ID > after {
		i--
	}
	return append([]*Delivery(nil), t.window[i:]...)
}

func (t *topic) memoize(key string, cursor int64, fn func() (any, error)) (any, error) {
	t.mu.Lock()
	e := t.memo[key]
	if e == nil || e.cursor != cursor {
		e = &memo{cursor: cursor}
		t.memo[key] = e
	}
	t.mu.Unlock()
	e.once.Do(func() { e.v, e.err = fn() })
	if e.err != nil {
		t.mu.Lock()
		if t.memo[key] == e {
			delete(t.memo, key) // the next viewer tries again
		}
		t.mu.Unlock()
	}
	return e.v, e.err
}

// ring starts a read, or asks the running one to go round once more.
func (t *topic) ring() {
	t.mu.Lock()
	if t.reading {
		t.again = true
		t.mu.Unlock()
		return
	}
	t.reading = true
	t.mu.Unlock()
	go t.read()
}

// read reads everything after the cursor and fans it out, until nothing new is left. One read
// runs per topic at a time, so deliveries stay in id order.
func (t *topic) read() {
	failures := 0
	for {
		if t.retire() {
			return
		}
		t.mu.Lock()
		after := t.cursor
		t.mu.Unlock()
		evs, err := t.h.o.Read(t.h.ctx, t.broadcaster, after, readBatch)
		if err != nil {
			if t.h.ctx.Err() != nil {
				t.stop()
				return
			}
			failures++
			t.h.o.Logger.Warn("hub read", "broadcaster_id", t.broadcaster, "after", after, "err", err)
			select {
			case <-time.After(min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)):
			case <-t.h.ctx.Done():
				t.stop()
				return
			}
			continue
		}
		failures = 0
		t.fanOut(evs)
		if len(evs) == readBatch {
			continue
		}
		t.mu.Lock()
		if !t.again {
			t.reading = false
			t.mu.Unlock()
			return
		}
		t.again = false
		t.mu.Unlock()
	}
}

func (t *topic) stop() {
	t.mu.Lock()
	t.reading, t.again = false, false
	t.mu.Unlock()
}

// retire forgets a topic nobody has watched for the linger time: its window would go stale
// unread, and a new viewer starts a fresh one.
func (t *topic) retire() bool {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.members) > 0 || t.idleSince.IsZero() || time.Since(t.idleSince) < t.h.o.Linger {
		return false
	}
	if t.h.topics[t.broadcaster] == t {
		delete(t.h.topics, t.broadcaster)
	}
	t.retired, t.reading, t.again = true, false, false
	return true
}

// fanOut advances the cursor over evs and hands the visible ones to every member.
func (t *topic) fanOut(evs []store.Event) {
	if len(evs) == 0 {
		return
	}
	now := time.Now()
	ds := make([]*Delivery, 0, len(evs))
	for i := range evs {
		// A gift's own subs: stored and exported, never a live row. A superseded message of a
		// hype train still goes out: the overlay plays its begin, and the dashboard's next frame
		// of the train replaces its row.
		if !evs[i].Hidden || evs[i].Superseded() {
			ds = append(ds, &Delivery{Event: &evs[i], Read: now})
		}
	}
	t.mu.Lock()
	t.cursor = evs[len(evs)-1].ID
	t.window = append(t.window, ds...)
	if over := len(t.window) - t.h.o.Window; over > 0 {
		t.windowFrom = t.window[over-1].Event.ID
		t.window = append([]*Delivery(nil), t.window[over:]...)
	}
	members := make([]*Member, 0, len(t.members))
	for m := range t.members {
		members = append(members, m)
	}
	t.mu.Unlock()
	if len(ds) == 0 {
		return
	}
	deliver(members, ds)
}

// parallelFrom is the audience from which a fan-out is spread over every processor: a sink may
// write to its viewer's socket in Deliver, and ten thousand writes take one core ~100 ms.
const parallelFrom = 512

// deliver hands ds to every member, on GOMAXPROCS goroutines for a large audience, and returns
// when all have it: the topic's next fan-out follows this one for every member.
func deliver(members []*Member, ds []*Delivery) {
	n := runtime.GOMAXPROCS(0)
	if len(members) < parallelFrom || n < 2 {
		for _, m := range members {
			m.sink.Deliver(ds)
		}
		return
	}
	var wg sync.WaitGroup
	for part := range slices.Chunk(members, (len(members)+n-1)/n) {
		wg.Go(func() {
			for _, m := range part {
				m.sink.Deliver(ds)
			}
		})
	}
	wg.Wait()
}

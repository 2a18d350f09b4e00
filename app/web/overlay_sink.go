package web

import (
	"sync"

	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/overlay"
)

// overlayQueue is how many events and signals an overlay may fall behind before it is dropped
// (it reconnects and catches up from the database).
const overlayQueue = 64

// overlaySink is one overlay stream: few per channel, so each keeps its own goroutine, which
// holds alerts back through a follow burst. Items are *store.Event or overlay.Signal; the
// dashboard's signals (a session ended) are not for overlays.
type overlaySink struct {
	tokenHash string

	mu     sync.Mutex
	c      chan any
	closed bool
}

func newOverlaySink(tokenHash string) *overlaySink {
	return &overlaySink{tokenHash: tokenHash, c: make(chan any, overlayQueue)}
}

func (o *overlaySink) Kind() string { return "overlay" }

func (o *overlaySink) Deliver(ds []*hub.Delivery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range ds {
		if !o.pushLocked(d.Event) {
			return
		}
	}
}

func (o *overlaySink) Signal(v any) {
	if _, ok := v.(overlay.Signal); !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pushLocked(v)
}

// pushLocked queues v, or drops the overlay (closing its channel) when it is full.
func (o *overlaySink) pushLocked(v any) bool {
	if o.closed {
		return false
	}
	select {
	case o.c <- v:
		return true
	default:
		o.closeLocked()
		return false
	}
}

// Close ends the overlay's stream.
func (o *overlaySink) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closeLocked()
}

func (o *overlaySink) closeLocked() {
	if !o.closed {
		o.closed = true
		close(o.c)
	}
}

package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/config"
)

// Admission keeps the live streams of one instance within bounds. A session (or an overlay URL)
// and a client address may hold so many streams: past that they are refused with a 429 that
// says why. Past the instance's total, or when connects queue up, the browser is told to come
// back later at a random moment, so that a storm of reconnects spreads out instead of
// returning all at once.

const (
	connectSlots = 64              // connects doing their database work at once
	connectWait  = 5 * time.Second // the longest a connect waits for a slot
	retryMin     = 2000            // ms: the overload answer's retry is jittered in [retryMin, retryMax]
	retryMax     = 10000
)

// Reasons a stream is refused, the values of tev_stream_refusals_total's reason label.
const (
	refusedSession = "session"
	refusedAddress = "address"
	refusedBusy    = "overload"
)

// admission counts the open streams per session, per address and in all.
type admission struct {
	perSession, perAddress, max int // max 0: no total cap

	mu        sync.Mutex
	sessions  map[string]int
	addresses map[string]int
	open      int

	connect chan struct{} // a token per connect doing its database work
}

func newAdmission(cfg config.Config) *admission {
	return &admission{perSession: cfg.StreamsPerSession, perAddress: cfg.StreamsPerAddress, max: cfg.StreamsMax,
		sessions: map[string]int{}, addresses: map[string]int{}, connect: make(chan struct{}, connectSlots)}
}

// streamSlot is one admitted stream's place; release gives it back once.
type streamSlot struct {
	a         *admission
	key, addr string
	once      sync.Once
}

// admit takes a slot for a stream of key (a session, an overlay) from addr. It returns the
// refusal's reason when a cap is reached.
func (a *admission) admit(key, addr string) (*streamSlot, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.perSession > 0 && a.sessions[key] >= a.perSession:
		return nil, refusedSession
	case a.perAddress > 0 && a.addresses[addr] >= a.perAddress:
		return nil, refusedAddress
	case a.max > 0 && a.open >= a.max:
		return nil, refusedBusy
	}
	a.sessions[key]++
	a.addresses[addr]++
	a.open++
	return &streamSlot{a: a, key: key, addr: addr}, ""
}

// release gives the slot back; it may be called more than once, and on nil.
func (s *streamSlot) release() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		a := s.a
		a.mu.Lock()
		defer a.mu.Unlock()
		a.open--
		decrement(a.sessions, s.key)
		decrement(a.addresses, s.addr)
	})
}

func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k) // the maps hold only what is open
		return
	}
	m[k]--
}

// connecting waits for a connect slot: the catch-up's queries of a storm of connects run a few
// at a time, so that the database answers each of them quickly instead of all of them slowly.
// false when none came free in time (or the viewer left).
func (a *admission) connecting(ctx context.Context) (done func(), ok bool) {
	select {
	case a.connect <- struct{}{}:
		return func() { <-a.connect }, true
	default:
	}
	t := time.NewTimer(connectWait)
	defer t.Stop()
	select {
	case a.connect <- struct{}{}:
		return func() { <-a.connect }, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// admitStream takes a stream slot for key from the client's address. When it is refused, the
// answer is written and the slot is nil: a 429 for a cap, or the overload answer.
func (s *Server) admitStream(c *gin.Context, key, capMsg string) *streamSlot {
	slot, reason := s.admission.admit(key, c.ClientIP())
	if slot != nil {
		return slot
	}
	s.metrics.StreamRefused(reason)
	switch reason {
	case refusedSession:
		s.fail(c, &httpError{http.StatusTooManyRequests, fmt.Sprintf(capMsg, s.admission.perSession), nil})
	case refusedAddress:
		s.fail(c, &httpError{http.StatusTooManyRequests, fmt.Sprintf(
			"too many open live streams from your address (%d); close some tabs", s.admission.perAddress), nil})
	default:
		busyStream(c)
	}
	return nil
}

// streamBusy answers a stream that could not get a connect slot in time.
func (s *Server) streamBusy(c *gin.Context) {
	s.metrics.StreamRefused(refusedBusy)
	busyStream(c)
}

// busyStream is the overload answer: an event stream that only sets the reconnection delay, at
// random between retryMin and retryMax, and ends. EventSource then comes back by itself, and
// the browsers of a storm come back spread out.
func busyStream(c *gin.Context) {
	w := startSSE(c)
	fmt.Fprintf(w, "retry: %d\n\n", retryMin+rand.IntN(retryMax-retryMin+1))
	w.Flush()
}

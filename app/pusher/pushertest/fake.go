// Package pushertest is a fake Pusher Channels HTTP API for tests. It checks
// request signatures the way Pusher's servers do, enforces Pusher's publish
// limits, and records every event it accepts.
package pushertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Event is one event the fake accepted. A trigger to several channels is
// recorded as one Event per channel.
type Event struct {
	Channel  string
	Name     string
	Data     string
	SocketID string
	At       time.Time
}

// Fake is a running fake Pusher HTTP API. URL, AppID, Key and Secret are set
// by New and must not be changed afterwards.
type Fake struct {
	URL    string
	AppID  string
	Key    string
	Secret string

	mu       sync.Mutex
	batches  [][]Event
	requests int
	failN    int
	failCode int
	now      func() time.Time
}

// New starts a fake on a local httptest server and closes it when the test
// ends.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{
		// pusher.ClientFromURL only accepts numeric app ids.
		AppID:  "424242",
		Key:    "fake-key",
		Secret: "fake-secret",
		now:    time.Now,
	}
	mux := http.NewServeMux()
	mux.Handle("POST /apps/{app_id}/events", f.publish(f.events))
	mux.Handle("POST /apps/{app_id}/batch_events", f.publish(f.batchEvents))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// PusherURL returns the fake's address in the PUSHER_URL format that
// pusher.ClientFromURL accepts.
func (f *Fake) PusherURL() string {
	host := strings.TrimPrefix(f.URL, "http://")
	return "http://" + f.Key + ":" + f.Secret + "@" + host + "/apps/" + f.AppID
}

// Events returns every accepted event, in the order the fake accepted them.
func (f *Fake) Events() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []Event
	for _, b := range f.batches {
		all = append(all, b...)
	}
	return all
}

// Batches returns the events of each accepted request, one slice per request.
func (f *Fake) Batches() [][]Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]Event, len(f.batches))
	for i, b := range f.batches {
		out[i] = append([]Event(nil), b...)
	}
	return out
}

// FailNext makes the next n publish requests answer status and publish
// nothing. It replaces any failures still pending.
func (f *Fake) FailNext(n int, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failCode = n, status
}

// Requests returns how many publish requests the fake received, whatever
// their outcome.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// setNow replaces the fake's clock, so tests can probe timestamp checks.
func (f *Fake) setNow(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

func (f *Fake) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

// begin counts a publish request and reports the injected failure status to
// answer with, or 0. Injected failures come before authentication because they
// stand for an outage in front of Pusher's API, not a judgement on the request.
func (f *Fake) begin() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.failN > 0 {
		f.failN--
		return f.failCode
	}
	return 0
}

func (f *Fake) record(events []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, events)
}

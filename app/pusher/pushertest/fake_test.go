package pushertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pusher/pusher-http-go/v5"
)

// spy is an http.RoundTripper that lets a test alter each request after the
// real client has signed it, and remembers the answer it got.
type spy struct {
	tamper func(*http.Request)

	mu     sync.Mutex
	status int
	body   string
}

func (s *spy) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.tamper != nil {
		s.tamper(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	s.mu.Lock()
	s.status, s.body = resp.StatusCode, string(b)
	s.mu.Unlock()
	return resp, nil
}

func (s *spy) last() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.body
}

// newClient builds a real pusher client from pusherURL whose traffic goes
// through the returned spy.
func newClient(t *testing.T, pusherURL string, tamper func(*http.Request)) (*pusher.Client, *spy) {
	t.Helper()
	c, err := pusher.ClientFromURL(pusherURL)
	if err != nil {
		t.Fatalf("ClientFromURL(%q): %v", pusherURL, err)
	}
	s := &spy{tamper: tamper}
	c.HTTPClient = &http.Client{Transport: s, Timeout: 5 * time.Second}
	return c, s
}

func TestPusherURL(t *testing.T) {
	f := New(t)
	c, err := pusher.ClientFromURL(f.PusherURL())
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID != f.AppID || c.Key != f.Key || c.Secret != f.Secret || "http://"+c.Host != f.URL || c.Secure {
		t.Errorf("client from %q = %+v", f.PusherURL(), c)
	}
}

func TestTriggerRecorded(t *testing.T) {
	f := New(t)
	c, s := newClient(t, f.PusherURL(), nil)

	if err := c.Trigger("chat", "message", map[string]string{"hi": "there"}); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	socket := "123.456"
	if _, err := c.TriggerMultiWithParams([]string{"a", "private-b"}, "follow", "raw",
		pusher.TriggerParams{SocketID: &socket}); err != nil {
		t.Fatalf("TriggerMultiWithParams: %v", err)
	}
	if status, body := s.last(); status != http.StatusOK || body != "{}" {
		t.Errorf("answer = %d %q, want 200 {}", status, body)
	}

	got := f.Batches()
	want := [][]Event{
		{{Channel: "chat", Name: "message", Data: `{"hi":"there"}`}},
		{
			{Channel: "a", Name: "follow", Data: "raw", SocketID: "123.456"},
			{Channel: "private-b", Name: "follow", Data: "raw", SocketID: "123.456"},
		},
	}
	checkBatches(t, got, want)
	if n := len(f.Events()); n != 3 {
		t.Errorf("Events() has %d events, want 3", n)
	}
	if n := f.Requests(); n != 2 {
		t.Errorf("Requests() = %d, want 2", n)
	}
}

func TestTriggerBatchRecorded(t *testing.T) {
	f := New(t)
	c, s := newClient(t, f.PusherURL(), nil)
	socket := "1.2"
	batch := []pusher.Event{
		{Channel: "one", Name: "e1", Data: "d1"},
		{Channel: "two", Name: "e2", Data: map[string]int{"n": 2}, SocketID: &socket},
		{Channel: "one", Name: "e3", Data: []byte("d3")},
	}
	resp, err := c.TriggerBatch(batch)
	if err != nil {
		t.Fatalf("TriggerBatch: %v", err)
	}
	if len(resp.Batch) != 3 {
		t.Errorf("response batch has %d entries, want 3", len(resp.Batch))
	}
	if status, body := s.last(); status != http.StatusOK || body != `{"batch":[{},{},{}]}` {
		t.Errorf("answer = %d %q", status, body)
	}
	checkBatches(t, f.Batches(), [][]Event{{
		{Channel: "one", Name: "e1", Data: "d1"},
		{Channel: "two", Name: "e2", Data: `{"n":2}`, SocketID: "1.2"},
		{Channel: "one", Name: "e3", Data: "d3"},
	}})
}

// checkBatches compares batches, ignoring At apart from requiring it set.
func checkBatches(t *testing.T, got, want [][]Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("batch %d has %d events, want %d: %+v", i, len(got[i]), len(want[i]), got[i])
		}
		for j, w := range want[i] {
			g := got[i][j]
			if g.At.IsZero() {
				t.Errorf("batch %d event %d has no time", i, j)
			}
			g.At = time.Time{}
			if g != w {
				t.Errorf("batch %d event %d = %+v, want %+v", i, j, g, w)
			}
		}
	}
}

func batchOf(n int) []pusher.Event {
	batch := make([]pusher.Event, n)
	for i := range batch {
		batch[i] = pusher.Event{Channel: "chat", Name: fmt.Sprintf("e%d", i), Data: "x"}
	}
	return batch
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name    string
		publish func(c *pusher.Client) error
		status  int
	}{
		{"10-event batch", func(c *pusher.Client) error { _, err := c.TriggerBatch(batchOf(10)); return err }, 200},
		{"11-event batch", func(c *pusher.Client) error { _, err := c.TriggerBatch(batchOf(11)); return err }, 400},
		{"10240-byte data", func(c *pusher.Client) error {
			return c.Trigger("chat", "big", strings.Repeat("x", 10240))
		}, 200},
		{"10241-byte data", func(c *pusher.Client) error {
			return c.Trigger("chat", "big", strings.Repeat("x", 10241))
		}, 413},
		{"10241-byte data in batch", func(c *pusher.Client) error {
			b := batchOf(3)
			b[2].Data = strings.Repeat("x", 10241)
			_, err := c.TriggerBatch(b)
			return err
		}, 413},
		{"200-char event name", func(c *pusher.Client) error {
			return c.Trigger("chat", strings.Repeat("n", 200), "x")
		}, 200},
		{"201-char event name", func(c *pusher.Client) error {
			return c.Trigger("chat", strings.Repeat("n", 201), "x")
		}, 400},
		{"164-char channel", func(c *pusher.Client) error {
			return c.Trigger(strings.Repeat("c", 164), "e", "x")
		}, 200},
		{"165-char channel", func(c *pusher.Client) error {
			return c.Trigger(strings.Repeat("c", 165), "e", "x")
		}, 400},
		{"100 channels", func(c *pusher.Client) error {
			return c.TriggerMulti(channels(100), "e", "x")
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(t)
			c, s := newClient(t, f.PusherURL(), nil)
			// The client refuses data over 10 KB itself; lift that so the
			// fake's own limit is what gets tested.
			c.OverrideMaxMessagePayloadKB = 20
			err := tt.publish(c)
			status, body := s.last()
			if status != tt.status {
				t.Fatalf("answer = %d %q (client error %v), want %d", status, body, err, tt.status)
			}
			if status == http.StatusRequestEntityTooLarge && !strings.Contains(body, "Request Entity Too Large") {
				t.Errorf("413 body = %q", body)
			}
			if accepted := len(f.Batches()) == 1; accepted != (status == 200) || (err == nil) != (status == 200) {
				t.Errorf("status %d but client error %v and %d batches recorded", status, err, len(f.Batches()))
			}
		})
	}
}

func channels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ch-%d", i)
	}
	return out
}

func TestRawBodies(t *testing.T) {
	many, _ := json.Marshal(channels(101))
	tests := []struct {
		name, endpoint, body string
		status               int
	}{
		{"valid event", "events", `{"name":"e","data":"x","channels":["chat"]}`, 200},
		{"valid batch", "batch_events", `{"batch":[{"channel":"chat","name":"e","data":"x"}]}`, 200},
		{"bad channel characters", "events", `{"name":"e","data":"x","channels":["bad channel!"]}`, 400},
		{"bad channel in batch", "batch_events", `{"batch":[{"channel":"a/b","name":"e","data":"x"}]}`, 400},
		{"101 channels", "events", `{"name":"e","data":"x","channels":` + string(many) + `}`, 400},
		{"no channels", "events", `{"name":"e","data":"x","channels":[]}`, 400},
		{"empty batch", "batch_events", `{"batch":[]}`, 400},
		{"missing name", "events", `{"data":"x","channels":["chat"]}`, 400},
		{"missing data", "events", `{"name":"e","channels":["chat"]}`, 400},
		{"data not a string", "events", `{"name":"e","data":{"a":1},"channels":["chat"]}`, 400},
		{"bad socket_id", "events", `{"name":"e","data":"x","channels":["chat"],"socket_id":"abc"}`, 400},
		{"invalid JSON", "events", `{"name":`, 400},
		{"trailing data", "events", `{"name":"e","data":"x","channels":["chat"]} {}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(t)
			status, body := signedPost(t, f, tt.endpoint, tt.body)
			if status != tt.status {
				t.Errorf("answer = %d %q, want %d", status, body, tt.status)
			}
			if accepted := len(f.Batches()) == 1; accepted != (status == 200) {
				t.Errorf("status %d but %d batches recorded", status, len(f.Batches()))
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	f := New(t)
	c, s := newClient(t, f.PusherURL(), nil)
	f.FailNext(2, http.StatusInternalServerError)
	for i := range 2 {
		if err := c.Trigger("chat", "e", "x"); err == nil {
			t.Fatalf("attempt %d succeeded, want failure", i+1)
		}
		if status, _ := s.last(); status != http.StatusInternalServerError {
			t.Errorf("attempt %d answered %d, want 500", i+1, status)
		}
	}
	if err := c.Trigger("chat", "e", "x"); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if n := f.Requests(); n != 3 {
		t.Errorf("Requests() = %d, want 3", n)
	}
	if n := len(f.Events()); n != 1 {
		t.Errorf("Events() has %d events, want 1", n)
	}

	f.FailNext(1, http.StatusServiceUnavailable)
	if _, err := c.TriggerBatch(batchOf(2)); err == nil {
		t.Fatal("batch succeeded, want 503")
	}
	if status, _ := s.last(); status != http.StatusServiceUnavailable {
		t.Errorf("batch answered %d, want 503", status)
	}
}

func TestConcurrentTriggers(t *testing.T) {
	f := New(t)
	c, _ := newClient(t, f.PusherURL(), nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := c.Trigger("chat", fmt.Sprintf("e%d", i), "x"); err != nil {
				t.Errorf("Trigger %d: %v", i, err)
			}
			_ = f.Events()
		})
	}
	wg.Wait()
	if n := len(f.Events()); n != 20 {
		t.Errorf("Events() has %d events, want 20", n)
	}
	if n := f.Requests(); n != 20 {
		t.Errorf("Requests() = %d, want 20", n)
	}
}

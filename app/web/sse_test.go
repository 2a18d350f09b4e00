package web_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one dispatched server-sent event, or a comment line (Comment set, the rest empty).
type sseEvent struct {
	Type    string
	ID      string
	Data    string
	Comment string
}

// stream is an open GET /dashboard/stream, read by a text/event-stream parser of our own.
type stream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent // closed at the end of the response body
	stop   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// stream opens the dashboard stream; lastEventID "" sends no Last-Event-ID header.
func (b *browser) stream(lastEventID string) *stream {
	b.t.Helper()
	return b.streamAt("/dashboard/stream", lastEventID)
}

// streamAt opens a stream at path (the dashboard stream with a query).
func (b *browser) streamAt(path, lastEventID string) *stream {
	b.t.Helper()
	var headers []string
	if lastEventID != "" {
		headers = []string{"Last-Event-ID", lastEventID}
	}
	return b.streamWith(b.e.url+path, headers...)
}

// streamWith opens a stream at the absolute URL u; headers are name, value pairs.
func (b *browser) streamWith(u string, headers ...string) *stream {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		cancel()
		b.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		b.t.Fatalf("stream: %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: b.t, resp: resp, events: make(chan sseEvent, 1024), stop: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	b.t.Cleanup(s.Close)
	go func() {
		defer close(s.done)
		parseSSE(resp.Body, s.events, s.stop)
	}()
	return s
}

// Close disconnects, as a browser leaving the page.
func (s *stream) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// parseSSE reads the stream as the EventSource algorithm does: fields until a blank line, which
// dispatches the event when it has data. Comments are passed on too, so tests can see heartbeats.
func parseSSE(r io.Reader, out chan<- sseEvent, stop <-chan struct{}) {
	defer close(out)
	send := func(ev sseEvent) bool {
		select {
		case out <- ev:
			return true
		case <-stop:
			return false
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	sc.Split(scanSSELines)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				ev.Data = strings.Join(data, "\n")
				if !send(ev) {
					return
				}
			}
			ev, data = sseEvent{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			if !send(sseEvent{Comment: strings.TrimPrefix(line[1:], " ")}) {
				return
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Type = value
		case "id":
			ev.ID = value
		case "data":
			data = append(data, value)
		}
	}
}

// scanSSELines splits lines as EventSource does: a line ends at CRLF, at LF, or at a lone CR.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0 && atEOF && len(data) > 0:
		return len(data), data, nil
	case i < 0:
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data) && data[i+1] == '\n':
		return i + 2, data[:i], nil
	case i+1 < len(data) || atEOF:
		return i + 1, data[:i], nil
	default:
		return 0, nil, nil // a CR at the end of what has arrived: it may start a CRLF
	}
}

// next returns the next event, skipping comments.
func (s *stream) next() sseEvent {
	s.t.Helper()
	return s.until(func(ev sseEvent) bool { return ev.Comment == "" })
}

// nextComment returns the next comment line, skipping events.
func (s *stream) nextComment() string {
	s.t.Helper()
	return s.until(func(ev sseEvent) bool { return ev.Comment != "" }).Comment
}

// until reads up to the first message that ok accepts. The deadline is for the whole wait, since
// heartbeats keep arriving while the awaited message never does.
func (s *stream) until(ok func(sseEvent) bool) sseEvent {
	s.t.Helper()
	deadline := time.After(waitLong)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				s.t.Fatal("stream ended")
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			s.t.Fatal("the awaited message never came (hang guard)")
		}
	}
}

// waitEOF reads until the server ends the response body.
func (s *stream) waitEOF() {
	s.t.Helper()
	s.rest()
}

// rest reads every remaining event, skipping comments, until the server ends the stream.
func (s *stream) rest() []sseEvent {
	s.t.Helper()
	var evs []sseEvent
	deadline := time.After(waitLong)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return evs
			}
			if ev.Comment == "" {
				evs = append(evs, ev)
			}
		case <-deadline:
			s.t.Fatalf("stream still open after %+v (hang guard)", evs)
		}
	}
}

// wantEvent requires the next event to be a live/replayed row of event id.
func (s *stream) wantEvent(id int64) row {
	s.t.Helper()
	ev := s.next()
	if ev.Type != "event" || ev.ID != strconv.FormatInt(id, 10) {
		s.t.Fatalf("got %q id %q, want \"event\" id %d", ev.Type, ev.ID, id)
	}
	rs := rows(s.t, parseHTML(s.t, ev.Data))
	if len(rs) != 1 || rs[0].id != id {
		s.t.Fatalf("event data rows = %v, want exactly row %d", rowIDs(rs), id)
	}
	return rs[0]
}

// wantReset requires the next event to be a reset carrying newest as id; it returns its rows.
func (s *stream) wantReset(newest int64) []row {
	s.t.Helper()
	ev := s.next()
	wantID := ""
	if newest > 0 {
		wantID = strconv.FormatInt(newest, 10)
	}
	if ev.Type != "reset" || ev.ID != wantID {
		s.t.Fatalf("got %q id %q, want \"reset\" id %q", ev.Type, ev.ID, wantID)
	}
	return rows(s.t, parseHTML(s.t, ev.Data))
}

//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

const (
	crashSecret       = "crash-test-eventsub-secret"
	crashMetricsToken = "crash-test-metrics-token"
	crashSenders      = 32
	// crashAcks is how many acknowledgements the instance gives before it is killed.
	crashAcks = 300
)

// crashBroadcasters are the channels the load is spread over. On PostgreSQL the batcher's four
// writers each take the channels that hash to their lane; these eight reach all four lanes.
var crashBroadcasters = []string{"1337", "1338", "1339", "1340", "1341", "1342", "1343", "1344"}

// TestKillLosesNoAcknowledgedEvent is the README's promise that nothing acknowledged is ever lost,
// tested the hard way: the real binary, under load from 32 senders so that the ingest batcher
// groups webhooks into shared commits (on PostgreSQL over its writers), is killed with
// SIGKILL while requests are in flight. Restarted on the same database, it must hold every
// message it answered 204 exactly once, answer Twitch's re-sends of them as duplicates, and a
// viewer that read the log during the load must not have been passed by an event that became
// visible later with a smaller id.
func TestKillLosesNoAcknowledgedEvent(t *testing.T) {
	bin := buildApp(t)
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		first := startProcess(t, bin, db)
		st := storetest.Open(t, db) // the test's own connection to the app's database
		viewer := watchLog(st, crashBroadcasters)
		load := startLoad(first.URL)
		t.Cleanup(load.stop)

		first.awaitGroupCommit(t, load)
		inFlight := load.inFlight.Load()
		first.kill(t, load)
		load.wait()
		t.Logf("%s: killed after %d acknowledgements with %d requests in flight; statuses %v",
			db.Name, load.ackCount(), inFlight, load.statuses)
		if n := load.errorsBeforeKill.Load(); n > 0 {
			t.Errorf("%d requests failed before the kill: %v", n, load.firstError)
		}

		second := startProcess(t, bin, db)
		seen := viewer.stop(t)

		expectStoredOnce(t, st, load.ackedIDs())
		total := 0
		for _, b := range crashBroadcasters {
			events := readLog(t, st, b)
			checkInOrder(t, b, events, seen[b])
			total += len(events)
		}
		t.Logf("%s: %d events stored, %d acknowledged", db.Name, total, load.ackCount())

		// Twitch re-sends what it thinks failed; here, messages the killed instance did
		// acknowledge (the newest ones, most likely from the last batches before the kill).
		resent := load.lastAcked(5)
		ids := make([]string, len(resent))
		for i, msg := range resent {
			ids[i] = messageID(msg)
			if code := deliver(t, second.URL, msg); code != http.StatusNoContent {
				t.Errorf("re-send of acknowledged message %s answered %d, want 204", ids[i], code)
			}
		}
		expectStoredOnce(t, st, ids)
		after := 0
		for _, b := range crashBroadcasters {
			n, err := st.CountEvents(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			after += n
		}
		if after != total {
			t.Errorf("re-sends changed the number of stored events from %d to %d", total, after)
		}
	})
}

// expectStoredOnce fails the test unless every message id is stored exactly once.
func expectStoredOnce(t *testing.T, st *store.Store, ids []string) {
	t.Helper()
	counts, err := st.MessageCounts(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var lost, doubled []string
	for _, id := range ids {
		switch counts[id] {
		case 1:
		case 0:
			lost = append(lost, id)
		default:
			doubled = append(doubled, id)
		}
	}
	if len(lost) > 0 || len(doubled) > 0 {
		t.Fatalf("of %d acknowledged messages, %d are lost (%q) and %d stored more than once (%q)",
			len(ids), len(lost), lost[:min(len(lost), 5)], len(doubled), doubled[:min(len(doubled), 5)])
	}
}

// checkInOrder: the log of a channel is in strictly increasing ids, and the viewer, which read
// it "after the last id it had" during the load, saw exactly its beginning: no event became
// visible below an id the viewer had already passed.
func checkInOrder(t *testing.T, broadcaster string, log []store.Event, seen []int64) {
	t.Helper()
	for i := 1; i < len(log); i++ {
		if log[i].ID <= log[i-1].ID {
			t.Errorf("channel %s: id %d follows id %d", broadcaster, log[i].ID, log[i-1].ID)
		}
	}
	if len(seen) > len(log) {
		t.Errorf("channel %s: the viewer saw %d events, the log holds %d", broadcaster, len(seen), len(log))
		return
	}
	for i, id := range seen {
		if log[i].ID != id {
			t.Errorf("channel %s: the viewer's %dth event was id %d, but the log's is %d: an event became visible after a later one",
				broadcaster, i+1, id, log[i].ID)
			return
		}
	}
}

// readLog is every event of a channel, oldest first, read a page at a time.
func readLog(t *testing.T, st *store.Store, broadcaster string) []store.Event {
	t.Helper()
	var log []store.Event
	var after int64
	for {
		page, err := st.EventsAfter(context.Background(), broadcaster, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return log
		}
		log = append(log, page...)
		after = page[len(page)-1].ID
	}
}

// ---- the binary -------------------------------------------------------------------------

// buildApp builds the program once for the test, as `go build` would for production.
func buildApp(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the app: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tev")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// appProcess is the program running as a process of its own, which can be killed.
type appProcess struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is gone; cmd.ProcessState is set then
	log    *lockedBuffer
}

// startProcess runs the binary in demo mode on db and a free port, and waits until it is healthy.
// It is killed, if still running, when the test ends.
func startProcess(t *testing.T, bin string, db storetest.DB) *appProcess {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	p := &appProcess{URL: "http://127.0.0.1:" + port, exited: make(chan struct{}), log: &lockedBuffer{}}
	p.cmd = exec.Command(bin)
	// Only these variables: the developer's own environment stays out.
	p.cmd.Env = []string{"PORT=" + port, "PUBLIC_URL=" + p.URL, "DATA_DIR=" + db.DataDir, "DATABASE_URL=" + db.DatabaseURL,
		"EVENTSUB_SECRET=" + crashSecret, "METRICS_TOKEN=" + crashMetricsToken}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("log of the app at %s on %s:\n%s", p.URL, db.Name, p.log.String())
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(hangGuard)
	for {
		select {
		case <-p.exited:
			t.Fatalf("the app exited before it was healthy (%v)\nlog:\n%s", p.cmd.ProcessState, p.log.String())
		default:
		}
		// Only once this process listens: until then another program may hold the port.
		if strings.Contains(p.log.String(), "msg=listening") {
			if resp, err := client.Get(p.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app at %s did not become healthy\nlog:\n%s", p.URL, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitGroupCommit waits until the instance has acknowledged crashAcks messages and its metrics
// show a batch of more than one event: the kill then lands on the group-commit path under load.
func (p *appProcess) awaitGroupCommit(t *testing.T, l *load) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		if l.ackCount() >= crashAcks {
			events, batches := p.batches(t)
			if events > batches {
				t.Logf("%.0f events committed in %.0f batches before the kill", events, batches)
				return
			}
		}
		if l.errorsBeforeKill.Load() > 0 {
			t.Fatalf("requests failed under load: %v", l.firstError)
		}
		if time.Now().After(deadline) {
			events, batches := p.batches(t)
			t.Fatalf("after %d acknowledgements, %.0f events in %.0f batches: no group commit to kill", l.ackCount(), events, batches)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// batches reads from /metrics how many events the ingest batcher committed, in how many batches.
func (p *appProcess) batches(t *testing.T) (events, batches float64) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+crashMetricsToken)
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		switch name {
		case "tev_ingest_batch_events_sum":
			events, _ = strconv.ParseFloat(value, 64)
		case "tev_ingest_batch_events_count":
			batches, _ = strconv.ParseFloat(value, 64)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	return events, batches
}

// kill sends SIGKILL, as `kill -9` does, and waits until the process is gone.
func (p *appProcess) kill(t *testing.T, l *load) {
	t.Helper()
	l.killed.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(hangGuard):
		t.Fatal("the app did not die of SIGKILL")
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the app ended with %v, not killed by SIGKILL", p.cmd.ProcessState)
	}
}

// ---- Twitch's side under load -----------------------------------------------------------

// load is crashSenders goroutines sending signed follows, each until a request of its own fails
// (once the instance is killed) or stop is called.
type load struct {
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	next     atomic.Int64
	inFlight atomic.Int64
	killed   atomic.Bool

	mu               sync.Mutex
	acked            []eventsub.Outgoing // answered 204, in the order the answers came
	statuses         map[string]int
	firstError       error
	errorsBeforeKill atomic.Int64
}

func startLoad(appURL string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), 2*hangGuard)
	l := &load{ctx: ctx, stop: cancel, statuses: map[string]int{}}
	client := &http.Client{Timeout: hangGuard, Transport: &http.Transport{MaxIdleConnsPerHost: crashSenders}}
	for range crashSenders {
		l.wg.Go(func() {
			for l.ctx.Err() == nil && l.send(client, appURL+"/webhooks/twitch") {
			}
		})
	}
	return l
}

// send delivers one new follow and reports whether the sender should go on.
func (l *load) send(client *http.Client, callback string) bool {
	i := l.next.Add(1)
	b := crashBroadcasters[int(i)%len(crashBroadcasters)]
	follower := strconv.FormatInt(2_000_000+i, 10)
	msg, err := eventsub.NewFollow(crashSecret, callback, eventsub.Follower{ID: b, Login: "channel_" + b, Name: "Channel_" + b},
		eventsub.Follower{ID: follower, Login: "crash_" + follower, Name: "Crash_" + follower}, time.Now())
	if err != nil {
		l.failed(err)
		return false
	}
	req, err := msg.Request(callback)
	if err != nil {
		l.failed(err)
		return false
	}
	l.inFlight.Add(1)
	resp, err := client.Do(req.WithContext(l.ctx))
	l.inFlight.Add(-1)
	if err != nil {
		if !l.killed.Load() && l.ctx.Err() == nil {
			l.failed(err)
		}
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[strconv.Itoa(resp.StatusCode)]++
	if resp.StatusCode == http.StatusNoContent {
		l.acked = append(l.acked, msg)
	}
	return true
}

func (l *load) failed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstError == nil {
		l.firstError = err
	}
	l.errorsBeforeKill.Add(1)
}

// wait returns once every sender has stopped.
func (l *load) wait() { l.wg.Wait() }

func (l *load) ackCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) ackedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, len(l.acked))
	for i, msg := range l.acked {
		ids[i] = messageID(msg)
	}
	return ids
}

func (l *load) lastAcked(n int) []eventsub.Outgoing {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked[max(0, len(l.acked)-n):])
}

func messageID(msg eventsub.Outgoing) string { return msg.Header.Get(eventsub.HeaderMessageID) }

// ---- a viewer of the log ----------------------------------------------------------------

// logViewer reads each channel's log the way a reconnecting viewer does, "events after the last
// id I have", over and over, and keeps the ids it saw.
type logViewer struct {
	st    *store.Store
	stopc chan struct{}
	done  chan struct{}
	seen  map[string][]int64
	err   error
}

func watchLog(st *store.Store, broadcasters []string) *logViewer {
	v := &logViewer{st: st, stopc: make(chan struct{}), done: make(chan struct{}), seen: map[string][]int64{}}
	go func() {
		defer close(v.done)
		ctx, cancel := context.WithTimeout(context.Background(), 3*hangGuard)
		defer cancel()
		for {
			select {
			case <-v.stopc:
				v.err = v.round(ctx, broadcasters) // what the restart's recovery made visible
				return
			default:
			}
			if v.err = v.round(ctx, broadcasters); v.err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return v
}

func (v *logViewer) round(ctx context.Context, broadcasters []string) error {
	for _, b := range broadcasters {
		seen := v.seen[b]
		var after int64
		if len(seen) > 0 {
			after = seen[len(seen)-1]
		}
		page, err := v.st.EventsAfter(ctx, b, after, 1000)
		if err != nil {
			return err
		}
		for _, ev := range page {
			seen = append(seen, ev.ID)
		}
		v.seen[b] = seen
	}
	return nil
}

// stop ends the viewer after one last read, and returns the ids it saw, per channel.
func (v *logViewer) stop(t *testing.T) map[string][]int64 {
	t.Helper()
	close(v.stopc)
	<-v.done
	if v.err != nil && !errors.Is(v.err, context.Canceled) {
		t.Fatalf("the viewer could not read the log: %v", v.err)
	}
	return v.seen
}

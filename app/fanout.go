package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// fanoutCmd measures the read side: many dashboard viewers on a running app in demo mode, the
// memory each costs, and how late a follow reaches each of them. Point it only at a server you run.
func fanoutCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o fanoutOptions
	var urls urlList
	fs.Var(&urls, "url", "the app's address, e.g. http://127.0.0.1:8080; repeat to spread viewers over instances")
	fs.IntVar(&o.viewers, "viewers", 10_000, "dashboard streams to open")
	fs.IntVar(&o.perSession, "per-session", 10, "viewers sharing one demo session (one sign-in each)")
	fs.IntVar(&o.addresses, "addresses", 0, "bind local addresses 127.0.0.1..N round-robin, for per-address caps (0: one per 100 viewers)")
	fs.Float64Var(&o.rate, "rate", 2000, "new connections per second")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "wait this long after connecting before reading memory")
	fs.IntVar(&o.pid, "pid", 0, "the app's process id, to read its VmRSS from /proc")
	fs.StringVar(&o.metricsToken, "metrics-token", getenv("METRICS_TOKEN"), "read memory from GET /metrics with this bearer token (default $METRICS_TOKEN)")
	fs.IntVar(&o.events, "events", 20, "follows to send while every viewer is connected")
	fs.DurationVar(&o.gap, "gap", 200*time.Millisecond, "time between two follows")
	fs.IntVar(&o.missed, "missed", 0, "then disconnect everyone, send this many follows, reconnect with Last-Event-ID and check each viewer got them")
	fs.StringVar(&o.secret, "secret", getenv("EVENTSUB_SECRET"), "the app's EventSub secret (default $EVENTSUB_SECRET)")
	fs.StringVar(&o.webhook, "webhook", "", "the webhook callback (default: the first --url + /webhooks/twitch)")
	fs.StringVar(&o.broadcaster, "broadcaster", or(getenv("DEMO_BROADCASTER_ID"), config.DefaultDemoBroadcasterID), "the demo streamer's Twitch user id")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long after the last follow to wait for deliveries (and for connects)")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(urls) == 0 {
		urls = urlList{"http://localhost:8080"}
	}
	if err := o.validate(urls); err != nil {
		return err
	}
	if n, err := raiseOpenFiles(); err == nil && n > 0 && n < uint64(o.viewers)+64 {
		fmt.Fprintf(stderr, "fanout: only %d open files allowed; %d viewers will run out (raise the hard limit: ulimit -Hn)\n", n, o.viewers)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	f, err := newFanout(o)
	if err != nil {
		return err
	}
	return f.run(ctx, stdout)
}

type fanoutOptions struct {
	viewers, perSession, addresses, pid, events, missed int
	rate                                                float64
	settle, gap, wait                                   time.Duration
	metricsToken, secret, webhook, broadcaster          string
	targets                                             []*target
}

func (o *fanoutOptions) validate(urls urlList) error {
	if o.viewers < 1 || o.viewers > 1_000_000 || o.perSession < 1 || o.rate <= 0 || o.addresses < 0 || o.addresses > 254 {
		return errors.New("fanout: --viewers must be 1..1000000, --per-session >= 1, --rate > 0, --addresses 0..254")
	}
	if o.events < 0 || o.missed < 0 || o.events+o.missed > 10_000 || o.gap < 0 {
		return errors.New("fanout: --events and --missed must be 0..10000 in all, --gap not negative")
	}
	if o.events+o.missed > 0 && !eventsub.ValidSecret(o.secret) {
		return errors.New("fanout: --secret must be the app's EventSub secret (10 to 100 visible ASCII characters)")
	}
	for _, u := range urls {
		t, err := newTarget(u)
		if err != nil {
			return err
		}
		o.targets = append(o.targets, t)
	}
	if o.webhook == "" {
		o.webhook = o.targets[0].base + "/webhooks/twitch"
	}
	if o.addresses == 0 {
		o.addresses = min(254, (o.viewers+99)/100)
	}
	return nil
}

// urlList is a repeatable flag.
type urlList []string

func (l *urlList) String() string     { return strings.Join(*l, ",") }
func (l *urlList) Set(s string) error { *l = append(*l, s); return nil }

// fanout is one run: the viewers and what they counted.
type fanout struct {
	o       fanoutOptions
	mark    string // this run's mark in follower logins
	viewers []*viewer
	client  *http.Client
	sent    []int64 // when follow n was sent (unix ns)
	missing int     // deliveries that never came, over the phases

	connected, refusedRetry, drops, delivered, dups, disorder, viaReset atomic.Int64

	mu       sync.Mutex
	failures map[string]int
}

func newFanout(o fanoutOptions) (*fanout, error) {
	f := &fanout{o: o, mark: strconv.Itoa(100000 + rand.IntN(900000)), failures: map[string]int{},
		sent: make([]int64, o.events+o.missed),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for i := range o.viewers {
		v := &viewer{f: f, t: o.targets[(i/o.perSession)%len(o.targets)], recv: make([]atomic.Int64, len(f.sent)), retry: defaultRetry}
		if v.t.loopback && o.addresses > 1 {
			v.local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%o.addresses))}
		}
		f.viewers = append(f.viewers, v)
	}
	return f, nil
}

// run goes through the phases: sign in, connect, settle and read memory, send follows and
// measure their delivery, and with --missed, the reconnect.
func (f *fanout) run(ctx context.Context, w io.Writer) error {
	if err := f.signIn(ctx); err != nil {
		return err
	}
	before, err := readMemory(ctx, f.client, f.o.pid, f.o.metricsToken, f.o.targets)
	if err != nil {
		return err
	}
	live, stop := context.WithCancel(ctx)
	defer stop()
	took, wg := f.connect(live, f.viewers)
	f.report(w, took)
	sleep(ctx, f.o.settle)
	after, err := readMemory(ctx, f.client, f.o.pid, f.o.metricsToken, f.o.targets)
	if err != nil {
		return err
	}
	f.reportMemory(w, before, after)
	if err := f.sendEvents(ctx, 0, f.o.events, f.connected.Load()); err != nil {
		return err
	}
	f.reportDelivery(w)
	if f.o.missed > 0 {
		stop()
		wg.Wait()
		if err := f.sendEvents(ctx, f.o.events, f.o.missed, 0); err != nil {
			return err
		}
		var again context.Context
		again, stop = context.WithCancel(ctx)
		defer stop()
		before := f.delivered.Load()
		_, wg = f.connect(again, f.viewers)
		f.awaitDeliveries(ctx, before+int64(f.o.missed)*f.connected.Load())
		f.reportMissed(w)
	}
	stop()
	wg.Wait()
	return f.verdict()
}

// signIn makes one demo session per --per-session viewers, a few at a time.
func (f *fanout) signIn(ctx context.Context) error {
	sessions := (len(f.viewers) + f.o.perSession - 1) / f.o.perSession
	cookies := make([]string, sessions)
	errs := make([]error, sessions)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(8, sessions) {
		wg.Go(func() {
			for s := int(next.Add(1)) - 1; s < sessions && ctx.Err() == nil; s = int(next.Add(1)) - 1 {
				cookies[s], errs[s] = demoSession(ctx, f.client, f.o.targets[s%len(f.o.targets)].base)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fanout: sign in: %w", errs[slices.IndexFunc(errs, func(e error) bool { return e != nil })])
	}
	for i, v := range f.viewers {
		v.cookie = cookies[i/f.o.perSession]
	}
	return ctx.Err()
}

// connect starts the viewers at --rate a second and waits until each is connected or has
// failed (bounded by --wait past the pace). It returns how long that took.
func (f *fanout) connect(ctx context.Context, vs []*viewer) (time.Duration, *sync.WaitGroup) {
	wg := &sync.WaitGroup{}
	start := time.Now()
	f.connected.Store(0)
	for i, v := range vs {
		if v.failed.Load() {
			continue
		}
		v.ok = false
		if d := time.Until(start.Add(time.Duration(float64(i) / f.o.rate * float64(time.Second)))); d > time.Millisecond {
			sleep(ctx, d)
		}
		wg.Go(func() { v.run(ctx) })
	}
	deadline := time.Now().Add(f.o.wait)
	for ctx.Err() == nil && time.Now().Before(deadline) && int(f.connected.Load())+f.failedCount() < len(vs) {
		sleep(ctx, 10*time.Millisecond)
	}
	return time.Since(start), wg
}

// sendEvents sends follows from..from+n, --gap apart; with viewers connected it then waits for
// each to reach all of them.
func (f *fanout) sendEvents(ctx context.Context, from, n int, viewers int64) error {
	before := f.delivered.Load()
	b := eventsub.Follower{ID: f.o.broadcaster, Login: "demo_streamer", Name: "Demo Streamer"}
	for e := from; e < from+n; e++ {
		if e > from {
			sleep(ctx, f.o.gap)
		}
		login := fmt.Sprintf("%s%s_%d_", eventMarker, f.mark, e)
		msg, err := eventsub.NewFollow(f.o.secret, f.o.webhook, b,
			eventsub.Follower{ID: f.mark + strconv.Itoa(10000+e), Login: login, Name: login}, time.Now())
		if err != nil {
			return err
		}
		req, err := msg.Request(f.o.webhook)
		if err != nil {
			return fmt.Errorf("fanout: --webhook: %w", err)
		}
		f.sent[e] = time.Now().UnixNano()
		resp, err := f.client.Do(req.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("fanout: send follow %d: %w", e, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("fanout: follow %d answered %d, want 204 (is --secret the app's?)", e, resp.StatusCode)
		}
	}
	if viewers > 0 {
		f.awaitDeliveries(ctx, before+int64(n)*viewers)
	}
	return nil
}

// awaitDeliveries waits until want deliveries are counted, or --wait passes.
func (f *fanout) awaitDeliveries(ctx context.Context, want int64) {
	deadline := time.Now().Add(f.o.wait)
	for ctx.Err() == nil && time.Now().Before(deadline) && f.delivered.Load() < want {
		sleep(ctx, 5*time.Millisecond)
	}
}

// eventsIn appends to found the numbers of this run's follows named in an SSE data line, once each.
func (f *fanout) eventsIn(line []byte, found []int) []int {
	mark := eventMarker + f.mark + "_"
	s := string(line)
	for {
		i := strings.Index(s, mark)
		if i < 0 {
			return found
		}
		s = s[i+len(mark):]
		j := strings.IndexByte(s, '_')
		if j < 0 {
			return found
		}
		if n, err := strconv.Atoi(s[:j]); err == nil && n >= 0 && n < len(f.sent) && !slices.Contains(found, n) {
			found = append(found, n)
		}
	}
}

func (f *fanout) fail(err error) {
	reason := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		reason = op.Op + ": " + op.Err.Error() // without the addresses, so that reasons add up
	}
	f.mu.Lock()
	f.failures[reason]++
	f.mu.Unlock()
}

func (f *fanout) failedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.failures {
		n += c
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

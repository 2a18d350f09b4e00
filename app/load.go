package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// loadCmd sends many signed follows to a webhook callback and reports throughput and latency:
// the load command for measuring the write path end to end. With --ceiling it first measures,
// with the same generator, the cheapest correct endpoint (signature checked, nothing stored) in
// this process, so that the app's figures read as a fraction of what the machine allows. Every
// request is bounded in number and time; point it only at a server you run.
func loadCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var spec loadSpec
	fs.StringVar(&spec.url, "url", "http://localhost:8080/webhooks/twitch", "the EventSub webhook callback")
	fs.StringVar(&spec.secret, "secret", getenv("EVENTSUB_SECRET"), "the EventSub secret the callback checks (default $EVENTSUB_SECRET)")
	fs.IntVar(&spec.broadcasters, "broadcasters", 1, "spread the follows over this many channels (ids 1337, 1338, ...)")
	fs.IntVar(&spec.count, "count", 2000, "number of follows to send (1 to 1,000,000); not with --duration")
	fs.DurationVar(&spec.duration, "duration", 0, "send for this long instead of --count follows")
	fs.DurationVar(&spec.warmup, "warmup", 0, "send for this long first, without counting it")
	fs.IntVar(&spec.concurrency, "concurrency", 16, "requests in flight")
	resend := fs.Bool("resend", false, "send every message twice, as Twitch's retries do (same as --resend-ratio 1)")
	fs.Float64Var(&spec.resendRatio, "resend-ratio", 0, "fraction of messages sent twice with the same message id (0 to 1, e.g. 0.05)")
	ceiling := fs.Bool("ceiling", false, "first measure an in-process endpoint that only checks signatures, and print the app's ratios to it")
	check := fs.Bool("check", false, "afterwards, check in the database that every acknowledged message is stored exactly once")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "with --check: the app's PostgreSQL (default $DATABASE_URL; empty: SQLite in --data-dir)")
	dataDir := fs.String("data-dir", or(getenv("DATA_DIR"), config.DefaultDataDir), "with --check: the app's DATA_DIR for SQLite (default $DATA_DIR or ./data)")
	timeout := fs.Duration("timeout", 2*time.Minute, "stop after this long (each of the two runs with --ceiling)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := spec.validate(set, *resend); err != nil {
		return err
	}
	if *resend {
		spec.resendRatio = 1
	}
	spec.check = *check
	if n, err := raiseOpenFiles(); err == nil && n > 0 && n < uint64(spec.concurrency)*2 {
		fmt.Fprintf(stderr, "load: only %d open files allowed; --concurrency %d may run out\n", n, spec.concurrency)
	}

	var ceil *loadResult
	if *ceiling {
		c, err := measureCeiling(ctx, spec, *timeout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ceiling (%s, in this process: signature checked, nothing stored):\n", c.url)
		c.report(stdout, spec)
		fmt.Fprintf(stdout, "\napp (%s):\n", spec.url)
		ceil = c
	}
	runCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := runLoad(runCtx, spec, spec.url)
	if err != nil {
		return err
	}
	res.report(stdout, spec)
	if ceil != nil {
		printRatios(stdout, res, ceil)
	}
	if res.statuses["204"] != len(res.latencies) || res.warmRefused > 0 {
		return errors.New("load: some requests were not acknowledged with 204")
	}
	if spec.check {
		st, err := store.Open(ctx, *databaseURL, *dataDir)
		if err != nil {
			return fmt.Errorf("load --check: %w", err)
		}
		defer st.Close()
		return checkStored(ctx, stdout, st, res.acked)
	}
	return nil
}

// loadSpec is one load run's settings, the same for the ceiling and the app.
type loadSpec struct {
	url, secret     string
	broadcasters    int
	count           int // measured messages; 0 with a duration
	duration        time.Duration
	warmup          time.Duration
	concurrency     int
	resendRatio     float64
	check           bool
	presignedMaxAge time.Duration // older pre-signed messages are signed again
}

func (s *loadSpec) validate(set map[string]bool, resend bool) error {
	if !eventsub.ValidSecret(s.secret) {
		return errors.New("load: --secret must be 10 to 100 visible ASCII characters")
	}
	if set["duration"] {
		if set["count"] {
			return errors.New("load: give --count or --duration, not both")
		}
		if s.duration <= 0 {
			return errors.New("load: --duration must be positive")
		}
		s.count = 0
	} else if s.count < 1 || s.count > 1_000_000 {
		return errors.New("load: --count must be 1..1000000")
	}
	if s.concurrency < 1 || s.concurrency > 1024 || s.broadcasters < 1 {
		return errors.New("load: --concurrency must be 1..1024, --broadcasters >= 1")
	}
	if s.resendRatio < 0 || s.resendRatio > 1 || (resend && set["resend-ratio"]) || s.warmup < 0 {
		return errors.New("load: --resend-ratio must be 0..1 (and not with --resend), --warmup not negative")
	}
	s.presignedMaxAge = eventsub.MaxAge - 2*time.Minute
	return nil
}

// printRatios compares the app with the ceiling: the share of the ceiling's throughput the app
// reaches, and how many times the ceiling's p99 the app's p99 is.
func printRatios(w io.Writer, app, ceil *loadResult) {
	fmt.Fprintf(w, "\nratio: throughput %.3f (app req/s / ceiling req/s), p99 %.2f (app p99 / ceiling p99)\n",
		ratio(app.rate(), ceil.rate()), ratio(float64(app.percentile(.99)), float64(ceil.percentile(.99))))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// checkStored verifies that each acknowledged message id is stored exactly once.
func checkStored(ctx context.Context, w io.Writer, st *store.Store, acked []string) error {
	ids := unique(acked)
	counts, err := st.MessageCounts(ctx, ids)
	if err != nil {
		return fmt.Errorf("load --check: %w", err)
	}
	var once, missing, more int
	for _, id := range ids {
		switch n := counts[id]; {
		case n == 1:
			once++
		case n == 0:
			missing++
		default:
			more++
		}
	}
	fmt.Fprintf(w, "check: %d acknowledged messages, %d stored once, %d missing, %d stored more than once\n",
		len(ids), once, missing, more)
	if missing > 0 || more > 0 {
		return errors.New("load --check: acknowledged messages were not stored exactly once")
	}
	return nil
}

func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// loadCmd sends many signed follows to a webhook callback and reports throughput and latency:
// the load command for measuring the write path end to end. Every request is bounded in number
// and time; point it only at a server you run.
func loadCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost:8080/webhooks/twitch", "the EventSub webhook callback")
	secret := fs.String("secret", getenv("EVENTSUB_SECRET"), "the EventSub secret the callback checks (default $EVENTSUB_SECRET)")
	broadcasters := fs.Int("broadcasters", 1, "spread the follows over this many channels (ids 1337, 1338, ...)")
	count := fs.Int("count", 2000, "number of follows to send (1 to 1,000,000)")
	concurrency := fs.Int("concurrency", 16, "requests in flight")
	resend := fs.Bool("resend", false, "send every message twice, as Twitch's retries do (stored once)")
	timeout := fs.Duration("timeout", 2*time.Minute, "stop after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !eventsub.ValidSecret(*secret) {
		return errors.New("load: --secret must be 10 to 100 visible ASCII characters")
	}
	if *count < 1 || *count > 1_000_000 || *concurrency < 1 || *concurrency > 1024 || *broadcasters < 1 {
		return errors.New("load: --count must be 1..1000000, --concurrency 1..1024, --broadcasters >= 1")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	base, _ := strconv.Atoi(config.DefaultDemoBroadcasterID)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}}
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[string]int{}
	var latencies []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*count) || ctx.Err() != nil {
					return
				}
				b := strconv.Itoa(base + int(i)%*broadcasters)
				msg, err := eventsub.NewFollow(*secret, *url, eventsub.Follower{ID: b, Login: "channel_" + b, Name: "Channel " + b},
					eventsub.Follower{ID: strconv.FormatInt(1_000_000+i, 10), Login: fmt.Sprintf("load_%d", i), Name: fmt.Sprintf("load_%d", i)}, time.Now())
				if err != nil {
					return
				}
				sends := 1
				if *resend {
					sends = 2
				}
				for range sends {
					status, took := send(ctx, client, msg, *url)
					mu.Lock()
					statuses[status]++
					latencies = append(latencies, took)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report(stdout, statuses, latencies, elapsed)
	if statuses["204"] != len(latencies) {
		return errors.New("load: some requests were not acknowledged with 204")
	}
	return nil
}

func send(ctx context.Context, client *http.Client, msg eventsub.Outgoing, url string) (string, time.Duration) {
	req, err := msg.Request(url)
	if err != nil {
		return "error", 0
	}
	t := time.Now()
	resp, err := client.Do(req.WithContext(ctx))
	took := time.Since(t)
	if err != nil {
		return "error", took
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode), took
}

func report(w io.Writer, statuses map[string]int, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Fprintf(w, "requests: %d in %s (%.0f/s)\n", len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds())
	fmt.Fprintf(w, "latency: p50 %s  p90 %s  p99 %s  max %s\n", pct(.5), pct(.9), pct(.99), pct(1))
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "status %s: %d\n", k, statuses[k])
	}
}

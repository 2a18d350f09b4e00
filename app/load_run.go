package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// presignMax bounds the messages signed before the clock starts (about 1.5 KiB each); past it,
// and in --duration runs, the workers sign from the template as they go.
const presignMax = 200_000

// loadResult is what one run measured. Warm-up requests are left out of everything but warm.
type loadResult struct {
	url         string
	statuses    map[string]int
	latencies   []time.Duration
	elapsed     time.Duration
	messages    int // distinct messages measured
	resent      int // of which sent twice
	warm        int // requests sent in the warm-up
	warmRefused int // of which not answered 204
	acked       []string

	presigned   int
	presignTook time.Duration
	signed      int64 // messages the workers signed
	signTook    time.Duration
	workers     int
}

// loadWorker is one worker's share, merged when the run ends (no lock per request).
type loadWorker struct {
	statuses  map[string]int
	latencies []time.Duration
	acked     []string
	messages  int
	resent    int
	warm      int
	warmBad   int
	signed    int64
	signTook  time.Duration
}

// runLoad sends follows to url with spec's generator and settings.
func runLoad(ctx context.Context, spec loadSpec, url string) (*loadResult, error) {
	tmpl, err := newFollowTemplate(spec.secret, url)
	if err != nil {
		return nil, err
	}
	res := &loadResult{url: url, statuses: map[string]int{}, workers: spec.concurrency}
	var presigned []eventsub.Outgoing
	var presignedAt time.Time
	if spec.count > 0 && spec.count <= presignMax {
		t := time.Now()
		presignedAt = t
		presigned = make([]eventsub.Outgoing, spec.count)
		for i := range presigned {
			n := int64(i + 1)
			presigned[i] = tmpl.make(broadcasterOf(n, spec.broadcasters), n, t)
		}
		res.presigned, res.presignTook = len(presigned), time.Since(t)
	}
	transport := &http.Transport{
		MaxIdleConnsPerHost: spec.concurrency, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: reuseAddr}).DialContext,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	start := time.Now()
	measureFrom := start.Add(spec.warmup)
	end := measureFrom.Add(spec.duration)
	var measured, warmNext atomic.Int64
	workers := make([]*loadWorker, spec.concurrency)
	var wg sync.WaitGroup
	for w := range workers {
		lw := &loadWorker{statuses: map[string]int{}}
		workers[w] = lw
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				warm := now.Before(measureFrom)
				var n int64
				var msg eventsub.Outgoing
				switch {
				case warm:
					n = int64(spec.count) + 1_000_000_000 + warmNext.Add(1) // followers of its own
					msg = lw.sign(tmpl, n, spec.broadcasters)
				case spec.count > 0:
					if n = measured.Add(1); n > int64(spec.count) {
						return
					}
					if presigned != nil && now.Sub(presignedAt) < spec.presignedMaxAge {
						msg = presigned[n-1]
					} else {
						msg = lw.sign(tmpl, n, spec.broadcasters)
					}
				default:
					if now.After(end) {
						return
					}
					n = measured.Add(1)
					msg = lw.sign(tmpl, n, spec.broadcasters)
				}
				sends := 1
				if resends(n, spec.resendRatio) {
					sends = 2
				}
				lw.send(ctx, client, msg, url, sends, warm, spec.check)
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(measureFrom)
	for _, lw := range workers {
		res.merge(lw)
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, ctx.Err()
	}
	return res, nil
}

func (lw *loadWorker) sign(t *followTemplate, n int64, broadcasters int) eventsub.Outgoing {
	start := time.Now()
	msg := t.make(broadcasterOf(n, broadcasters), n, start)
	lw.signTook += time.Since(start)
	lw.signed++
	return msg
}

func (lw *loadWorker) send(ctx context.Context, client *http.Client, msg eventsub.Outgoing, url string, sends int, warm, keepIDs bool) {
	for range sends {
		status, took := send(ctx, client, msg, url)
		if warm {
			lw.warm++
			if status != "204" {
				lw.warmBad++
			}
		} else {
			lw.statuses[status]++
			lw.latencies = append(lw.latencies, took)
		}
		if keepIDs && status == "204" {
			lw.acked = append(lw.acked, msg.Header.Get(eventsub.HeaderMessageID))
		}
	}
	if !warm {
		lw.messages++
		if sends > 1 {
			lw.resent++
		}
	}
}

func (r *loadResult) merge(lw *loadWorker) {
	for k, v := range lw.statuses {
		r.statuses[k] += v
	}
	r.latencies = append(r.latencies, lw.latencies...)
	r.acked = append(r.acked, lw.acked...)
	r.messages += lw.messages
	r.resent += lw.resent
	r.warm += lw.warm
	r.warmRefused += lw.warmBad
	r.signed += lw.signed
	r.signTook += lw.signTook
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

func (r *loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

// percentile of the latencies, sorted by report.
func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	if !slices.IsSorted(r.latencies) {
		slices.Sort(r.latencies)
	}
	return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*p))]
}

func (r *loadResult) report(w io.Writer, spec loadSpec) {
	fmt.Fprintf(w, "requests: %d in %s (%.0f/s)\n", len(r.latencies), r.elapsed.Round(time.Millisecond), r.rate())
	fmt.Fprintf(w, "latency: p50 %s  p90 %s  p99 %s  max %s\n", r.percentile(.5), r.percentile(.9), r.percentile(.99), r.percentile(1))
	fmt.Fprintf(w, "messages: %d, of which %d re-sent with the same id\n", r.messages, r.resent)
	if spec.warmup > 0 {
		fmt.Fprintf(w, "warm-up: %d requests in %s, not counted (%d not answered 204)\n", r.warm, spec.warmup, r.warmRefused)
	}
	if r.presigned > 0 {
		fmt.Fprintf(w, "generator: %d messages signed in %s before timing", r.presigned, r.presignTook.Round(time.Microsecond))
		if r.signed > 0 {
			fmt.Fprintf(w, "; %d more in the workers", r.signed)
		}
		fmt.Fprintln(w)
	} else if r.signed > 0 {
		per := r.signTook / time.Duration(r.signed)
		share := r.signTook.Seconds() / ((r.elapsed + spec.warmup).Seconds() * float64(r.workers))
		fmt.Fprintf(w, "generator: %d messages signed in the workers, %s each (%.1f%% of the workers' time)\n",
			r.signed, per, 100*share)
	}
	keys := make([]string, 0, len(r.statuses))
	for k := range r.statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "status %s: %d\n", k, r.statuses[k])
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// What fanout prints: one line per figure, "name: values", so that a run reads at a glance and
// a script can pick lines out.

func (f *fanout) report(w io.Writer, took time.Duration) {
	sessions := (len(f.viewers) + f.o.perSession - 1) / f.o.perSession
	fmt.Fprintf(w, "viewers: %d of %d connected in %s (%.0f/s asked; %d URLs, %d sessions, %d local addresses)\n",
		f.connected.Load(), len(f.viewers), took.Round(time.Millisecond), f.o.rate, len(f.o.targets), sessions, f.o.addresses)
	fmt.Fprintf(w, "failed: %d%s\n", f.failedCount(), f.failureReasons())
	fmt.Fprintf(w, "refused with retry: %d (reconnected after the server's retry delay)\n", f.refusedRetry.Load())
}

func (f *fanout) failureReasons() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) == 0 {
		return ""
	}
	var parts []string
	for reason, n := range f.failures {
		parts = append(parts, fmt.Sprintf("%s: %d", reason, n))
	}
	slices.Sort(parts)
	return " (" + strings.Join(parts, "; ") + ")"
}

func (f *fanout) reportMemory(w io.Writer, before, after memory) {
	n := max(1, f.connected.Load())
	perViewer := func(b, a int64) string {
		return fmt.Sprintf("%d KB before, %d KB after, %.1f KB per viewer", b, a, float64(a-b)/float64(n))
	}
	switch {
	case before.rssKB < 0:
		fmt.Fprintln(w, "memory: not read (give --pid or --metrics-token)")
		return
	case f.o.pid > 0:
		fmt.Fprintf(w, "memory: VmRSS of pid %d: %s\n", f.o.pid, perViewer(before.rssKB, after.rssKB))
	default:
		fmt.Fprintf(w, "memory: process_resident_memory_bytes: %s\n", perViewer(before.rssKB, after.rssKB))
	}
	if before.heapKB >= 0 {
		fmt.Fprintf(w, "memory: go_memstats_heap_inuse_bytes: %s\n", perViewer(before.heapKB, after.heapKB))
		fmt.Fprintf(w, "goroutines: %d before, %d after, %.2f per viewer\n", before.goroutines, after.goroutines,
			float64(after.goroutines-before.goroutines)/float64(n))
	}
}

// reportDelivery prints how late each live viewer got each follow, from the moment its webhook
// was sent to the moment the viewer had read the frame carrying it.
func (f *fanout) reportDelivery(w io.Writer) {
	var lat []time.Duration
	missing := 0
	for _, v := range f.viewers {
		if v.failed.Load() || !v.ok {
			continue
		}
		for e := range f.o.events {
			if at := v.recv[e].Load(); at != 0 {
				lat = append(lat, time.Duration(at-f.sent[e]))
			} else {
				missing++
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Fprintf(w, "events: %d sent %s apart, %d deliveries, %d missing\n", f.o.events, f.o.gap, len(lat), missing)
	fmt.Fprintf(w, "delivery latency: p50 %s  p90 %s  p99 %s  max %s\n", pct(.5), pct(.9), pct(.99), pct(1))
	fmt.Fprintf(w, "order violations: %d, duplicates: %d, streams dropped and resumed: %d\n",
		f.disorder.Load(), f.dups.Load(), f.drops.Load())
	f.missing += missing
}

// reportMissed prints whether each viewer, back with Last-Event-ID, got every follow it missed.
func (f *fanout) reportMissed(w io.Writer) {
	complete, missing, viewers := 0, 0, 0
	for _, v := range f.viewers {
		if v.failed.Load() || !v.ok {
			continue
		}
		viewers++
		got := 0
		for e := f.o.events; e < len(f.sent); e++ {
			if v.recv[e].Load() != 0 {
				got++
			}
		}
		if got == f.o.missed {
			complete++
		}
		missing += f.o.missed - got
	}
	fmt.Fprintf(w, "missed: %d follows sent while disconnected; %d of %d viewers reconnected with Last-Event-ID and got them all, %d missing (%d arrived in a fresh list rather than one by one)\n",
		f.o.missed, complete, viewers, missing, f.viaReset.Load())
	fmt.Fprintf(w, "failed: %d%s\n", f.failedCount(), f.failureReasons())
	f.missing += missing
}

// verdict fails the run when a viewer was refused or lost, missed or doubled a follow.
func (f *fanout) verdict() error {
	var problems []string
	if n := f.failedCount(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d viewers failed", n))
	}
	if f.missing > 0 {
		problems = append(problems, fmt.Sprintf("%d deliveries missing", f.missing))
	}
	if n := f.dups.Load() + f.disorder.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicates or order violations", n))
	}
	if len(problems) > 0 {
		return errors.New("fanout: " + strings.Join(problems, ", "))
	}
	return nil
}

package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestFanout opens a few dashboard viewers on a demo app with the fanout command, sends follows,
// then disconnects everyone, sends more and reconnects: every viewer gets every follow once, in
// order. Only the shape of the report is checked, never its figures.
func TestFanout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db, "METRICS_TOKEN", "fanout-test-metrics-token")
		out, errOut, err := runCmd(t, nil, "fanout", "--url", app.URL, "--secret", app.eventsubSecret(t),
			"--viewers", "20", "--per-session", "10", "--addresses", "3", "--events", "3", "--gap", "10ms",
			"--missed", "2", "--settle", "10ms", "--metrics-token", "fanout-test-metrics-token")
		if err != nil {
			t.Fatalf("fanout: %v\n%s%s", err, out, errOut)
		}
		t.Logf("fanout printed:\n%s", out)
		for _, re := range []string{
			`(?m)^viewers: 20 of 20 connected in \S+ \(2000/s asked; 1 URLs, 2 sessions, 3 local addresses\)$`,
			`(?m)^failed: 0$`,
			`(?m)^refused with retry: 0 `,
			`(?m)^memory: process_resident_memory_bytes: \d+ KB before, \d+ KB after, -?\d+\.\d KB per viewer$`,
			`(?m)^memory: go_memstats_heap_inuse_bytes: \d+ KB before, \d+ KB after, -?\d+\.\d KB per viewer$`,
			`(?m)^goroutines: \d+ before, \d+ after, -?\d+\.\d\d per viewer$`,
			`(?m)^events: 3 sent 10ms apart, 60 deliveries, 0 missing$`,
			`(?m)^delivery latency: p50 \S+  p90 \S+  p99 \S+  max \S+$`,
			`(?m)^order violations: 0, duplicates: 0, streams dropped and resumed: \d+$`,
			`(?m)^missed: 2 follows sent while disconnected; 20 of 20 viewers reconnected with Last-Event-ID and got them all, 0 missing \(0 arrived in a fresh list rather than one by one\)$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("no line matching %s in:\n%s", re, out)
			}
		}
		if n := len(exportJSON(t, app.Env, demoBroadcaster)); n != 5 {
			t.Errorf("%d follows stored, want the 3 + 2 fanout sent", n)
		}
	})
}

// TestFanoutRefused: viewers the app does not serve are counted with the reason, and the run fails.
func TestFanoutRefused(t *testing.T) {
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	_, _, err := runCmd(t, nil, "fanout", "--url", closed, "--viewers", "2", "--events", "0")
	if err == nil || !strings.Contains(err.Error(), "sign in") {
		t.Errorf("fanout against nothing = %v, want a sign-in error", err)
	}
	app := startApp(t, storetest.SQLite(t))
	out, _, err := runCmd(t, nil, "fanout", "--url", app.URL+"/nowhere", "--viewers", "3", "--events", "0", "--settle", "0s")
	if err == nil || !strings.Contains(err.Error(), "3 viewers failed") {
		t.Errorf("fanout on a wrong path = %v, want 3 viewers failed", err)
	}
	if !regexp.MustCompile(`(?m)^failed: 3 \(status 404 .*: 3\)$`).MatchString(out) {
		t.Errorf("want the refusals counted with their status:\n%s", out)
	}
}

package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestLoadCeilingAndCheck runs the load command as an operator would, against a running app:
// the ceiling first, then the app, with re-sends and the stored-exactly-once check. Only the
// shape of the report is checked, never its figures.
func TestLoadCeilingAndCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		out, errOut, err := runCmd(t, nil, "load", "--url", app.URL+"/webhooks/twitch", "--secret", app.eventsubSecret(t),
			"--count", "200", "--concurrency", "4", "--broadcasters", "3", "--resend-ratio", "0.1", "--ceiling",
			"--check", "--database-url", db.DatabaseURL, "--data-dir", db.DataDir)
		if err != nil {
			t.Fatalf("load: %v\n%s%s", err, out, errOut)
		}
		t.Logf("load printed:\n%s", out)
		ceiling, appPart, ok := strings.Cut(out, "\napp (")
		if !ok || !strings.HasPrefix(ceiling, "ceiling (http://127.0.0.1:") {
			t.Fatalf("load --ceiling printed no ceiling block, then an app block:\n%s", out)
		}
		for _, part := range []string{ceiling, appPart} {
			for _, re := range []string{
				`(?m)^requests: 220 in \S+ \(\d+/s\)$`,
				`(?m)^latency: p50 \S+  p90 \S+  p99 \S+  max \S+$`,
				`(?m)^messages: 200, of which 20 re-sent with the same id$`,
				`(?m)^generator: 200 messages signed in \S+ before timing$`,
				`(?m)^status 204: 220$`,
			} {
				if !regexp.MustCompile(re).MatchString(part) {
					t.Errorf("no line matching %s in:\n%s", re, part)
				}
			}
		}
		for _, re := range []string{
			`(?m)^ratio: throughput \d+\.\d{3} \(app req/s / ceiling req/s\), p99 \d+\.\d{2} \(app p99 / ceiling p99\)$`,
			`(?m)^check: 200 acknowledged messages, 200 stored once, 0 missing, 0 stored more than once$`,
		} {
			if !regexp.MustCompile(re).MatchString(appPart) {
				t.Errorf("no line matching %s in:\n%s", re, appPart)
			}
		}
		if n := len(exportJSON(t, app.Env, "1337")) + len(exportJSON(t, app.Env, "1338")) + len(exportJSON(t, app.Env, "1339")); n != 200 {
			t.Errorf("%d follows stored over the three channels, want 200", n)
		}
	})
}

// TestLoadDuration: a timed run with a warm-up signs in the workers and says so.
func TestLoadDuration(t *testing.T) {
	app := startApp(t, storetest.SQLite(t))
	out, _, err := runCmd(t, nil, "load", "--url", app.URL+"/webhooks/twitch", "--secret", app.eventsubSecret(t),
		"--duration", "300ms", "--warmup", "100ms", "--concurrency", "2", "--resend")
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	for _, re := range []string{
		`(?m)^requests: \d+ in \S+ \(\d+/s\)$`,
		`(?m)^messages: (\d+), of which (\d+) re-sent with the same id$`,
		`(?m)^warm-up: \d+ requests in 100ms, not counted \(0 not answered 204\)$`,
		`(?m)^generator: \d+ messages signed in the workers, \S+ each \(\d+\.\d% of the workers' time\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", re, out)
		}
	}
	if m := regexp.MustCompile(`messages: (\d+), of which (\d+) re-sent`).FindStringSubmatch(out); m == nil || m[1] != m[2] {
		t.Errorf("--resend: want every message re-sent, got %q", m)
	}
}

func TestLoadErrors(t *testing.T) {
	secret := "s3cre7-s3cre7-s3cre7"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"count and duration", []string{"--count", "5", "--duration", "1s"}, "not both"},
		{"resend ratio out of range", []string{"--resend-ratio", "1.5"}, "--resend-ratio"},
		{"resend and ratio", []string{"--resend", "--resend-ratio", "0.5"}, "--resend-ratio"},
		{"no secret", []string{"--secret", ""}, "--secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"load", "--url", "http://127.0.0.1:1/webhooks/twitch", "--secret", secret}, tt.args...)
			if _, _, err := runCmd(t, nil, args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load %s = %v, want an error mentioning %s", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

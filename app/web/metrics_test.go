package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/web"
)

const testMetricsToken = "metrics-token-0123456789abcdef"

// withMetrics gives the server its metrics and the token that opens GET /metrics.
func withMetrics(m *metrics.Metrics) option {
	return func(vars map[string]string, o *web.Options) {
		vars["METRICS_TOKEN"] = testMetricsToken
		o.Metrics = m
	}
}

// TestMetricsNeedTheToken: /metrics does not exist without METRICS_TOKEN, refuses a scraper
// without the bearer token, and with it shows the app's series and the Go runtime's.
func TestMetricsNeedTheToken(t *testing.T) {
	off := newEnv(t, storetest.SQLite(t))
	if r := off.get("/metrics"); r.status != http.StatusNotFound {
		t.Fatalf("/metrics without METRICS_TOKEN answered %d, want 404", r.status)
	}

	m := metrics.New()
	m.Outbox(func(context.Context) (int, time.Time, error) { return 3, time.Now().Add(-time.Minute), nil }, time.Now)
	e := newEnv(t, storetest.SQLite(t), withMetrics(m))
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", testMetricsToken, "Basic " + testMetricsToken} {
		r := e.get("/metrics", "Authorization", auth)
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "tev_") {
			t.Errorf("Authorization %q: %d, want 401 and no metrics", auth, r.status)
		}
	}
	e.post(demoID)
	e.post(demoID)
	forged := follow(t, demoID)
	forged.Header.Set(eventsub.HeaderMessageSignature, "sha256=00")
	if r := e.deliver(forged); r.status != http.StatusForbidden {
		t.Fatalf("forged webhook answered %d, want 403", r.status)
	}
	r := e.get("/metrics", "Authorization", "Bearer "+testMetricsToken)
	if r.status != http.StatusOK {
		t.Fatalf("/metrics with the token answered %d: %s", r.status, r.body)
	}
	for _, want := range []string{
		`tev_webhooks_total{outcome="stored"} 2`,
		`tev_webhooks_total{outcome="refused"} 1`,
		`tev_sse_viewers{kind="dashboard"} 0`,
		`tev_pusher_outbox_depth 3`,
		"tev_pusher_outbox_lag_seconds 6",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

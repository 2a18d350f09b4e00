// Package metrics is what an operator of several instances watches: webhooks by outcome, the
// ingest batches and their queue, live viewers and how late events reach them, the doorbell,
// the Pusher outbox and the Go runtime, in Prometheus's text format at GET /metrics.
//
// Every method works on a nil *Metrics and does nothing, so that tests and tools that do not
// care need not build one.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Webhook outcomes, the values of tev_webhooks_total's outcome label.
const (
	Stored       = "stored"     // a new event, committed (204)
	Duplicate    = "duplicate"  // already stored: a re-send or a follow seen twice (204)
	Challenge    = "challenge"  // a subscription's verification answered (200)
	Revocation   = "revocation" // a subscription revoked by Twitch, recorded (204)
	Refused      = "refused"    // bad signature or timestamp (403)
	Malformed    = "malformed"  // unreadable or too large (400, 413)
	Busy         = "busy"       // the ingest queue was full (503, Twitch retries)
	Failed       = "failed"     // the batch could not be committed (503, Twitch retries)
	viewerLabel  = "kind"
	outcomeLabel = "outcome"
	reasonLabel  = "reason"
)

// Viewer kinds, the values of tev_sse_viewers's kind label.
const (
	Dashboard = "dashboard"
	Overlay   = "overlay"
)

// Metrics holds the app's collectors in a registry of its own (no global state).
type Metrics struct {
	reg                *prometheus.Registry
	webhooks           *prometheus.CounterVec
	batchSize          prometheus.Histogram
	commitSeconds      prometheus.Histogram
	viewers            *prometheus.GaugeVec
	deliveryLag        prometheus.Histogram
	doorbellReconnects prometheus.Counter
	streamRefusals     *prometheus.CounterVec
}

// New makes the collectors, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tev_webhooks_total", Help: "EventSub webhook requests by outcome.",
		}, []string{outcomeLabel}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tev_ingest_batch_events", Help: "Events per ingest batch (one transaction, one commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tev_ingest_commit_seconds", Help: "Time to write and commit one ingest batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		}),
		viewers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tev_sse_viewers", Help: "Open live streams on this instance, by kind (dashboard, overlay).",
		}, []string{viewerLabel}),
		deliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tev_delivery_lag_seconds", Help: "From an event's arrival (on any instance) to its fan-out to this instance's viewers.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms .. 8 s
		}),
		doorbellReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tev_doorbell_reconnects_total", Help: "Times the doorbell's LISTEN connection was lost and made again.",
		}),
		streamRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tev_stream_refusals_total", Help: "Live streams refused, by reason (session or address cap: 429; overload: retry later).",
		}, []string{reasonLabel}),
	}
	for _, k := range []string{Dashboard, Overlay} {
		m.viewers.WithLabelValues(k) // present at 0 before the first viewer
	}
	m.reg.MustRegister(m.webhooks, m.batchSize, m.commitSeconds, m.viewers, m.deliveryLag, m.doorbellReconnects,
		m.streamRefusals, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Webhook counts one webhook request by its outcome (Stored, Duplicate, ...).
func (m *Metrics) Webhook(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

// Batch records one committed (or failed) ingest batch.
func (m *Metrics) Batch(events int, took time.Duration) {
	if m != nil {
		m.batchSize.Observe(float64(events))
		m.commitSeconds.Observe(took.Seconds())
	}
}

// QueueDepth publishes depth, read at each scrape, as tev_ingest_queue_depth.
func (m *Metrics) QueueDepth(depth func() int) {
	if m != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tev_ingest_queue_depth", Help: "Webhook events waiting for an ingest writer.",
		}, func() float64 { return float64(depth()) }))
	}
}

// ViewerJoined counts an opened stream of a kind (Dashboard, Overlay); ViewerLeft its end.
func (m *Metrics) ViewerJoined(kind string) {
	if m != nil {
		m.viewers.WithLabelValues(kind).Inc()
	}
}

// ViewerLeft is the end of a stream counted by ViewerJoined.
func (m *Metrics) ViewerLeft(kind string) {
	if m != nil {
		m.viewers.WithLabelValues(kind).Dec()
	}
}

// Delivered records how late one event reached this instance's viewers.
func (m *Metrics) Delivered(lag time.Duration) {
	if m != nil {
		m.deliveryLag.Observe(max(lag, 0).Seconds())
	}
}

// DoorbellReconnect counts a lost and remade LISTEN connection.
func (m *Metrics) DoorbellReconnect() {
	if m != nil {
		m.doorbellReconnects.Inc()
	}
}

// StreamRefused counts a live stream turned away, by reason.
func (m *Metrics) StreamRefused(reason string) {
	if m != nil {
		m.streamRefusals.WithLabelValues(reason).Inc()
	}
}

// OutboxReader reports the Pusher outbox: how many events wait, and since when the oldest
// (zero when none).
type OutboxReader func(ctx context.Context) (depth int, oldest time.Time, err error)

// Outbox publishes the Pusher outbox's depth and lag, read from the database at each scrape
// (bounded to 2 s; a failed read leaves both out of that scrape).
func (m *Metrics) Outbox(read OutboxReader, now func() time.Time) {
	if m != nil {
		m.reg.MustRegister(&outboxCollector{read: read, now: now})
	}
}

var (
	outboxDepthDesc = prometheus.NewDesc("tev_pusher_outbox_depth", "Stored events not yet published to Pusher.", nil, nil)
	outboxLagDesc   = prometheus.NewDesc("tev_pusher_outbox_lag_seconds", "Age of the oldest event not yet published to Pusher (0 when none).", nil, nil)
)

type outboxCollector struct {
	read OutboxReader
	now  func() time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxLagDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, oldest, err := c.read(ctx)
	if err != nil {
		return
	}
	lag := 0.0
	if !oldest.IsZero() {
		lag = max(c.now().Sub(oldest), 0).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(outboxLagDesc, prometheus.GaugeValue, lag)
}

// Handler serves the metrics to a scraper that presents token as a bearer token
// (Authorization: Bearer TOKEN); anyone else gets 401. An empty token is refused by the caller:
// metrics are off unless METRICS_TOKEN is set.
func (m *Metrics) Handler(token string) http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer METRICS_TOKEN", http.StatusUnauthorized)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// The overlay's queue lives in the page: the page reports it (POST /overlay/{token}/state) on each
// change, at most about once a second, and every queueReportEvery besides. Each report is a row
// (store.QueueState), so that a dashboard on any instance reads it; a row older than
// queueStateTTL is a page that has closed.
const (
	queueStateTTL  = 30 * time.Second
	maxStateBody   = 512 // bytes of a report
	maxReportedMs  = int64(7 * 24 * time.Hour / time.Millisecond)
	maxReportedNum = 1_000_000
)

// stateReport is one report of an overlay page's queue.
type stateReport struct {
	Page     string `json:"page"`      // random, per page load
	Paused   bool   `json:"paused"`    // the streamer paused the queue
	Waiting  int    `json:"waiting"`   // alerts waiting, the one on screen not counted
	BehindMs int64  `json:"behind_ms"` // the waiting alerts' durations, summed
	Dropped  int    `json:"dropped"`   // alerts the longest-queue rule dropped since the page loaded
}

var pageID = regexp.MustCompile(`^[0-9a-f]{16,32}$`)

func (r stateReport) valid() bool {
	return pageID.MatchString(r.Page) && r.Waiting >= 0 && r.Waiting <= maxReportedNum &&
		r.Dropped >= 0 && r.Dropped <= maxReportedNum && r.BehindMs >= 0 && r.BehindMs <= maxReportedMs
}

// overlayState records an overlay page's report of its queue. The token in the URL is the only
// credential; reports are limited per token, so a page gone wrong cannot flood the database.
func (s *Server) overlayState(c *gin.Context) error {
	ov, err := s.overlayOf(c)
	if err != nil {
		return err
	}
	if !s.stateLimit.allow(ov.TokenHash, time.Now()) {
		return &httpError{http.StatusTooManyRequests, "Too many queue reports for this overlay: at most about four a second.", nil}
	}
	var r stateReport
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxStateBody))
	if slow := slowBody(err); slow != nil {
		return slow
	}
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("A queue report has at most %d bytes.", maxStateBody), nil}
	}
	if err := json.Unmarshal(body, &r); err != nil || !r.valid() {
		return badRequest("A queue report is JSON: page (16 to 32 hex digits), paused, waiting, behind_ms and dropped (not negative).", nil)
	}
	now := s.now()
	st := store.QueueState{BroadcasterID: ov.BroadcasterID, PageID: r.Page, Paused: r.Paused, Waiting: r.Waiting,
		BehindMs: r.BehindMs, Dropped: r.Dropped, UpdatedAt: now}
	if err := s.store.SetQueueState(c.Request.Context(), st, now.Add(-queueStateTTL)); err != nil {
		return unavailable("The database is not answering.", err)
	}
	c.Status(http.StatusNoContent)
	return nil
}

// overlayStatus is the overlay's state on the dashboard: how many overlays are open on every
// instance, and the queue of the one furthest behind. A database error leaves out what it hid.
func (s *Server) overlayStatus(ctx context.Context, broadcaster, csrf string) views.OverlayStatus {
	n := s.overlaysConnected(ctx, broadcaster)
	v := views.OverlayStatus{Connected: n, ControlURL: "/dashboard/overlay/control", CSRF: csrf}
	if n > 0 {
		states, err := s.store.QueueStates(ctx, broadcaster, s.now().Add(-queueStateTTL))
		if err != nil {
			s.log.Warn("overlay queue states", "broadcaster_id", broadcaster, "err", err)
		}
		v.Queue = queueOf(states)
	}
	v.URL = "/dashboard/overlay/status?seen=" + statusKey(v)
	return v
}

// overlaysConnected counts the broadcaster's open overlays on every instance (this one's alone
// when presence is off or not answering).
func (s *Server) overlaysConnected(ctx context.Context, broadcaster string) int {
	n := s.hub.Count(broadcaster, overlayKind)
	if s.presence != nil {
		if all, err := s.presence.Count(ctx, broadcaster, overlayKind); err == nil {
			n = all
		} else {
			s.log.Warn("count overlays on every instance", "broadcaster_id", broadcaster, "err", err)
		}
	}
	return n
}

// queueOf sums up the pages' reports, the furthest behind first: paused if any is (a pause
// reaches every page, so they rarely differ), its waiting alerts and delay, every page's drops.
func queueOf(states []store.QueueState) views.OverlayQueue {
	if len(states) == 0 {
		return views.OverlayQueue{}
	}
	q := views.OverlayQueue{Reporting: len(states), Waiting: states[0].Waiting, BehindSeconds: int((states[0].BehindMs + 999) / 1000)}
	for _, st := range states {
		q.Paused = q.Paused || st.Paused
		q.Dropped += st.Dropped
	}
	return q
}

// dashboardOverlayStatus is the overlay's self-refreshing state and queue buttons. The page asks
// every two seconds with the state it shows (seen); an unchanged state answers 204, which htmx
// does not swap, so the buttons keep their focus.
func (s *Server) dashboardOverlayStatus(c *gin.Context) error {
	c.Header("Cache-Control", "no-store")
	v := s.overlayStatus(c.Request.Context(), sessionOf(c).BroadcasterID, csrfToken(c))
	if seen := c.Query("seen"); seen != "" && seen == statusKey(v) && c.GetHeader("HX-Request") == "true" {
		c.Status(http.StatusNoContent)
		return nil
	}
	return s.renderPage(c, http.StatusOK, views.OverlayQueueStatus(v))
}

// stateLimiter is a token bucket per overlay: a burst of stateBurst reports, then stateRate a second.
type stateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// A page reports at most once a second plus a heartbeat: this leaves room for a few pages of one
// overlay (OBS and a browser tab, say).
const (
	stateBurst = 10
	stateRate  = 4
)

func newStateLimiter() *stateLimiter { return &stateLimiter{buckets: map[string]*bucket{}} }

func (l *stateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// A full bucket is the same as none: forget overlays that stopped reporting.
		for k, b := range l.buckets {
			if now.Sub(b.at).Seconds()*stateRate >= stateBurst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: stateBurst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(stateBurst, b.tokens+now.Sub(b.at).Seconds()*stateRate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// settingsPush sends an overlay stream every setting that the page applies itself (custom CSS,
// queue rules) as an "settings" event: at the start of the stream (the page may be older than
// the settings) and whenever they change.
type settingsPush struct{ sent string }

// pageSettings is the "settings" event's JSON.
type pageSettings struct {
	CSS   string            `json:"css"`
	Queue overlay.PageRules `json:"queue"`
}

func pageSettingsOf(ov *store.Overlay) string {
	data, _ := json.Marshal(pageSettings{CSS: ov.CustomCSS, Queue: overlay.ForPage(ov.QueueRules)}) // strings and numbers only
	return string(data)
}

// queueRulesJSON is rules r as the page reads them.
func queueRulesJSON(r store.QueueRules) string {
	data, _ := json.Marshal(overlay.ForPage(r)) // strings and numbers only
	return string(data)
}

// push writes ov's settings unless they are the ones sent last.
func (p *settingsPush) push(w io.Writer, ov *store.Overlay) {
	if data := pageSettingsOf(ov); data != p.sent {
		writeSSE(w, "settings", 0, data)
		p.sent = data
	}
}

// queueRulesForm reads the settings form's queue rules, and what is wrong with them by field.
func queueRulesForm(c *gin.Context) (store.QueueRules, map[string]string) {
	r := store.QueueRules{Combine: c.PostForm("queue_combine") == "1"}
	errs := map[string]string{}
	var err error
	if r.Max, err = overlay.ParseMax(c.PostForm("queue_max")); err != nil {
		errs["queue_max"] = err.Error()
	}
	if r.BusySeconds, err = overlay.ParseBusy(c.PostForm("queue_busy_seconds")); err != nil {
		errs["queue_busy_seconds"] = err.Error()
	}
	return r, errs
}

// statusKey is a short digest of what a status shows.
func statusKey(v views.OverlayStatus) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%+v", v.Connected, v.Queue)
	return fmt.Sprintf("%x", h.Sum64())
}

// queueRulesPosted is the form's rule fields as typed, shown again beside their errors.
func queueRulesPosted(c *gin.Context) views.QueueRulesView {
	v := queueRulesView(store.QueueRules{})
	v.Max = strings.TrimSpace(c.PostForm("queue_max"))
	v.BusySeconds = strings.TrimSpace(c.PostForm("queue_busy_seconds"))
	v.Combine = c.PostForm("queue_combine") == "1"
	return v
}

// queueRulesView is the form's fields for rules r.
func queueRulesView(r store.QueueRules) views.QueueRulesView {
	v := views.QueueRulesView{Combine: r.Combine, MaxLimit: overlay.MaxQueueLimit, MaxBusy: overlay.MaxBusySeconds}
	if r.Max > 0 {
		v.Max = strconv.Itoa(r.Max)
	}
	if r.BusySeconds > 0 {
		v.BusySeconds = strconv.Itoa(r.BusySeconds)
	}
	return v
}

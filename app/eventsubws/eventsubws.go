// Package eventsubws receives EventSub notifications over Twitch's WebSocket transport, for an
// app with no public HTTPS URL (a streamer running it on their own PC). Each signed-in
// streamer gets one connection; at its welcome the streamer's subscriptions are created on the
// session with their user token, and notifications go to the same ingest path as webhooks.
// The client never sends data frames: Twitch closes a connection that does (4001).
package eventsubws

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// DefaultURL is Twitch's EventSub WebSocket endpoint.
const DefaultURL = "wss://eventsub.wss.twitch.tv/ws"

const (
	// subscribeTimeout: Twitch closes a session without a subscription after its keepalive
	// timeout (10 s by default) with 4003.
	subscribeTimeout = 10 * time.Second
	welcomeTimeout   = 15 * time.Second // from connecting to the welcome
	minBackoff       = time.Second
	maxBackoff       = 2 * time.Minute
	maxMessage       = 1 << 20     // EventSub messages are a few KiB
	handoverDrain    = time.Second // the old connection is read this long after a reconnect
)

// Subscriber creates a streamer's subscriptions on a new session and records revocations, as
// the webhook does: the accounts service.
type Subscriber interface {
	SubscribeSession(ctx context.Context, broadcasterID, sessionID string) error
	RecordRevocation(ctx context.Context, sub eventsub.Subscription) (known bool, err error)
}

// Recorder stores events once by message id and announces the new ones: the ingest batcher.
type Recorder interface {
	Store(ctx context.Context, evs ...*store.Event) ([]bool, error)
}

// Options are a Manager's dependencies.
type Options struct {
	URL        string // "": DefaultURL
	Subscriber Subscriber
	Ingest     Recorder
	Logger     *slog.Logger
	Now        func() time.Time // nil: time.Now
	HTTP       *http.Client     // for the handshake; nil: http.DefaultClient
}

// Manager runs one client per streamer. It is safe for concurrent use.
type Manager struct {
	o       Options
	mu      sync.Mutex
	base    context.Context // set by Run; nil before
	pending map[string]bool // started before Run
	clients map[string]*running
	wg      sync.WaitGroup
}

type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager makes a Manager; nothing connects before Run.
func NewManager(o Options) *Manager {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{o: o, pending: map[string]bool{}, clients: map[string]*running{}}
}

// Run starts the clients asked for so far and those asked for later, until ctx ends; then it
// stops them all and waits for them.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.base = ctx
	for id := range m.pending {
		m.startLocked(id)
	}
	clear(m.pending)
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	for id := range m.clients {
		m.stopLocked(id)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// Start connects the streamer, replacing a connection they have: a fresh session gets their
// subscriptions with their current token (after a new sign-in, say).
func (m *Manager) Start(broadcasterID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base == nil {
		m.pending[broadcasterID] = true
		return
	}
	if m.base.Err() != nil {
		return
	}
	m.stopLocked(broadcasterID)
	m.startLocked(broadcasterID)
}

// Stop disconnects the streamer (their account is gone) and waits until the client has ended.
// Twitch disables the session's subscriptions when it closes.
func (m *Manager) Stop(broadcasterID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, broadcasterID)
	m.stopLocked(broadcasterID)
}

// Running reports whether the streamer has a client.
func (m *Manager) Running(broadcasterID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clients[broadcasterID] != nil || m.pending[broadcasterID]
}

func (m *Manager) startLocked(id string) {
	ctx, cancel := context.WithCancel(m.base)
	r := &running{cancel: cancel, done: make(chan struct{})}
	m.clients[id] = r
	c := &client{o: m.o, broadcasterID: id, log: m.o.Logger.With("broadcaster_id", id)}
	m.wg.Go(func() {
		c.run(ctx)
		close(r.done)
		m.mu.Lock()
		if m.clients[id] == r { // it gave up by itself
			delete(m.clients, id)
		}
		m.mu.Unlock()
	})
}

func (m *Manager) stopLocked(id string) {
	r := m.clients[id]
	if r == nil {
		return
	}
	delete(m.clients, id)
	r.cancel()
	<-r.done
}

// backoff is the wait before the attempt after n failed ones in a row: doubling from a second
// up to two minutes, with full jitter so that many clients do not come back together.
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 8 {
		d = min(minBackoff<<n, maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

var errSilent = errors.New("eventsubws: no message within the keepalive timeout")

// ErrGiveUp, wrapped in a Subscriber's error, ends the streamer's client instead of connecting
// again: nothing but a new sign-in (which starts it again) can help.
var ErrGiveUp = errors.New("eventsubws: give up")

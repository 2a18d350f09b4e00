// Package hub rings the doorbell for live viewers: after an event is stored, the hub hands the
// rendered row to every viewer of that broadcaster on this instance. The database stays the
// source of truth; a viewer the hub drops reconnects and catches up from it.
package hub

import (
	"sync"

	"github.com/twitch-event-viewer/tev/app/store"
)

// Message is one stored event, rendered once for all of its viewers, or (Kind set) a signal
// for the broadcaster's overlays.
type Message struct {
	BroadcasterID string
	Kind          string // "" for a stored event; else one of the overlay signals below
	EventID       int64
	Type          string // the event's EventSub type, for viewers who watch only one
	HTML          string
	Event         store.Event // the stored event (a test alert's sample: never stored), for overlays
	Control       string      // KindOverlayControl's command: one of Controls
}

// Signals for overlays; dashboard streams ignore them.
const (
	KindOverlayRotated  = "overlay-rotated"  // the overlay URL changed: streams of the old one end
	KindTestAlert       = "test-alert"       // play Event as a sample alert
	KindOverlaySettings = "overlay-settings" // the overlay's settings (safe mode) changed
	KindOverlayControl  = "overlay-control"  // the streamer paused, resumed, skipped or cleared the alert queue
)

// Controls are the commands of a KindOverlayControl message, which the overlay's script obeys.
var Controls = map[string]bool{"pause": true, "resume": true, "skip": true, "clear": true}

// Hub fans messages out to subscribers of a broadcaster. Publish never blocks: a subscriber
// whose buffer is full is dropped (its channel closed), as in WTF Dial's event service.
type Hub struct {
	buffer int

	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

// New makes a hub whose subscribers each buffer up to buffer messages.
func New(buffer int) *Hub {
	return &Hub{buffer: buffer, subs: map[string]map[*Subscription]struct{}{}}
}

// Subscription receives one broadcaster's messages on C until it is closed or dropped; C is
// closed in both cases.
type Subscription struct {
	C <-chan Message

	c           chan Message
	hub         *Hub
	broadcaster string
	overlay     bool
	once        sync.Once
}

// Subscribe starts receiving a broadcaster's messages.
func (h *Hub) Subscribe(broadcasterID string) *Subscription {
	return h.subscribe(broadcasterID, false)
}

// SubscribeOverlay is Subscribe for an OBS overlay, which Overlays counts.
func (h *Hub) SubscribeOverlay(broadcasterID string) *Subscription {
	return h.subscribe(broadcasterID, true)
}

func (h *Hub) subscribe(broadcasterID string, overlay bool) *Subscription {
	c := make(chan Message, h.buffer)
	s := &Subscription{C: c, c: c, hub: h, broadcaster: broadcasterID, overlay: overlay}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[broadcasterID] == nil {
		h.subs[broadcasterID] = map[*Subscription]struct{}{}
	}
	h.subs[broadcasterID][s] = struct{}{}
	return s
}

// Close stops the subscription. It is safe to call more than once, and after a drop.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s)
}

func (h *Hub) removeLocked(s *Subscription) {
	s.once.Do(func() {
		set := h.subs[s.broadcaster]
		delete(set, s)
		if len(set) == 0 {
			delete(h.subs, s.broadcaster)
		}
		close(s.c)
	})
}

// Watched reports whether anyone is watching a broadcaster, so publishers can skip rendering.
func (h *Hub) Watched(broadcasterID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[broadcasterID]) > 0
}

// Publish hands m to every subscriber of its broadcaster, dropping those that are full.
func (h *Hub) Publish(m Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[m.BroadcasterID] {
		select {
		case s.c <- m:
		default:
			h.removeLocked(s)
		}
	}
}

// Subscribers counts the open subscriptions of every broadcaster.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}

// Overlays counts a broadcaster's open overlay streams on this instance.
func (h *Hub) Overlays(broadcasterID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs[broadcasterID] {
		if s.overlay {
			n++
		}
	}
	return n
}

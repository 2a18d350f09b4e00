package twitchtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// EventSub WebSocket transport: GET /ws stands for wss://eventsub.wss.twitch.tv/ws.

// Status of a websocket subscription whose connection closed: it never comes back.
const StatusWebSocketDisconnected = "websocket_disconnected"

const (
	defaultKeepalive = 10 * time.Second
	reconnectGrace   = 30 * time.Second
)

// wsSession is one EventSub WebSocket session. conn is the connection that receives its
// messages; during a reconnect handover the old one keeps receiving until the new one is
// welcomed.
type wsSession struct {
	id         string
	keepalive  time.Duration
	subscribed chan struct{} // closed at its first subscription (guarded by Fake.mu)
	used       bool          // guarded by Fake.mu
	closed     bool          // guarded by Fake.mu
	silent     bool          // no keepalives (guarded by Fake.mu)
	open       int           // connections open (guarded by Fake.mu)
	total      int           // connections ever welcomed (guarded by Fake.mu)

	mu   sync.Mutex // serialises writes and guards conn and last
	conn *websocket.Conn
	last time.Time // when a message last went out
}

// WebSocketURL is the fake's EventSub WebSocket URL: it stands for wss://eventsub.wss.twitch.tv/ws.
func (f *Fake) WebSocketURL() string { return "ws" + strings.TrimPrefix(f.URL, "http") + "/ws" }

// SetWebSocketUnusedTimeout sets how long a new session may go without a subscription before
// it is closed with 4003 (Twitch: the keepalive timeout, 10 s by default). 0 restores that.
func (f *Fake) SetWebSocketUnusedTimeout(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wsUnused = d
}

// SetWebSocketKeepalive sets the keepalive timeout of the sessions welcomed from now on, below
// Twitch's minimum of 10 s if need be, so that tests of a silent connection end soon. 0
// restores Twitch's behaviour.
func (f *Fake) SetWebSocketKeepalive(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wsKeepalive = d
}

// SilenceWebSocket stops the session's keepalives, as a connection that died without a close
// looks to the client: the client must notice the silence and connect again.
func (f *Fake) SilenceWebSocket(sessionID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.wsSessions[sessionID]; s != nil {
		s.silent = true
	}
}

// WebSocketConnections reports how many connections of the session are open and how many
// there have been: after a reconnect handover, 1 and 2.
func (f *Fake) WebSocketConnections(sessionID string) (open, total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.wsSessions[sessionID]; s != nil {
		return s.open, s.total
	}
	return 0, 0
}

// WebSocketSessions returns the ids of the sessions whose connection is open, oldest first.
func (f *Fake) WebSocketSessions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.wsOrder...)
}

func (f *Fake) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	keepalive := defaultKeepalive
	if v := r.URL.Query().Get("keepalive_timeout_seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			http.Error(w, "invalid keepalive_timeout_seconds", http.StatusBadRequest)
			return
		}
		keepalive = time.Duration(min(max(n, 10), 600)) * time.Second
	}
	f.mu.Lock()
	if f.wsKeepalive > 0 {
		keepalive = f.wsKeepalive
	}
	f.mu.Unlock()
	reconnectOf := r.URL.Query().Get("reconnect")
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	f.mu.Lock()
	var s *wsSession
	if reconnectOf != "" {
		s = f.wsSessions[reconnectOf]
		if s == nil || s.closed {
			f.mu.Unlock()
			c.Close(4007, "invalid reconnect")
			return
		}
	} else {
		s = &wsSession{id: eventsub.NewID(), keepalive: keepalive, subscribed: make(chan struct{})}
		f.wsSessions[s.id] = s
		f.wsOrder = append(f.wsOrder, s.id)
	}
	unused := f.wsUnused
	s.open++
	s.total++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		s.open--
		f.mu.Unlock()
	}()
	if unused <= 0 {
		unused = s.keepalive
	}

	s.mu.Lock()
	old := s.conn
	s.conn = c
	s.mu.Unlock()
	welcome := map[string]any{"session": map[string]any{"id": s.id, "status": "connected",
		"keepalive_timeout_seconds": int(s.keepalive / time.Second), "reconnect_url": nil,
		"connected_at": time.Now().UTC().Format(time.RFC3339Nano)}}
	if err := f.wsWrite(s, c, "session_welcome", nil, welcome); err != nil {
		return
	}
	if old != nil {
		// The handover is done: the old connection is closed if the client has not done so.
		go func() {
			select {
			case <-time.After(reconnectGrace):
				old.Close(4004, "reconnect grace time expired")
			case <-f.ctx.Done():
			}
		}()
	}
	f.serveSession(s, c, reconnectOf == "", unused)
}

// serveSession reads (a client must send nothing), sends keepalives, and closes an unused
// session. When the connection ends while it still carries the session, the session ends and
// its subscriptions are disabled.
func (f *Fake) serveSession(s *wsSession, c *websocket.Conn, fresh bool, unused time.Duration) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go func() {
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
			c.Close(4001, "client sent inbound traffic")
			return
		}
	}()
	var unusedC <-chan time.Time
	subscribed := s.subscribed
	if fresh {
		t := time.NewTimer(unused)
		defer t.Stop()
		unusedC = t.C
	}
	tick := time.NewTicker(s.keepalive / 4)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-subscribed:
			unusedC, subscribed = nil, nil
		case <-unusedC:
			c.Close(4003, "connection unused")
			done = true
		case <-tick.C:
			f.mu.Lock()
			silent := s.silent
			f.mu.Unlock()
			s.mu.Lock()
			quiet := !silent && s.conn == c && time.Since(s.last) >= s.keepalive-s.keepalive/4
			s.mu.Unlock()
			if quiet {
				_ = f.wsWrite(s, c, "session_keepalive", nil, struct{}{})
			}
		}
	}
	c.CloseNow()
	f.endSession(s, c)
}

// endSession disables the session's subscriptions if c was still its connection.
func (f *Fake) endSession(s *wsSession, c *websocket.Conn) {
	s.mu.Lock()
	current := s.conn == c
	s.mu.Unlock()
	if !current {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s.closed = true
	for i, id := range f.wsOrder {
		if id == s.id {
			f.wsOrder = append(f.wsOrder[:i:i], f.wsOrder[i+1:]...)
			break
		}
	}
	for _, sub := range f.subs {
		if sub.SessionID == s.id && sub.live() {
			sub.Status = StatusWebSocketDisconnected
		}
	}
}

// wsWrite sends one message on c, as Twitch frames it: {metadata, payload}.
func (f *Fake) wsWrite(s *wsSession, c *websocket.Conn, typ string, sub *Subscription, payload any) error {
	return f.wsWriteID(s, c, eventsub.NewID(), typ, sub, payload)
}

// wsWriteID sends a message with the given id on c, or on the session's connection when c is nil.
func (f *Fake) wsWriteID(s *wsSession, c *websocket.Conn, id, typ string, sub *Subscription, payload any) error {
	meta := map[string]string{"message_id": id, "message_type": typ,
		"message_timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
	if sub != nil {
		meta["subscription_type"], meta["subscription_version"] = sub.Type, sub.Version
	}
	raw, err := json.Marshal(map[string]any{"metadata": meta, "payload": payload})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		// The session's connection now: a handover switches it under this lock, so a message
		// goes out on the old connection before the new one's welcome, or on the new one.
		c = s.conn
	}
	ctx, cancel := context.WithTimeout(f.ctx, callbackTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, raw); err != nil {
		return err
	}
	s.last = time.Now()
	return nil
}

// sendWebSocket delivers m to the session of its subscription, on the connection that carries
// the session now.
func (f *Fake) sendWebSocket(m *message, retry int) (int, error) {
	f.mu.Lock()
	s := f.wsSessions[m.sub.SessionID]
	f.mu.Unlock()
	d := Delivery{MessageID: m.id, MessageType: m.typ, SubscriptionID: m.sub.ID, Retry: retry}
	if s == nil || s.closed {
		d.Err = fmt.Errorf("twitchtest: deliver %s %s: session %s is closed", m.typ, m.id, m.sub.SessionID)
	} else {
		var payload json.RawMessage = m.body
		sub := m.sub
		if err := f.wsWriteID(s, nil, m.id, m.typ, &sub, payload); err != nil {
			d.Err = fmt.Errorf("twitchtest: deliver %s %s on session %s: %w", m.typ, m.id, s.id, err)
		}
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, d)
	f.mu.Unlock()
	return 0, d.Err
}

// ReconnectWebSocket sends session_reconnect on the session, as Twitch does before a server
// goes away. The client connects to the reconnect URL; the session (its id and subscriptions)
// moves there once that connection is welcomed, and messages go to the old one until then.
func (f *Fake) ReconnectWebSocket(sessionID string) error {
	s, c, err := f.liveSession(sessionID)
	if err != nil {
		return err
	}
	return f.wsWrite(s, c, "session_reconnect", nil, map[string]any{"session": map[string]any{
		"id": s.id, "status": "reconnecting", "keepalive_timeout_seconds": nil,
		"reconnect_url": f.WebSocketURL() + "?reconnect=" + s.id, "connected_at": time.Now().UTC().Format(time.RFC3339Nano)}})
}

// DropWebSocket ends the session's connection abruptly, without a close frame, as a network
// failure does. Its subscriptions are disabled.
func (f *Fake) DropWebSocket(sessionID string) error {
	_, c, err := f.liveSession(sessionID)
	if err != nil {
		return err
	}
	return c.CloseNow()
}

// CloseWebSocket closes the session's connection with a close code and reason.
func (f *Fake) CloseWebSocket(sessionID string, code int, reason string) error {
	_, c, err := f.liveSession(sessionID)
	if err != nil {
		return err
	}
	return c.Close(websocket.StatusCode(code), reason)
}

func (f *Fake) liveSession(id string) (*wsSession, *websocket.Conn, error) {
	f.mu.Lock()
	s := f.wsSessions[id]
	f.mu.Unlock()
	if s == nil || s.closed {
		return nil, nil, fmt.Errorf("twitchtest: no open websocket session %s", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s, s.conn, nil
}

// useSessionLocked checks that a subscription may be created on the session, and marks the
// session used.
func (f *Fake) useSessionLocked(id string) error {
	s := f.wsSessions[id]
	if s == nil || s.closed {
		return errors.New("session does not exist or has already disconnected")
	}
	if !s.used {
		s.used = true
		close(s.subscribed)
	}
	return nil
}

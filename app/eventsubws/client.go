package eventsubws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/store"
)

// client keeps one streamer connected: a session, and after a reconnect message its successor.
type client struct {
	o             Options
	broadcasterID string
	log           *slog.Logger
}

// incoming is what a connection's reader hands the session loop: a message, the end of the
// connection, or (dialed) a handover connection now open.
type incoming struct {
	conn   *websocket.Conn
	frame  frame
	err    error
	dialed bool
}

// run connects, and connects again whenever the session ends, until ctx ends.
func (c *client) run(ctx context.Context) {
	failures := 0
	for {
		subscribed, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrGiveUp) {
			c.log.Warn("eventsub websocket stopped until the streamer signs in again", "err", err)
			return
		}
		c.logEnd(err)
		if subscribed {
			failures = 0
		}
		wait := backoff(failures)
		failures++
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (c *client) logEnd(err error) {
	code := websocket.CloseStatus(err)
	if meaning := closeMeaning(code); meaning != "" {
		c.log.Warn("eventsub websocket closed by twitch; reconnecting", "code", int(code), "meaning", meaning)
		return
	}
	c.log.Warn("eventsub websocket ended; reconnecting", "err", err)
}

// session runs one session from its first connection to its end, through any reconnect
// handovers. It reports whether the session's subscriptions were created.
func (c *client) session(ctx context.Context) (subscribed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the readers end, and with them their connections
	in := make(chan incoming)
	cur, err := c.dial(ctx, c.o.URL)
	if err != nil {
		return false, err
	}
	go c.read(ctx, cur, in)
	var next *websocket.Conn // the reconnect URL's connection, until its welcome
	silence := welcomeTimeout
	watchdog := time.NewTimer(silence)
	defer watchdog.Stop()
	for {
		var msg incoming
		select {
		case <-ctx.Done():
			return subscribed, ctx.Err()
		case <-watchdog.C:
			return subscribed, errSilent
		case msg = <-in:
		}
		switch {
		case msg.dialed:
			next = msg.conn
			continue
		case msg.err != nil && msg.conn == cur:
			return subscribed, msg.err
		case msg.err != nil && msg.conn == next:
			c.log.Warn("eventsub websocket reconnect failed; staying on the old connection", "err", msg.err)
			next = nil
			continue
		case msg.err != nil:
			continue // a connection handed over already, or a failed dial
		}
		if msg.conn == cur || msg.conn == next {
			watchdog.Reset(silence)
		}
		f := msg.frame
		switch f.Metadata.MessageType {
		case typeWelcome:
			s, err := parseSession(f)
			if err != nil {
				return subscribed, err
			}
			if s.Session.KeepaliveTimeoutSeconds > 0 {
				keepalive := time.Duration(s.Session.KeepaliveTimeoutSeconds) * time.Second
				silence = keepalive + keepalive/5 // a little slack for the network
				watchdog.Reset(silence)
			}
			if msg.conn == next {
				old := cur
				cur, next = next, nil
				// Twitch sends nothing more on the old connection once the new one is welcomed,
				// but what it sent before may still be on the way: a close now would discard it.
				time.AfterFunc(handoverDrain, func() { old.Close(websocket.StatusNormalClosure, "reconnected") })
				c.log.Info("eventsub websocket reconnected", "session_id", s.Session.ID)
				continue
			}
			if err := c.subscribe(ctx, s.Session.ID); err != nil {
				return false, err
			}
			subscribed = true
		case typeKeepalive:
		case typeNotification:
			c.notified(ctx, f)
		case typeRevocation:
			c.revoked(ctx, f)
		case typeReconnect:
			s, err := parseSession(f)
			if err != nil || s.Session.ReconnectURL == "" {
				return subscribed, fmt.Errorf("eventsubws: reconnect message without a URL")
			}
			go c.handover(ctx, s.Session.ReconnectURL, in)
		default:
			c.log.Warn("eventsub websocket message of an unknown type ignored", "type", f.Metadata.MessageType)
		}
	}
}

func parseSession(f frame) (session, error) {
	var s session
	if err := json.Unmarshal(f.Payload, &s); err != nil || s.Session.ID == "" {
		return s, fmt.Errorf("eventsubws: %s without a session id", f.Metadata.MessageType)
	}
	return s, nil
}

// subscribe creates the streamer's subscriptions on the new session, in time.
func (c *client) subscribe(ctx context.Context, sessionID string) error {
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	if err := c.o.Subscriber.SubscribeSession(ctx, c.broadcasterID, sessionID); err != nil {
		return fmt.Errorf("eventsubws: subscribe on session %s: %w", sessionID, err)
	}
	c.log.Info("eventsub websocket session subscribed", "session_id", sessionID)
	return nil
}

func (c *client) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, welcomeTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: c.o.HTTP})
	if err != nil {
		return nil, fmt.Errorf("eventsubws: connect: %w", err)
	}
	conn.SetReadLimit(maxMessage)
	return conn, nil
}

// handover opens the reconnect URL's connection. The old one is read until its welcome.
func (c *client) handover(ctx context.Context, url string, in chan<- incoming) {
	conn, err := c.dial(ctx, url)
	if err != nil {
		select {
		case in <- incoming{err: err}:
		case <-ctx.Done():
		}
		return
	}
	select {
	case in <- incoming{conn: conn, dialed: true}:
	case <-ctx.Done():
		conn.CloseNow()
		return
	}
	c.read(ctx, conn, in)
}

// read hands every message of conn to the session loop, then the error that ended it.
func (c *client) read(ctx context.Context, conn *websocket.Conn, in chan<- incoming) {
	defer conn.CloseNow()
	for {
		_, data, err := conn.Read(ctx)
		msg := incoming{conn: conn, err: err}
		if err == nil {
			msg.frame, msg.err = parseFrame(data)
		}
		select {
		case in <- msg:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// notified stores a notification through the same conversion as a webhook's. Twitch does not
// send it again over this transport, so a refused store (queue full) is retried a few times.
func (c *client) notified(ctx context.Context, f frame) {
	msg, err := eventsub.Parse(eventsub.TypeNotification, f.Payload)
	if err != nil {
		c.log.Warn("eventsub websocket notification malformed", "message_id", f.Metadata.MessageID, "err", err)
		return
	}
	ev, err := ingest.Event(ingest.Delivery{MessageID: f.Metadata.MessageID, SentAt: f.sentAt(), Message: msg,
		Source: store.SourceWebSocket}, c.o.Now())
	if err != nil {
		c.log.Warn("eventsub websocket notification malformed", "message_id", f.Metadata.MessageID, "err", err)
		return
	}
	for attempt := 0; ; attempt++ {
		stored, err := c.o.Ingest.Store(ctx, ev)
		if err == nil {
			c.log.Debug("websocket notification", "message_id", ev.MessageID, "type", ev.Type,
				"event_id", ev.ID, "duplicate", !stored[0])
			return
		}
		if ctx.Err() != nil || attempt == 5 || (!errors.Is(err, ingest.ErrBusy) && attempt == 2) {
			c.log.Error("eventsub websocket notification not stored", "message_id", ev.MessageID, "type", ev.Type, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond << attempt):
		}
	}
}

// revoked records the revocation as the webhook does.
func (c *client) revoked(ctx context.Context, f frame) {
	msg, err := eventsub.Parse(eventsub.TypeRevocation, f.Payload)
	if err != nil {
		c.log.Warn("eventsub websocket revocation malformed", "message_id", f.Metadata.MessageID, "err", err)
		return
	}
	if _, err := c.o.Subscriber.RecordRevocation(ctx, msg.Subscription); err != nil {
		c.log.Warn("record eventsub revocation", "subscription_id", msg.Subscription.ID, "err", err)
	}
}

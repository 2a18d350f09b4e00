package twitchtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

type wsMessage struct {
	Metadata struct {
		MessageID   string `json:"message_id"`
		MessageType string `json:"message_type"`
	} `json:"metadata"`
	Payload struct {
		Session struct {
			ID        string `json:"id"`
			Keepalive int    `json:"keepalive_timeout_seconds"`
		} `json:"session"`
		Subscription struct {
			ID string `json:"id"`
		} `json:"subscription"`
	} `json:"payload"`
}

func readWS(t *testing.T, ctx context.Context, c *websocket.Conn) wsMessage {
	t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("message %s: %v", data, err)
	}
	return m
}

// The fake's EventSub WebSocket: a welcome with the session, subscriptions on it only with a
// user token and a live session id (202, enabled at once), notifications on the connection,
// keepalives, and a 4003 close for a session left without a subscription.
func TestWebSocketTransport(t *testing.T) {
	f, user, app, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f.SetWebSocketKeepalive(time.Second)
	c, _, err := websocket.Dial(ctx, f.WebSocketURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	welcome := readWS(t, ctx, c)
	session := welcome.Payload.Session.ID
	if welcome.Metadata.MessageType != "session_welcome" || session == "" || welcome.Payload.Session.Keepalive != 1 {
		t.Fatalf("welcome %+v", welcome)
	}
	sub := func(session string) map[string]any {
		return map[string]any{"type": "channel.follow", "version": "2",
			"condition": map[string]string{"broadcaster_user_id": streamer.ID, "moderator_user_id": streamer.ID},
			"transport": map[string]string{"method": "websocket", "session_id": session}}
	}
	if resp, body := helix(t, f, "POST", "/eventsub/subscriptions", app, sub(session)); resp.StatusCode != 400 {
		t.Fatalf("app token: %d %v, want 400", resp.StatusCode, body)
	}
	if resp, body := helix(t, f, "POST", "/eventsub/subscriptions", user.AccessToken, sub("no-such-session")); resp.StatusCode != 400 {
		t.Fatalf("unknown session: %d %v, want 400", resp.StatusCode, body)
	}
	resp, body := helix(t, f, "POST", "/eventsub/subscriptions", user.AccessToken, sub(session))
	data, _ := body["data"].([]any)
	if resp.StatusCode != http.StatusAccepted || len(data) != 1 || data[0].(map[string]any)["status"] != "enabled" {
		t.Fatalf("user token: %d %v, want 202 enabled", resp.StatusCode, body)
	}
	if _, err := f.SendFollow(ctx, streamer.ID, twitchtest.User{ID: "9001", Login: "ws_follower"}); err != nil {
		t.Fatalf("SendFollow: %v", err)
	}
	var got wsMessage
	for got.Metadata.MessageType != "notification" {
		got = readWS(t, ctx, c) // keepalives may come first
	}
	if m := readWS(t, ctx, c); m.Metadata.MessageType != "session_keepalive" {
		t.Fatalf("after the notification %q, want a keepalive", m.Metadata.MessageType)
	}
	if _, err := f.Resend(ctx, got.Metadata.MessageID); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	var again wsMessage
	for again.Metadata.MessageType != "notification" {
		again = readWS(t, ctx, c)
	}
	if again.Metadata.MessageID != got.Metadata.MessageID {
		t.Fatalf("resent message id %q, want %q", again.Metadata.MessageID, got.Metadata.MessageID)
	}

	f.SetWebSocketUnusedTimeout(50 * time.Millisecond)
	unused, _, err := websocket.Dial(ctx, f.WebSocketURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unused.CloseNow()
	readWS(t, ctx, unused)
	for {
		if _, _, err := unused.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != 4003 {
				t.Fatalf("unused session ended with %v (code %d), want 4003", err, code)
			}
			break
		}
	}
}

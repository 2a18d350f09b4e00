package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// TestEndToEndWithTwitchWebSocket is the streamer running the program on their own PC: PUBLIC_URL
// is plain http on a loopback address, so EventSub comes over WebSocket (EVENTSUB_TRANSPORT's
// auto). Sign-in subscribes on a session, a follow reaches the dashboard, and after a restart
// the account's connection is opened again at start-up and events flow.
func TestEndToEndWithTwitchWebSocket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		fake := twitchtest.New(t)
		fake.AddUser(twitchtest.User{ID: "4343", Login: "pc_streamer", DisplayName: "PCStreamer"})
		fake.AuthorizeAs("4343")
		env := []string{
			"TWITCH_CLIENT_ID", fake.ClientID, "TWITCH_CLIENT_SECRET", fake.ClientSecret,
			"TWITCH_AUTH_URL", fake.AuthURL, "TWITCH_API_URL", fake.APIURL, "TWITCH_EVENTSUB_WS_URL", fake.WebSocketURL(),
			"EVENTSUB_SECRET", "e2e-eventsub-secret", "SESSION_SECRET", strings.Repeat("s", 40),
			"TOKEN_KEY", tokenbox.NewKey(),
		}
		app := startApp(t, db, env...)
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := browser.Get(app.URL + "/auth/twitch")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/dashboard" {
			t.Fatalf("sign-in ended at %s with %d, want /dashboard with 200", resp.Request.URL, resp.StatusCode)
		}
		if got := getDoc(t, browser, app.URL+"/dashboard").Find(`[data-testid=eventsub-transport]`).AttrOr("data-transport", ""); got != "websocket" {
			t.Fatalf("connection panel transport %q, want websocket", got)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		first := awaitWebSocketFollowSub(t, fake, "4343", "")
		if _, err := fake.SendFollow(ctx, "4343", twitchtest.User{ID: "5", Login: "ws_fan", DisplayName: "WS_Fan"}); err != nil {
			t.Fatalf("SendFollow: %v", err)
		}
		awaitDashboard(t, browser, app.URL, []string{"WS_Fan"})

		if err := app.stop(t); err != nil {
			t.Fatal(err)
		}
		restarted := startApp(t, db, env...)
		awaitWebSocketFollowSub(t, fake, "4343", first.SessionID)
		if _, err := fake.SendFollow(ctx, "4343", twitchtest.User{ID: "6", Login: "after_restart", DisplayName: "After_Restart"}); err != nil {
			t.Fatalf("SendFollow after the restart: %v", err)
		}
		awaitDashboard(t, browser, restarted.URL, []string{"After_Restart", "WS_Fan"})
		for _, s := range fake.Subscriptions() {
			if s.SessionID == "" {
				t.Fatalf("a webhook subscription was created: %+v", s)
			}
		}
	})
}

// awaitWebSocketFollowSub waits for the broadcaster's enabled channel.follow subscription on a
// WebSocket session other than notOn.
func awaitWebSocketFollowSub(t *testing.T, fake *twitchtest.Fake, broadcaster, notOn string) twitchtest.Subscription {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, s := range fake.Subscriptions() {
			if s.Type == "channel.follow" && s.Condition["broadcaster_user_id"] == broadcaster &&
				s.Status == twitchtest.StatusEnabled && s.SessionID != "" && s.SessionID != notOn {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no enabled channel.follow subscription on a websocket session: %+v", fake.Subscriptions())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitDashboard waits until the dashboard lists exactly want, newest first.
func awaitDashboard(t *testing.T, browser *http.Client, base string, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		users := dashboardUsers(t, browser, base)
		if slices.Equal(users, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard shows %v, want %v", users, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

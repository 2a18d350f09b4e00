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

// TestEndToEndWithTwitch runs the real program with Twitch credentials pointed at a fake Twitch:
// a streamer signs in, the app subscribes to their follows by itself (verified by Twitch's
// challenge), their follower history shows, and a follow Twitch delivers appears. It proves the
// wiring in serve (Twitch client, accounts, goth) that the web tests assemble themselves.
func TestEndToEndWithTwitch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		fake := twitchtest.New(t)
		fake.AddUser(twitchtest.User{ID: "4242", Login: "cozy_streamer", DisplayName: "CozyStreamer"})
		fake.AddFollower("4242", twitchtest.User{ID: "1", Login: "early_bird", DisplayName: "Early_Bird"}, time.Now().Add(-48*time.Hour))
		fake.AuthorizeAs("4242")
		env := []string{
			"TWITCH_CLIENT_ID", fake.ClientID, "TWITCH_CLIENT_SECRET", fake.ClientSecret,
			"TWITCH_AUTH_URL", fake.AuthURL, "TWITCH_API_URL", fake.APIURL,
			"EVENTSUB_SECRET", "e2e-eventsub-secret", "SESSION_SECRET", strings.Repeat("s", 40),
			"TOKEN_KEY", tokenbox.NewKey(), "EVENTSUB_TRANSPORT", "webhook", // the fake delivers to plain http
		}
		app := startApp(t, db, env...)

		landing := getDoc(t, http.DefaultClient, app.URL+"/")
		if landing.Find(`[data-testid=twitch-sign-in]`).Length() != 1 || landing.Find(`[data-testid=demo-sign-in]`).Length() != 0 {
			t.Fatal("the start page does not offer Twitch sign-in (and only that)")
		}
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := browser.Get(app.URL + "/auth/twitch") // follows: fake authorize → callback → dashboard
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/dashboard" {
			t.Fatalf("sign-in ended at %s with %d, want /dashboard with 200", resp.Request.URL, resp.StatusCode)
		}

		subs := fake.Subscriptions()
		if len(subs) == 0 {
			t.Fatal("no subscription was created at Twitch")
		}
		var followSub twitchtest.Subscription
		for _, s := range subs {
			if s.Type == "channel.follow" {
				followSub = s
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if s, err := fake.AwaitVerification(ctx, followSub.ID); err != nil || s.Status != twitchtest.StatusEnabled {
			t.Fatalf("follow subscription %+v not enabled: %v", s, err)
		}
		if followSub.Callback != app.URL+"/webhooks/twitch" {
			t.Fatalf("callback %q, want %q", followSub.Callback, app.URL+"/webhooks/twitch")
		}

		if status, err := fake.SendFollow(ctx, "4242", twitchtest.User{ID: "2", Login: "new_fan", DisplayName: "New_Fan"}); err != nil || status != http.StatusNoContent {
			t.Fatalf("live follow answered %d, %v", status, err)
		}
		users := dashboardUsers(t, browser, app.URL)
		if len(users) != 2 || users[0] != "New_Fan" || users[1] != "Early_Bird" {
			t.Fatalf("dashboard shows %v, want [New_Fan Early_Bird]", users)
		}
		if panel := getDoc(t, browser, app.URL+"/dashboard").Find(`[data-testid=subscription][data-status=enabled]`); panel.Length() != 1 {
			t.Fatalf("status panel shows %d enabled subscriptions, want 1", panel.Length())
		}

		// Down for a while: a follow Twitch could not deliver is fetched from the history at start-up.
		if err := app.stop(t); err != nil {
			t.Fatal(err)
		}
		fake.AddFollower("4242", twitchtest.User{ID: "3", Login: "while_down", DisplayName: "While_Down"}, time.Now())
		// The new instance listens on another port, so its PUBLIC_URL differs: the subscription
		// follows it to the new callback.
		restarted := startApp(t, db, env...)
		deadline := time.Now().Add(20 * time.Second)
		for {
			users := dashboardUsers(t, browser, restarted.URL)
			// Helix gives follow times to the second, so While_Down may sort next to New_Fan.
			if len(users) == 3 && slices.Contains(users, "While_Down") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the restart the dashboard shows %v, want While_Down among 3", users)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var callbacks []string
		for _, s := range fake.Subscriptions() {
			if s.Type == "channel.follow" {
				callbacks = append(callbacks, s.Callback)
			}
		}
		if len(callbacks) != 1 || callbacks[0] != restarted.URL+"/webhooks/twitch" {
			t.Fatalf("follow subscriptions' callbacks after the move: %v, want only %s/webhooks/twitch", callbacks, restarted.URL)
		}
	})
}

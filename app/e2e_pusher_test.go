package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/pusher/pushertest"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestEndToEndPusher: with PUSHER_URL set, run() publishes a webhook's event to the streamer's
// private channel, and the secret never reaches the log.
func TestEndToEndPusher(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		f := pushertest.New(t)
		app := startApp(t, db, "PUSHER_URL", f.PusherURL())
		msg := newFollow(t, app.eventsubSecret(t), app.URL, demoBroadcaster,
			eventsub.Follower{ID: "777", Login: "pusher_fan", Name: "Pusher_Fan"})
		if code := deliver(t, app.URL, msg); code != http.StatusNoContent {
			t.Fatalf("signed follow answered %d, want 204", code)
		}
		deadline := time.Now().Add(hangGuard)
		for len(f.Events()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		evs := f.Events()
		if len(evs) != 1 || evs[0].Channel != "private-events-"+demoBroadcaster || evs[0].Name != eventsub.ChannelFollow {
			t.Fatalf("Pusher received %+v, want one channel.follow on private-events-%s", evs, demoBroadcaster)
		}
		var data struct {
			UserLogin string `json:"user_login"`
		}
		if err := json.Unmarshal([]byte(evs[0].Data), &data); err != nil || data.UserLogin != "pusher_fan" {
			t.Errorf("event data %s: %v", evs[0].Data, err)
		}
		if err := app.stop(t); err != nil {
			t.Fatalf("run: %v", err)
		}
		if strings.Contains(app.log.String(), f.Secret) {
			t.Error("the log contains the Pusher secret")
		}
	})
}

package web_test

import (
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// Every event type a streamer gets alerts for goes the whole way: a signed webhook is stored,
// shown as a dashboard row of its type, and played as an overlay alert. Stream online/offline
// are listed but never alert (the streamer's own stream starting is no alert for viewers).
func TestEveryTypeReachesRowAndOverlay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		s := b.streamAt(b.rotateOverlay()+"/stream", "")
		if ready := s.next(); ready.Type != "ready" {
			t.Fatalf("first overlay message %+v, want ready", ready)
		}
		for _, typ := range []string{
			eventsub.ChannelSubscribe, eventsub.ChannelSubscriptionGift, eventsub.ChannelCheer,
			eventsub.ChannelRaid, eventsub.ChannelPointsRedemption, eventsub.StreamOnline,
			eventsub.StreamOffline, eventsub.ChannelFollow,
		} {
			ev := e.postType(typ)
			if ev.Type != typ {
				t.Fatalf("%s stored as %s", typ, ev.Type)
			}
			row := b.page("/dashboard").Find(`[data-testid=event-row][data-type="` + typ + `"]`)
			if row.Length() != 1 || row.Find(".action").Text() == "" {
				t.Fatalf("%s: %d dashboard rows, want 1 reading what happened", typ, row.Length())
			}
			if typ == eventsub.StreamOnline || typ == eventsub.StreamOffline {
				continue
			}
			// Follows are held briefly to detect floods; the alert still comes, once.
			if a := s.wantAlert(ev); a.Type != typ || a.Text == "" {
				t.Fatalf("%s alert %+v", typ, a)
			}
		}
	})
}

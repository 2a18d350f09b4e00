package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// hypeTrain sends the demo streamer's train id's message of typ with fields changed.
func (e *env) hypeTrain(typ, id string, change map[string]any) int64 {
	e.t.Helper()
	return e.send(notification(e.t, typ, sample(e.t, typ, eventsub.Follower{}, merge(map[string]any{"id": id}, change)))).ID
}

// A hype train is one row: its begin, progress and end are all stored (and exported), the newest
// is the row, on the page, on the live stream (which replaces the train's row in place) and in a
// catch-up. Another train is a row of its own.
func TestHypeTrainIsOneRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		s := b.stream("")
		s.wantReset(0)

		begin := e.hypeTrain(eventsub.ChannelHypeTrainBegin, "train-a", nil)
		first := s.wantEvent(begin)
		if id := first.sel.AttrOr("id", ""); id != "hype-train-train-a" {
			t.Fatalf("begin row DOM id %q, want the train's", id)
		}
		if got := strings.TrimSpace(first.sel.Find(".action").Text()); got != "Hype train level 1 — 27% to level 2" {
			t.Fatalf("begin row: %q", got)
		}
		progress := e.hypeTrain(eventsub.ChannelHypeTrainProgress, "train-a", map[string]any{"level": 2, "progress": 400, "goal": 800})
		// The live frame of a later message removes the train's row out of band, then adds its own.
		ev := s.next()
		frame := parseHTML(t, ev.Data)
		if oob := frame.Find(`#hype-train-train-a[hx-swap-oob=delete]`); oob.Length() != 1 {
			t.Fatalf("progress frame does not remove the train's row: %s", ev.Data)
		}
		if rs := rows(t, frame); len(rs) != 1 || rs[0].id != progress || rs[0].sel.AttrOr("id", "") != "hype-train-train-a" {
			t.Fatalf("progress frame rows %v, want row %d with the train's id", rowIDs(rs), progress)
		}
		end := e.hypeTrain(eventsub.ChannelHypeTrainEnd, "train-a", map[string]any{"level": 3})
		s.wantEvent(end)
		other := e.hypeTrain(eventsub.ChannelHypeTrainBegin, "train-b", nil)
		s.wantEvent(other)
		s.Close()

		d := b.page("/dashboard")
		for _, typ := range []string{eventsub.ChannelHypeTrainBegin, eventsub.ChannelHypeTrainProgress, eventsub.ChannelHypeTrainEnd} {
			if d.Find(`[data-testid=filter-link][data-type="`+typ+`"]`).Length() != 1 || d.Find(`[data-testid=test-event][data-type="`+typ+`"]`).Length() != 1 {
				t.Errorf("no filter or Test button for %s", typ)
			}
		}
		rs := rows(t, d)
		if got := rowIDs(rs); !slices.Equal(got, []int64{other, end}) {
			t.Fatalf("dashboard rows %v, want the second train and the first one's end [%d %d]", got, other, end)
		}
		if got := strings.TrimSpace(rs[1].sel.Find(".action").Text()); got != "Hype train ended at level 3" {
			t.Fatalf("ended train row: %q", got)
		}
		// Catch-up from before the first train: from the log it is the visible rows, from the hub's
		// window every message; either way the page ends up with one row per train.
		s = b.stream("0")
		var list []row
		for len(list) == 0 || list[0].id != other {
			list = applyFrame(t, list, s.next().Data)
		}
		s.Close()
		if got := rowIDs(list); !slices.Equal(got, []int64{other, end}) {
			t.Fatalf("rows after the catch-up %v, want [%d %d]", got, other, end)
		}

		r := b.get("/dashboard/export.csv")
		if n := strings.Count(strings.TrimSpace(r.body), "\n"); r.status != http.StatusOK || n != 4 {
			t.Fatalf("export: %d with %d events, want all 4 messages", r.status, n)
		}
	})
}

// applyFrame does to list what htmx does with a live frame: out-of-band deletes first, then the
// frame's row on top.
func applyFrame(t *testing.T, list []row, data string) []row {
	t.Helper()
	frame := parseHTML(t, data)
	frame.Find(`[hx-swap-oob=delete]`).Each(func(_ int, oob *goquery.Selection) {
		list = slices.DeleteFunc(list, func(r row) bool { return r.sel.AttrOr("id", "") == oob.AttrOr("id", "") })
	})
	return append(rows(t, frame), list...)
}

// The overlay plays a train's begin and end; its progress alerts are off unless the streamer
// turns them on.
func TestHypeTrainAlertsBeginAndEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		s := b.streamAt(b.rotateOverlay()+"/stream", "")
		s.next() // ready

		begin := e.hypeTrain(eventsub.ChannelHypeTrainBegin, "train-o", nil)
		e.hypeTrain(eventsub.ChannelHypeTrainProgress, "train-o", nil)
		end := e.hypeTrain(eventsub.ChannelHypeTrainEnd, "train-o", map[string]any{"level": 4})
		if a := s.nextAlert(); a.ID != begin || a.Type != eventsub.ChannelHypeTrainBegin {
			t.Fatalf("first alert %+v, want the begin %d", a, begin)
		}
		if a := s.nextAlert(); a.ID != end || a.Text != "Hype train ended at level 4" {
			t.Fatalf("second alert %+v, want the end %d", a, end)
		}
	})
}

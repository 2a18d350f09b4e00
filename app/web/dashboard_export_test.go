package web_test

import (
	"cmp"
	"encoding/csv"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// csvRows parses an export by column name: one map per event, in the file's order.
func csvRows(t *testing.T, r reply) []map[string]string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("export = %d %q", r.status, r.body)
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("parse CSV: %v\n%s", err, r.body)
	}
	var out []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, name := range records[0] {
			row[name] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

// sendEach delivers one realistic event by fan of each kind the export reads figures from,
// plus a follow, and returns their message ids by type.
func (e *env) sendEach(fan eventsub.Follower) map[string]string {
	e.t.Helper()
	sent := map[string]string{}
	for _, ev := range []struct {
		typ    string
		change map[string]any
	}{
		{eventsub.ChannelFollow, nil},
		{eventsub.ChannelCheer, map[string]any{"bits": 2500, "message": "=) Cheer2500 PogChamp"}},
		{eventsub.ChannelSubscribe, map[string]any{"tier": "2000"}},
		{eventsub.ChannelSubscriptionMsg, map[string]any{"tier": "3000", "cumulative_months": 14,
			"message": map[string]any{"text": "14 months already!", "emotes": nil}}},
		{eventsub.ChannelSubscriptionGift, map[string]any{"total": 10, "tier": "1000"}},
		{eventsub.ChannelRaid, map[string]any{"viewers": 321}},
		{eventsub.ChannelPointsRedemption, map[string]any{"user_input": "the boss music",
			"reward": map[string]any{"id": "r1", "title": "Song request", "cost": 750, "prompt": ""}}},
	} {
		stored := e.send(notification(e.t, ev.typ, sample(e.t, ev.typ, fan, ev.change)))
		sent[ev.typ] = stored.MessageID
	}
	return sent
}

// The export has a column per figure, read from the event by its kind: bits, gifted subs,
// months, viewers, points, the tier, the reward and the viewer's message; a column a type does
// not have is empty.
func TestDashboardExportColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		sent := e.sendEach(eventsub.Follower{ID: "777001", Login: "big_fan", Name: "Big_Fan"})
		rows := csvRows(t, e.signedIn().get("/dashboard/export.csv"))
		if len(rows) != len(sent) {
			t.Fatalf("export has %d events, want %d", len(rows), len(sent))
		}
		figures := []string{"bits", "gifted", "months", "viewers", "points", "seconds", "level", "tier", "reward", "message"}
		want := map[string]map[string]string{
			eventsub.ChannelFollow: {},
			// the message is the viewer's, cheermotes and all, guarded against running as a formula
			eventsub.ChannelCheer:            {"bits": "2500", "message": "'=) Cheer2500 PogChamp"},
			eventsub.ChannelSubscribe:        {"tier": "2"},
			eventsub.ChannelSubscriptionMsg:  {"months": "14", "tier": "3", "message": "14 months already!"},
			eventsub.ChannelSubscriptionGift: {"gifted": "10", "tier": "1"},
			eventsub.ChannelRaid:             {"viewers": "321"},
			eventsub.ChannelPointsRedemption: {"points": "750", "reward": "Song request", "message": "the boss music"},
		}
		for _, row := range rows {
			typ := row["type"]
			if row["message_id"] != sent[typ] {
				t.Errorf("row %v is not the %s sent (%s)", row, typ, sent[typ])
			}
			for _, col := range figures {
				if got, ok := row[col]; !ok || got != want[typ][col] {
					t.Errorf("%s: %s = %q (column present: %v), want %q", typ, col, got, ok, want[typ][col])
				}
			}
			if !strings.HasPrefix(row["event"], "{") {
				t.Errorf("%s: raw event column = %q, want the event's JSON", typ, row["event"])
			}
		}
	})
}

// The dashboard's filter carries into its Download CSV link, and the export honours it; a
// type the dashboard does not list is refused with a reason.
func TestDashboardExportFiltered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		sent := e.sendEach(eventsub.Follower{ID: "777001", Login: "big_fan", Name: "Big_Fan"})
		e.sendEach(eventsub.Follower{ID: "777002", Login: "other_fan", Name: "Other_Fan"}) // two of each
		b := e.signedIn()

		for _, typ := range []string{eventsub.ChannelCheer, eventsub.ChannelPointsRedemption, ""} {
			t.Run(cmp.Or(typ, "all"), func(t *testing.T) {
				page := "/dashboard"
				if typ != "" {
					page += "?type=" + typ
				}
				a := b.with(t).page(page).Find(`[data-testid=export-csv]`)
				link, ok := a.Attr("href")
				if !ok {
					t.Fatal("no Download CSV link")
				}
				wantLabel := "Download CSV"
				if k, ok := eventsub.KindOf(typ); ok {
					wantLabel += ": " + k.Label // the link says the file holds one type
				}
				if got := strings.TrimSpace(a.Text()); got != wantLabel {
					t.Errorf("link reads %q, want %q", got, wantLabel)
				}
				r := b.with(t).get(link)
				_, params, _ := mime.ParseMediaType(r.header.Get("Content-Disposition"))
				if !strings.HasSuffix(params["filename"], typ+".csv") {
					t.Errorf("file name %q, want one that names %q", params["filename"], typ)
				}
				rows := csvRows(t, r)
				wantN := 2 * len(sent)
				if typ != "" {
					wantN = 2
				}
				if len(rows) != wantN {
					t.Fatalf("GET %s: %d events, want %d", link, len(rows), wantN)
				}
				var types []string
				for _, row := range rows {
					types = append(types, row["type"])
				}
				if typ != "" && slices.ContainsFunc(types, func(got string) bool { return got != typ }) {
					t.Errorf("GET %s exported types %v, want %s only", link, types, typ)
				}
			})
		}

		for _, q := range []string{"channel.bits", eventsub.UserAuthorizationRevoke, "<script>"} {
			r := b.with(t).get("/dashboard/export.csv?type="+url.QueryEscape(q), "Accept", "text/html")
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "type must be one of the event types") {
				t.Errorf("export of type %q = %d %q, want 400 saying why", q, r.status, r.body)
			}
			if strings.Contains(r.header.Get("Content-Type"), "csv") || r.header.Get("Content-Disposition") != "" {
				t.Errorf("a refused export is still a CSV download: %v", r.header)
			}
		}
	})
}

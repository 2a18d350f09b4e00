package web_test

import (
	"encoding/csv"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestDashboardRequiresSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		e.insert(demoID, 1)
		for _, path := range []string{"/dashboard", "/dashboard/events?before=100", "/dashboard/export.csv"} {
			t.Run(path, func(t *testing.T) {
				r := e.with(t).get(path, "Accept", "text/html")
				if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
					t.Fatalf("GET %s signed out = %d to %q, want 303 to /", path, r.status, r.header.Get("Location"))
				}
				if strings.Contains(r.body, "data-event-id") {
					t.Fatalf("events shown to a signed-out visitor: %q", r.body)
				}
			})
		}
	})
}

func TestDashboardPagesNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			stored int
			sizes  []int
		}{
			{0, []int{0}},
			{50, []int{50}},
			{51, []int{50, 1}},
			{120, []int{50, 50, 20}},
		}
		for i, tt := range tests {
			t.Run(strconv.Itoa(tt.stored), func(t *testing.T) {
				e := e.with(t)
				broadcaster := strconv.Itoa(6000 + i) // each case its own channel on the shared database
				var own []int64
				for range 4 { // interleaved with another channel's events
					own = append(own, e.insert(broadcaster, tt.stored/4)...)
					e.insert("4242", 5)
				}
				own = append(own, e.insert(broadcaster, tt.stored%4)...)
				sizes, seen := browsePages(t, e.signedInAs(broadcaster))
				if !slices.Equal(sizes, tt.sizes) {
					t.Errorf("page sizes = %v, want %v", sizes, tt.sizes)
				}
				if want := newestFirst(own, len(own)); !slices.Equal(seen, want) {
					t.Errorf("rows across pages = %v\nwant %v", seen, want)
				}
			})
		}
	})
}

// browsePages reads the dashboard and follows its "Older events" pager to the end, as htmx does.
func browsePages(t *testing.T, b *browser) (sizes []int, ids []int64) {
	t.Helper()
	r := b.get("/dashboard", "Accept", "text/html")
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" || !slices.Contains(r.header.Values("Vary"), "HX-Request") {
		t.Fatalf("dashboard = %d, Cache-Control %q, Vary %q", r.status, r.header.Get("Cache-Control"), r.header.Values("Vary"))
	}
	d := r.doc(t)
	if d.Find(`[data-testid=signed-in-as]`).Length() != 1 || d.Find(`[data-testid=event-list]`).Length() != 1 {
		t.Fatal("dashboard without its account bar or event list")
	}
	page, older := rows(t, d), d.Find(`[data-testid=older]`).AttrOr("hx-get", "")
	for {
		sizes = append(sizes, len(page))
		ids = append(ids, rowIDs(page)...)
		if older == "" {
			return sizes, ids
		}
		if len(sizes) > 10 {
			t.Fatalf("pager does not end: %v", sizes)
		}
		r := b.get(older, "HX-Request", "true")
		if r.status != http.StatusOK || !slices.Contains(r.header.Values("Vary"), "HX-Request") {
			t.Fatalf("GET %s = %d, Vary %q", older, r.status, r.header.Values("Vary"))
		}
		frag := r.doc(t)
		if frag.Find("title, [data-testid=signed-in-as]").Length() != 0 {
			t.Fatalf("GET %s returned a full page, want rows only", older)
		}
		page, older = rows(t, frag), frag.Find(`[data-testid=older]`).AttrOr("hx-get", "")
	}
}

func TestDashboardOlderEventsRefusesBadCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		for _, q := range []string{"", "?before=", "?before=0", "?before=-5", "?before=abc"} {
			t.Run(q, func(t *testing.T) {
				if r := b.with(t).get("/dashboard/events"+q, "HX-Request", "true"); r.status != http.StatusBadRequest {
					t.Fatalf("GET /dashboard/events%s = %d, want 400", q, r.status)
				}
			})
		}
	})
}

func TestDashboardExportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		var own []string
		for range 3 {
			own = append(own, e.post(demoID).MessageID)
			e.post("4242")
		}
		r := e.signedIn().get("/dashboard/export.csv")
		if r.status != http.StatusOK {
			t.Fatalf("export = %d %q", r.status, r.body)
		}
		if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || mt != "text/csv" {
			t.Errorf("Content-Type = %q, want text/csv", r.header.Get("Content-Type"))
		}
		disp, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || !strings.HasSuffix(params["filename"], ".csv") {
			t.Errorf("Content-Disposition = %q, want an attachment named *.csv", r.header.Get("Content-Disposition"))
		}
		records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v\n%s", err, r.body)
		}
		if len(records) != 1+len(own) {
			t.Fatalf("CSV has %d lines, want a header and %d events:\n%s", len(records), len(own), r.body)
		}
		col := map[string]int{}
		for i, name := range records[0] {
			col[name] = i
		}
		var got []string
		for _, rec := range records[1:] {
			if rec[col["broadcaster_id"]] != demoID || rec[col["type"]] != eventsub.ChannelFollow {
				t.Errorf("exported %v", rec)
			}
			got = append(got, rec[col["message_id"]])
		}
		slices.Reverse(own) // newest first
		if !slices.Equal(got, own) {
			t.Errorf("exported message ids %v, want %v", got, own)
		}
	})
}

func TestDashboardTestFollow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		other := e.signedInAs("4242")
		tests := []struct {
			name     string
			form     url.Values
			headers  []string
			want     int
			location string
		}{
			{"form with the token", url.Values{"csrf_token": {b.csrf}}, nil, http.StatusSeeOther, "/dashboard"},
			{"htmx with the token header", nil, []string{"HX-Request", "true", "X-CSRF-Token", b.csrf}, http.StatusNoContent, ""},
			{"same-origin fetch with the token", url.Values{"csrf_token": {b.csrf}}, []string{"Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther, "/dashboard"},
			{"no token", url.Values{}, nil, http.StatusForbidden, ""},
			{"wrong token", url.Values{"csrf_token": {"not-the-token"}}, nil, http.StatusForbidden, ""},
			{"another session's token", url.Values{"csrf_token": {other.csrf}}, nil, http.StatusForbidden, ""},
			{"wrong token header", nil, []string{"HX-Request", "true", "X-CSRF-Token", b.csrf + "x"}, http.StatusForbidden, ""},
			{"cross-site with the token", url.Values{"csrf_token": {b.csrf}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := b.with(t)
				before := rows(t, b.page("/dashboard"))
				r := b.postForm("/dashboard/test-follow", tt.form, tt.headers...)
				if r.status != tt.want || r.header.Get("Location") != tt.location {
					t.Fatalf("test follow = %d to %q, want %d to %q", r.status, r.header.Get("Location"), tt.want, tt.location)
				}
				after := rows(t, b.page("/dashboard"))
				if n := count(t, e.store, demoID); n != len(after) {
					t.Fatalf("stored %d events, dashboard shows %d", n, len(after))
				}
				if tt.want >= 400 {
					if len(after) != len(before) {
						t.Fatalf("refused test follow stored an event: %d rows, were %d", len(after), len(before))
					}
					return
				}
				if len(after) != len(before)+1 || after[0].typ != eventsub.ChannelFollow || after[0].user == "" {
					t.Fatalf("dashboard rows after a test follow = %+v, were %d", after, len(before))
				}
				ev, err := e.store.ListEvents(t.Context(), demoID, 0, 1)
				if err != nil || len(ev) != 1 || ev[0].ID != after[0].id || ev[0].Type != eventsub.ChannelFollow ||
					ev[0].BroadcasterID != demoID || ev[0].Version != "2" || ev[0].UserName != after[0].user {
					t.Fatalf("stored %+v (%v), want the follow shown as row %d", ev, err, after[0].id)
				}
			})
		}
		if n := count(t, e.store, "4242"); n != 0 {
			t.Fatalf("test follows reached another channel: %d", n)
		}
	})
}

func TestDashboardTestFollowArrivesLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		s := b.stream("")
		s.wantReset(0)
		if r := b.postForm("/dashboard/test-follow", nil, "HX-Request", "true", "X-CSRF-Token", b.csrf); r.status != http.StatusNoContent {
			t.Fatalf("test follow = %d %q", r.status, r.body)
		}
		evs, err := e.store.ListEvents(t.Context(), demoID, 0, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("stored %v, %v; want one event", evs, err)
		}
		if r := s.wantEvent(evs[0].ID); r.user != evs[0].UserName || r.typ != eventsub.ChannelFollow {
			t.Fatalf("live row %+v, want the follow by %q", r, evs[0].UserName)
		}
	})
}

package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// A failed sign-in says what went wrong: the state (no sign-in under way in this browser, or
// another's), Twitch refusing the code, or Twitch out of reach. Each time nobody is signed in,
// and once Twitch is back a new attempt works.
func TestTwitchSignInFailuresSayWhatHappened(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		me := te.addStreamer("41000010", "unlucky_streamer")
		te.fake.AuthorizeAs(me.ID)
		tests := []struct {
			name   string
			break_ func() (undo func())
			back   func(back *url.URL) *url.URL // the callback the browser opens
			status int
			reason string
		}{
			{name: "state from another sign-in", status: http.StatusBadRequest, reason: "state",
				back: func(back *url.URL) *url.URL {
					q := back.Query()
					q.Set("state", flip(q.Get("state"), 5))
					c := *back
					c.RawQuery = q.Encode()
					return &c
				}},
			{name: "code refused", status: http.StatusBadRequest, reason: "code-refused",
				break_: func() func() { te.fake.ExpireCodes(); return func() {} }},
			{name: "Twitch unreachable", status: http.StatusBadGateway, reason: "twitch-unreachable",
				break_: func() func() { te.fake.SetUnreachable(true); return func() { te.fake.SetUnreachable(false) } }},
			{name: "Twitch failing", status: http.StatusBadGateway, reason: "twitch-unreachable",
				break_: func() func() {
					te.fake.SetServerError(http.StatusServiceUnavailable)
					return func() { te.fake.SetServerError(0) }
				}},
		}
		texts := map[string]string{} // reason → message
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := te.with(t).browser()
				back := te.consent(b, te.startSignIn(b))
				if tt.back != nil {
					back = tt.back(back)
				}
				if tt.break_ != nil {
					defer tt.break_()()
				}
				r := b.open(back)
				d := r.doc(t)
				if r.status != tt.status || d.Find(`[data-testid=sign-in-problem]`).Length() != 1 {
					t.Fatalf("callback = %d, want %d with the sign-in problem page: %s", r.status, tt.status, r.body)
				}
				reasons := d.Find(`[data-testid=sign-in-reason]`)
				if reasons.Length() != 1 || reasons.AttrOr("data-reason", "") != tt.reason || reasons.Text() == "" {
					t.Fatalf("sign-in problem says %q (%d hooks): %q; want reason %q",
						reasons.AttrOr("data-reason", ""), reasons.Length(), reasons.Text(), tt.reason)
				}
				texts[tt.reason] = reasons.Text()
				if href := d.Find(`[data-testid=sign-in-again]`).AttrOr("href", ""); href != "/auth/twitch" {
					t.Fatalf("sign-in problem page offers %q, want a way to /auth/twitch", href)
				}
				wantSignedOut(t, b)
				te.noAccount(t, me.ID)
			})
		}
		// Each failure has a message of its own.
		distinct := map[string]bool{}
		for _, text := range texts {
			distinct[text] = true
		}
		if len(texts) != 3 || len(distinct) != 3 {
			t.Fatalf("messages by reason %q, want three different ones", texts)
		}
		te.signIn(te.browser(), me) // Twitch is back: signing in works
	})
}

// The start page lists exactly the permissions the sign-in asks Twitch for, each with a reason.
func TestTwitchLandingListsRequestedScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		te := newTwitchEnv(t, db)
		b := te.browser()
		var listed []string
		b.page("/").Find(`[data-testid=permissions] [data-testid=permission]`).Each(func(_ int, s *goquery.Selection) {
			scope := s.AttrOr("data-scope", "")
			if code := s.Find("code").Text(); code != scope {
				t.Errorf("permission %q shows %q", scope, code)
			}
			if reason := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.Text()), scope+":")); len(reason) < 10 {
				t.Errorf("permission %q has no reason: %q", scope, s.Text())
			}
			listed = append(listed, scope)
		})
		authorize := te.startSignIn(b)
		if requested := strings.Fields(authorize.Query().Get("scope")); len(requested) == 0 || !slices.Equal(listed, requested) {
			t.Fatalf("start page lists %v, the sign-in asks for %v", listed, requested)
		}
	})
}

package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// browser is a person's browser: it keeps cookies and remembers the CSRF token of the last page.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, c: noRedirectClient(e.t, jar)}
}

// signedIn is a browser signed in as the demo streamer.
func (e *env) signedIn() *browser {
	e.t.Helper()
	b := e.browser()
	b.signIn(e.url)
	return b
}

// signedInAs is a browser signed in as another streamer. Demo sign-in always uses
// DEMO_BROADCASTER_ID, so it signs in through a second instance with that id on the same database,
// hub and DATA_DIR (hence the same session secret), then talks to e's server like any browser.
func (e *env) signedInAs(broadcaster string) *browser {
	e.t.Helper()
	_, other, _ := e.start(withVar("DEMO_BROADCASTER_ID", broadcaster))
	b := e.browser()
	b.signIn(other)
	b.page("/dashboard") // the CSRF token as e's server computes it
	return b
}

// signIn goes through the landing page and its "Try the demo" form on the server at base.
func (b *browser) signIn(base string) {
	b.t.Helper()
	landing := b.do(newRequest(b.t, http.MethodGet, base+"/", nil))
	token := landing.doc(b.t).Find(`[data-testid=demo-sign-in]`).Closest("form").Find(`input[name=csrf_token]`).AttrOr("value", "")
	if landing.status != http.StatusOK || token == "" {
		b.t.Fatalf("landing: %d, csrf token %q", landing.status, token)
	}
	r := b.do(newRequest(b.t, http.MethodPost, base+"/auth/demo", strings.NewReader(url.Values{"csrf_token": {token}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		b.t.Fatalf("demo sign-in: %d to %q, want 303 to /dashboard", r.status, r.header.Get("Location"))
	}
	dash := b.do(newRequest(b.t, http.MethodGet, base+"/dashboard", nil))
	if dash.status != http.StatusOK {
		b.t.Fatalf("dashboard after sign-in: %d", dash.status)
	}
	b.remember(dash.doc(b.t))
}

// with is b for use inside subtest t.
func (b *browser) with(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

// remember keeps the page's CSRF token: from a form, or else from <body hx-headers>.
func (b *browser) remember(d *goquery.Document) {
	if tok := d.Find(`input[name=csrf_token]`).First().AttrOr("value", ""); tok != "" {
		b.csrf = tok
		return
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(d.Find("body").AttrOr("hx-headers", "")), &h); err == nil && h["X-CSRF-Token"] != "" {
		b.csrf = h["X-CSRF-Token"]
	}
}

func (b *browser) do(req *http.Request) reply {
	b.t.Helper()
	return do(b.t, b.c, req)
}

// get fetches a path of the main server; headers are name, value pairs.
func (b *browser) get(path string, headers ...string) reply {
	b.t.Helper()
	return b.do(newRequest(b.t, http.MethodGet, b.e.url+path, nil, headers...))
}

// page fetches an HTML page, requires 200, and remembers its CSRF token.
func (b *browser) page(path string) *goquery.Document {
	b.t.Helper()
	r := b.get(path, "Accept", "text/html")
	if r.status != http.StatusOK {
		b.t.Fatalf("GET %s: %d, want 200", path, r.status)
	}
	d := r.doc(b.t)
	b.remember(d)
	return d
}

// postForm submits a form to the main server; headers are name, value pairs.
func (b *browser) postForm(path string, form url.Values, headers ...string) reply {
	b.t.Helper()
	headers = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)
	return b.do(newRequest(b.t, http.MethodPost, b.e.url+path, strings.NewReader(form.Encode()), headers...))
}

// cookie returns the browser's cookie for the main server.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// rows are the event rows in a document, as (id, type) in page order.
func rows(t *testing.T, d *goquery.Document) []row {
	t.Helper()
	var out []row
	d.Find(`[data-testid=event-row]`).Each(func(_ int, s *goquery.Selection) {
		var id int64
		if _, err := fmt.Sscan(s.AttrOr("data-event-id", ""), &id); err != nil {
			t.Fatalf("row without a numeric data-event-id: %v", err)
		}
		out = append(out, row{id: id, typ: s.AttrOr("data-type", ""), user: s.Find(`[data-testid=event-user]`).Text(), sel: s})
	})
	return out
}

type row struct {
	id   int64
	typ  string
	user string
	sel  *goquery.Selection
}

func rowIDs(rs []row) []int64 {
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	return ids
}

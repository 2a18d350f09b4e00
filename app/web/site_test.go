package web_test

import (
	"mime"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

func TestHealthz(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		if r := e.get("/healthz"); r.status != http.StatusOK || r.body != "ok" {
			t.Fatalf("healthz = %d %q, want 200 ok", r.status, r.body)
		}
		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.get("/healthz")
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("healthz with the database closed = %d %q, want 503", r.status, r.body)
		}
		if r.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
}

var hashedAsset = regexp.MustCompile(`^/assets/[a-z.-]+\.[0-9a-f]{12}\.(css|js|svg)$`)

func TestAssets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		d := e.browser().page("/")
		var urls []string
		d.Find(`link[rel=stylesheet], link[rel=icon]`).Each(func(_ int, s *goquery.Selection) { urls = append(urls, s.AttrOr("href", "")) })
		d.Find(`script[src]`).Each(func(_ int, s *goquery.Selection) { urls = append(urls, s.AttrOr("src", "")) })
		if len(urls) != 5 {
			t.Fatalf("page loads %v, want the favicon, the stylesheet, htmx, its SSE extension and the page script", urls)
		}
		for _, u := range urls {
			t.Run(u, func(t *testing.T) {
				e := e.with(t)
				if !hashedAsset.MatchString(u) {
					t.Errorf("asset URL %q carries no content hash", u)
				}
				r := e.get(u)
				if r.status != http.StatusOK || len(r.body) == 0 {
					t.Fatalf("GET %s = %d (%d bytes)", u, r.status, len(r.body))
				}
				if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=") {
					t.Errorf("Cache-Control = %q, want a long immutable lifetime", cc)
				}
				mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
				if want := map[string]string{".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[u[strings.LastIndex(u, "."):]]; mt != want {
					t.Errorf("Content-Type = %q, want %s", r.header.Get("Content-Type"), want)
				}
			})
		}
		for _, u := range []string{"/assets/app.000000000000.css", "/assets/app.css", "/assets/nope.js", "/assets/"} {
			t.Run(u, func(t *testing.T) {
				if r := e.with(t).get(u); r.status != http.StatusNotFound {
					t.Fatalf("GET %s = %d, want 404", u, r.status)
				}
			})
		}
	})
}

func TestNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		tests := []struct {
			name, method, path, accept string
			page                       bool
		}{
			{"browser", http.MethodGet, "/no/such/page", "text/html,application/xhtml+xml,*/*;q=0.8", true},
			{"browser under /dashboard", http.MethodGet, "/dashboard/nope", "text/html", true},
			{"script", http.MethodGet, "/no/such/page", "", false},
			{"POST", http.MethodPost, "/no/such/page", "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.with(t)
				req := newRequest(t, tt.method, e.url+tt.path, nil)
				if tt.accept != "" {
					req.Header.Set("Accept", tt.accept)
				}
				r := do(t, e.http, req)
				if r.status != http.StatusNotFound {
					t.Fatalf("%s %s = %d, want 404", tt.method, tt.path, r.status)
				}
				mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
				if !tt.page {
					if mt != "text/plain" {
						t.Fatalf("Content-Type = %q, want text/plain", r.header.Get("Content-Type"))
					}
					return
				}
				if mt != "text/html" {
					t.Fatalf("Content-Type = %q, want text/html", r.header.Get("Content-Type"))
				}
				box := r.doc(t).Find(`[data-testid=error]`)
				if box.Length() != 1 || strings.TrimSpace(box.Find(".status").Text()) != "404" {
					t.Fatalf("404 page without its error box: %q", r.body)
				}
			})
		}
	})
}

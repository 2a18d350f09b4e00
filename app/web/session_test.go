package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
)

const sessionCookie = "tev_session"

// sessionRow is the stored session behind a cookie value (token "." signature), or nil.
func sessionRow(t *testing.T, s *store.Store, cookie string) *store.Session {
	t.Helper()
	token, _, _ := strings.Cut(cookie, ".")
	sum := sha256.Sum256([]byte(token))
	sess, err := s.SessionByTokenHash(context.Background(), hex.EncodeToString(sum[:]), time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// signedOut requires a request carrying cookie to be treated as signed out.
func signedOut(t *testing.T, e *env, cookie string) {
	t.Helper()
	c := sessionCookie + "=" + cookie
	if r := e.get("/dashboard", "Cookie", c, "Accept", "text/html"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("dashboard = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
	}
	r := e.get("/", "Cookie", c, "Accept", "text/html")
	d := r.doc(t)
	if r.status != http.StatusOK || d.Find(`[data-testid=demo-sign-in]`).Length() != 1 || d.Find(`[data-testid=signed-in-as]`).Length() != 0 {
		t.Fatalf("landing = %d, want the signed-out start page", r.status)
	}
}

func TestLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		cookie := b.cookie(sessionCookie).Value
		if sess := sessionRow(t, e.store, cookie); sess == nil || sess.BroadcasterID != demoID {
			t.Fatalf("session row after sign-in: %+v", sess)
		}
		if r := b.get("/", "Accept", "text/html"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
			t.Fatalf("start page signed in = %d to %q, want 303 to /dashboard", r.status, r.header.Get("Location"))
		}

		for _, refused := range []struct {
			form    url.Values
			headers []string
		}{
			{url.Values{}, nil},
			{url.Values{"csrf_token": {"forged"}}, nil},
			{url.Values{"csrf_token": {b.csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		} {
			if r := b.postForm("/auth/logout", refused.form, refused.headers...); r.status != http.StatusForbidden {
				t.Fatalf("logout %v %v = %d, want 403", refused.form, refused.headers, r.status)
			}
			if sessionRow(t, e.store, cookie) == nil {
				t.Fatalf("a refused logout (%v %v) ended the session", refused.form, refused.headers)
			}
		}

		r := b.postForm("/auth/logout", url.Values{"csrf_token": {b.csrf}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("logout = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
		}
		if sess := sessionRow(t, e.store, cookie); sess != nil {
			t.Fatalf("session row still there after logout: %+v", sess)
		}
		if c := b.cookie(sessionCookie); c != nil {
			t.Errorf("browser still holds the session cookie %q", c.Value)
		}
		signedOut(t, e, cookie) // a copy of the old cookie no longer works either
	})
}

func TestTamperedSessionCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		valid := e.signedIn().cookie(sessionCookie).Value
		token, sig, ok := strings.Cut(valid, ".")
		if !ok || token == "" || sig == "" {
			t.Fatalf("session cookie %q is not token.signature", valid)
		}
		_, otherSig, _ := strings.Cut(e.signedIn().cookie(sessionCookie).Value, ".")
		tests := []struct{ name, cookie string }{
			{"token changed", flip(token, 5) + "." + sig},
			{"token's last character changed", flip(token, len(token)-1) + "." + sig},
			{"signature changed", token + "." + flip(sig, 7)},
			{"another session's signature", token + "." + otherSig},
			{"forged: random token, made-up signature", strings.Repeat("Zm9yZ2Vk", 5) + "abc.bWFkZS11cC1zaWduYXR1cmUtMDEyMzQ1Njc4OTAxMjM0NTY3"},
			{"token without signature", token},
			{"token with an empty signature", token + "."},
			{"empty", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				signedOut(t, e.with(t), tt.cookie)
			})
		}
		// The genuine cookie still works: the refusals above were about the changes.
		r := e.get("/dashboard", "Cookie", sessionCookie+"="+valid, "Accept", "text/html")
		if r.status != http.StatusOK {
			t.Fatalf("dashboard with the genuine cookie = %d, want 200", r.status)
		}
	})
}

func TestSessionExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		b := e.signedIn()
		// The same app a month later: same database, same DATA_DIR and so the same session secret.
		_, later, _ := e.start(withClock(time.Now().Add(31 * 24 * time.Hour)))
		if r := b.do(newRequest(t, http.MethodGet, e.url+"/dashboard", nil)); r.status != http.StatusOK {
			t.Fatalf("dashboard now = %d, want 200", r.status)
		}
		r := b.do(newRequest(t, http.MethodGet, later+"/dashboard", nil))
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("dashboard a month later = %d to %q, want 303 to /", r.status, r.header.Get("Location"))
		}
	})
}

// flip changes the i-th character of s to another base64url character.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestCookieAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		for _, tt := range []struct {
			publicURL string
			secure    bool
		}{
			{"http://localhost:8080", false},
			{"https://tev.example.com", true},
		} {
			t.Run(tt.publicURL, func(t *testing.T) {
				e := newEnv(t, db, withVar("PUBLIC_URL", tt.publicURL))
				// By hand, without a cookie jar: a jar would not send Secure cookies over plain HTTP.
				landing := e.get("/", "Accept", "text/html")
				csrfCookie := findCookie(landing.resp.Cookies(), "tev_csrf")
				token := landing.doc(t).Find(`input[name=csrf_token]`).AttrOr("value", "")
				if csrfCookie == nil || token == "" {
					t.Fatalf("landing set no CSRF cookie or token (%v, %q)", csrfCookie, token)
				}
				checkCookie(t, csrfCookie, tt.secure)

				req := newRequest(t, http.MethodPost, e.url+"/auth/demo", strings.NewReader(url.Values{"csrf_token": {token}}.Encode()),
					"Content-Type", "application/x-www-form-urlencoded", "Cookie", "tev_csrf="+csrfCookie.Value)
				r := do(t, e.http, req)
				sess := findCookie(r.resp.Cookies(), sessionCookie)
				if r.status != http.StatusSeeOther || sess == nil {
					t.Fatalf("sign-in = %d, session cookie %v", r.status, sess)
				}
				checkCookie(t, sess, tt.secure)
				if sess.MaxAge <= 0 {
					t.Errorf("session cookie Max-Age = %d, want a lasting cookie", sess.MaxAge)
				}
				if sessionRow(t, e.store, sess.Value) == nil {
					t.Fatal("no session row behind the cookie")
				}
			})
		}
	})
}

func findCookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func checkCookie(t *testing.T, c *http.Cookie, secure bool) {
	t.Helper()
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
		t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Secure=%v Path=%q; want HttpOnly, Lax, Secure=%v, /",
			c.Name, c.HttpOnly, c.SameSite, c.Secure, c.Path, secure)
	}
}

func TestDemoOffWithTwitchCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db, withVar("TWITCH_CLIENT_ID", "abcdefghijklmnopqrstuvwxyz0123"),
			withVar("TWITCH_CLIENT_SECRET", "0123456789abcdefghijklmnopqrst"),
			withVar("SESSION_SECRET", "a-session-secret-of-at-least-32-characters"),
			withVar("TOKEN_KEY", tokenbox.NewKey()))
		b := e.browser()
		d := b.page("/")
		if d.Find(`[data-testid=demo-sign-in]`).Length() != 0 {
			t.Fatal("the start page offers the demo while Twitch credentials are set")
		}
		if b.csrf == "" {
			t.Fatal("no CSRF token on the start page")
		}
		r := b.postForm("/auth/demo", url.Values{"csrf_token": {b.csrf}})
		if r.status != http.StatusNotFound {
			t.Fatalf("demo sign-in = %d, want 404", r.status)
		}
		if findCookie(r.resp.Cookies(), sessionCookie) != nil || b.cookie(sessionCookie) != nil {
			t.Fatal("a session cookie was set")
		}
		if r := b.get("/dashboard"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("dashboard after a refused demo sign-in = %d, want 303 to /", r.status)
		}

		// A session made elsewhere (same database and SESSION_SECRET) still cannot send test follows here.
		_, demoURL, _ := e.start(withVar("TWITCH_CLIENT_ID", ""), withVar("TWITCH_CLIENT_SECRET", ""))
		b.signIn(demoURL)
		d = b.page("/dashboard")
		if d.Find(`[data-testid=test-follow]`).Length() != 0 {
			t.Error("the dashboard offers test follows outside the demo")
		}
		if r := b.postForm("/dashboard/test-follow", url.Values{"csrf_token": {b.csrf}}); r.status != http.StatusNotFound {
			t.Fatalf("test follow outside the demo = %d, want 404", r.status)
		}
		if n := count(t, e.store, demoID); n != 0 {
			t.Fatalf("stored %d events", n)
		}
	})
}

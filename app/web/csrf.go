package web

import (
	"crypto/hmac"
	"net/http"

	"github.com/gin-gonic/gin"
)

const (
	csrfCookie = "tev_csrf"
	csrfField  = "csrf_token"
	csrfHeader = "X-CSRF-Token"
	ctxCSRF    = "tev.csrf"
)

// csrf gives every visitor a random CSRF cookie and requires, on every state-changing request, a
// token that is the HMAC of that cookie and the current session (a signed double-submit token):
// another site can neither read the cookie nor compute the token. Forms send it as csrf_token,
// htmx as the X-CSRF-Token header (set once on <body>).
func (s *Server) csrf(c *gin.Context) {
	seed, err := c.Cookie(csrfCookie)
	if err != nil || len(seed) < 32 {
		seed = newToken()
		s.setCookie(c, csrfCookie, seed, 0)
	}
	want := s.mac("csrf", seed, c.GetString(ctxSessionToken))
	c.Set(ctxCSRF, want)
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	got := c.GetHeader(csrfHeader)
	if got == "" {
		got = c.PostForm(csrfField)
	}
	if c.GetHeader("Sec-Fetch-Site") == "cross-site" || !hmac.Equal([]byte(got), []byte(want)) {
		s.fail(c, forbidden("This form has expired or did not come from this site. Reload the page and try again.", nil))
		c.Abort()
		return
	}
	c.Next()
}

func csrfToken(c *gin.Context) string { return c.GetString(ctxCSRF) }

package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/store"
)

const (
	sessionCookie   = "tev_session"
	sessionLifetime = 30 * 24 * time.Hour
	ctxSession      = "tev.session"
	ctxSessionToken = "tev.session_token"
)

// A session cookie holds a random token and its HMAC under SESSION_SECRET: a forged or altered
// cookie is refused before the database is asked. The database keeps only the token's hash, so
// that logout (and, later, revocation) ends a session at once.

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) mac(parts ...string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.SessionSecret))
	m.Write([]byte(strings.Join(parts, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// loadSession puts the signed-in session, if any, in the context.
func (s *Server) loadSession(c *gin.Context) {
	raw, err := c.Cookie(sessionCookie)
	if err != nil || raw == "" {
		c.Next()
		return
	}
	token, sig, ok := strings.Cut(raw, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac("session", token))) {
		s.clearCookie(c, sessionCookie)
		c.Next()
		return
	}
	sess, err := s.sessionByTokenHash(c.Request.Context(), tokenHash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.clearCookie(c, sessionCookie)
	case err != nil:
		s.fail(c, unavailable("The database is not answering. Please try again in a moment.", err))
		c.Abort()
		return
	default:
		c.Set(ctxSession, sess)
		c.Set(ctxSessionToken, token)
	}
	c.Next()
}

// requireSession sends visitors who are not signed in to the start page.
func (s *Server) requireSession(c *gin.Context) {
	if sessionOf(c) != nil {
		c.Next()
		return
	}
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Redirect", "/")
		c.AbortWithStatus(http.StatusUnauthorized)
		return
	}
	if strings.HasSuffix(c.Request.URL.Path, "/stream") {
		signedOutStream(c)
		c.Abort()
		return
	}
	if c.Request.Method == http.MethodGet {
		c.Redirect(http.StatusSeeOther, "/")
		c.Abort()
		return
	}
	c.AbortWithStatus(http.StatusUnauthorized)
}

func sessionOf(c *gin.Context) *store.Session {
	v, ok := c.Get(ctxSession)
	if !ok {
		return nil
	}
	return v.(*store.Session)
}

// startSession signs a streamer in: a fresh token (never reusing one from before sign-in).
func (s *Server) startSession(c *gin.Context, broadcasterID, login, displayName string) error {
	token := newToken()
	now := s.now().UTC()
	sess := &store.Session{TokenHash: tokenHash(token), BroadcasterID: broadcasterID, Login: login,
		DisplayName: displayName, CreatedAt: now, ExpiresAt: now.Add(sessionLifetime)}
	if err := s.store.CreateSession(c.Request.Context(), sess); err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token+"."+s.mac("session", token), sessionLifetime)
	return nil
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode})
}

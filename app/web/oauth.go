package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"
	"github.com/markbates/goth"
	"github.com/markbates/goth/gothic"
	gothtwitch "github.com/markbates/goth/providers/twitch"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/views"
)

// Twitch's real base URLs, which goth's twitch provider has built in.
const (
	twitchAuthBase = "https://id.twitch.tv/oauth2"
	twitchAPIBase  = "https://api.twitch.tv/helix"
	setupTimeout   = 30 * time.Second
)

// ConfigureGoth sets goth's globals, the one library state this app cannot avoid: the twitch
// provider, with the scopes the enabled event types need, and gothic's cookie store, keyed from
// SESSION_SECRET. goth's provider has Twitch's URLs built in, so its HTTP client rewrites them to
// TWITCH_AUTH_URL and TWITCH_API_URL (the authorize redirect is rewritten in twitchSignIn).
func ConfigureGoth(cfg config.Config) {
	p := gothtwitch.New(cfg.TwitchClientID, cfg.TwitchSecret, cfg.PublicURL.String()+"/auth/twitch/callback", accounts.Scopes...)
	p.HTTPClient = &http.Client{Timeout: 15 * time.Second, Transport: rewriter{cfg: cfg, base: http.DefaultTransport}}
	goth.UseProviders(p)

	store := sessions.NewCookieStore(derive(cfg.SessionSecret, "gothic-auth"), derive(cfg.SessionSecret, "gothic-enc")[:32])
	store.Options = &sessions.Options{Path: "/auth/twitch", MaxAge: 600, HttpOnly: true,
		Secure: cfg.SecureCookies(), SameSite: http.SameSiteLaxMode}
	gothic.Store = store
}

func derive(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// rewriter sends goth's requests for Twitch to the configured base URLs.
type rewriter struct {
	cfg  config.Config
	base http.RoundTripper
}

func (r rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if u, ok := rewriteTwitchURL(r.cfg, req.URL.String()); ok {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.URL, req.Host = parsed, parsed.Host
	}
	return r.base.RoundTrip(req)
}

func rewriteTwitchURL(cfg config.Config, u string) (string, bool) {
	for _, p := range [][2]string{{twitchAuthBase, cfg.TwitchAuthURL.String()}, {twitchAPIBase, cfg.TwitchAPIURL.String()}} {
		if rest, ok := strings.CutPrefix(u, p[0]); ok {
			return p[1] + rest, true
		}
	}
	return u, false
}

// twitchSignIn starts the OAuth code flow; gothic keeps the state in a short-lived cookie.
func (s *Server) twitchSignIn(c *gin.Context) error {
	if s.accounts == nil {
		return notFoundErr("Sign-in with Twitch is not configured (TWITCH_CLIENT_ID).")
	}
	req := gothic.GetContextWithProvider(c.Request, "twitch")
	// gothic takes the OAuth state from ?state= when there is one. A link must not choose it, or
	// a stranger who knows it could finish the sign-in with their own code (login CSRF): without
	// a query gothic draws a random state.
	req.URL = &url.URL{Path: req.URL.Path}
	authURL, err := gothic.GetAuthURL(c.Writer, req)
	if err != nil {
		return err
	}
	authURL, _ = rewriteTwitchURL(s.cfg, authURL)
	c.Redirect(http.StatusFound, authURL)
	return nil
}

// twitchCallback finishes the sign-in: state checked (by gothic), account stored with sealed
// tokens, subscriptions and follower history set up, session started.
func (s *Server) twitchCallback(c *gin.Context) error {
	if s.accounts == nil {
		return notFoundErr("Sign-in with Twitch is not configured (TWITCH_CLIENT_ID).")
	}
	if reason := c.Query("error"); reason != "" {
		return s.signInProblem(c, "You did not allow access",
			"Twitch says the sign-in was cancelled. The app needs to read your followers to show them; try again whenever you like.")
	}
	req := gothic.GetContextWithProvider(c.Request, "twitch")
	user, err := gothic.CompleteUserAuth(c.Writer, req)
	if err != nil {
		s.log.Info("twitch sign-in not completed", "err", err)
		return s.signInProblem(c, "Sign-in could not be completed",
			"The sign-in link expired or was opened in another browser. Please start again.")
	}
	_ = gothic.Logout(c.Writer, req) // the OAuth state cookie has done its job
	a, err := s.accounts.SignIn(c.Request.Context(), accounts.Grant{
		UserID: user.UserID, Login: user.Name, DisplayName: user.NickName, ProfileImageURL: user.AvatarURL,
		AccessToken: user.AccessToken, RefreshToken: user.RefreshToken, Expiry: user.ExpiresAt,
	})
	if errors.Is(err, accounts.ErrMissingScopes) {
		return s.signInProblem(c, "Some permissions are missing",
			"Twitch did not grant every permission the app asks for (reading your followers). Please sign in again and allow them.")
	}
	if err != nil {
		return unavailable("Your sign-in could not be saved. Please try again in a moment.", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), setupTimeout)
	defer cancel()
	if err := s.accounts.Setup(ctx, a.BroadcasterID); err != nil {
		// Shown on the dashboard's status panel with a way to fix it; the sign-in stands.
		s.log.Warn("account setup incomplete", "broadcaster_id", a.BroadcasterID, "err", err)
	}
	s.replaceSession(c)
	if err := s.startSession(c, a.BroadcasterID, a.Login, a.DisplayName); err != nil {
		return unavailable("Could not sign you in: the database is not answering.", err)
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// signInProblem explains a failed sign-in with a way forward, never as a 500.
func (s *Server) signInProblem(c *gin.Context, heading, msg string) error {
	c.Header("Cache-Control", "no-store")
	return s.renderPage(c, http.StatusBadRequest, views.SignInProblem(views.ErrorPage{
		Page: s.page(c, heading), Status: http.StatusBadRequest, Heading: heading, Message: msg,
	}))
}

package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
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
	"golang.org/x/oauth2"

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

// twitchCallback finishes the sign-in: state checked, code traded and user fetched (by gothic),
// each failure explained as what it is (see signInFailed), account stored with sealed
// tokens, subscriptions and follower history set up, session started.
func (s *Server) twitchCallback(c *gin.Context) error {
	if s.accounts == nil {
		return notFoundErr("Sign-in with Twitch is not configured (TWITCH_CLIENT_ID).")
	}
	if reason := c.Query("error"); reason != "" {
		return s.signInProblem(c, http.StatusBadRequest, reasonDenied, "You did not allow access",
			"Twitch says the sign-in was cancelled. The app needs the permissions listed on the start page to show your events; try again whenever you like.")
	}
	req := gothic.GetContextWithProvider(c.Request, "twitch")
	if err := checkState(req); err != nil {
		_ = gothic.Logout(c.Writer, req) // as gothic does: this attempt is over
		s.log.Info("twitch sign-in not completed", "reason", reasonState, "err", err)
		return s.signInProblem(c, http.StatusBadRequest, reasonState, "Sign-in could not be completed",
			"The sign-in link expired or was opened in another browser. Please start again.")
	}
	user, err := gothic.CompleteUserAuth(c.Writer, req)
	if err != nil {
		return s.signInFailed(c, err)
	}
	_ = gothic.Logout(c.Writer, req) // the OAuth state cookie has done its job
	a, err := s.accounts.SignIn(c.Request.Context(), accounts.Grant{
		UserID: user.UserID, Login: user.Name, DisplayName: user.NickName, ProfileImageURL: user.AvatarURL,
		AccessToken: user.AccessToken, RefreshToken: user.RefreshToken, Expiry: user.ExpiresAt,
	})
	if errors.Is(err, accounts.ErrMissingScopes) {
		return s.signInProblem(c, http.StatusBadRequest, reasonMissingScopes, "Some permissions are missing",
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

// Why a sign-in failed, as the problem page names it (data-reason).
const (
	reasonDenied        = "denied"             // the streamer cancelled at Twitch
	reasonState         = "state"              // no sign-in under way in this browser, or another one's state
	reasonCodeRefused   = "code-refused"       // Twitch refused the code (4xx from /token)
	reasonUnreachable   = "twitch-unreachable" // network error or 5xx on the way to Twitch
	reasonMissingScopes = "missing-scopes"
)

// checkState is gothic's state check, done first so that whatever fails after it is known to
// be Twitch's answer: a browser that started no sign-in (its short-lived cookie expired, or the
// link was opened in another browser) or one whose state differs from the callback's.
func checkState(req *http.Request) error {
	value, err := gothic.GetFromSession("twitch", req)
	if err != nil {
		return err
	}
	p, err := goth.GetProvider("twitch")
	if err != nil {
		return err
	}
	sess, err := p.UnmarshalSession(value)
	if err != nil {
		return err
	}
	authURL, err := sess.GetAuthURL()
	if err != nil {
		return err
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	want, got := u.Query().Get("state"), gothic.GetState(req)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return errors.New("web: the callback's OAuth state is not the one this browser started with")
	}
	return nil
}

// signInFailed explains a failure after the state checked out: Twitch refused the code (a 4xx
// from its token endpoint: expired, used already, or for another redirect URI), or Twitch could
// not be reached or answered with an error of its own (network error, 5xx, or a failed user
// lookup).
func (s *Server) signInFailed(c *gin.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		s.log.Info("twitch sign-in not completed", "reason", reasonCodeRefused, "err", err)
		return s.signInProblem(c, http.StatusBadRequest, reasonCodeRefused, "Twitch did not accept the sign-in",
			"Twitch refused the sign-in code it had just given: it may have expired, or been used already. Please sign in again.")
	}
	s.log.Warn("twitch sign-in not completed", "reason", reasonUnreachable, "err", err)
	return s.signInProblem(c, http.StatusBadGateway, reasonUnreachable, "Twitch could not be reached",
		"The app could not reach Twitch to finish your sign-in, or Twitch answered with an error. Twitch may be having trouble; please try again in a few minutes.")
}

// signInProblem explains a failed sign-in with a way forward, never as a 500.
func (s *Server) signInProblem(c *gin.Context, status int, reason, heading, msg string) error {
	c.Header("Cache-Control", "no-store")
	return s.renderPage(c, status, views.SignInProblem(views.SignInProblemView{
		ErrorPage: views.ErrorPage{Page: s.page(c, heading), Status: status, Heading: heading, Message: msg},
		Reason:    reason,
	}))
}

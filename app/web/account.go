package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/accounts"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// accountStatus builds the status panel of a Twitch-connected streamer (nil for the demo).
func (s *Server) accountStatus(ctx context.Context, broadcasterID string) (*views.AccountStatus, error) {
	if s.accounts == nil {
		return nil, nil
	}
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("Your account could not be loaded: the database is not answering.", err)
	}
	subs, err := s.store.SubscriptionsOf(ctx, broadcasterID)
	if err != nil {
		return nil, unavailable("Your account could not be loaded: the database is not answering.", err)
	}
	st := &views.AccountStatus{NeedsReconnect: a.Status == store.AccountNeedsReconnect, Reason: a.StatusReason,
		HistoryComplete: a.HistoryComplete, Transport: s.cfg.EventSubTransport, TransportReason: s.cfg.TransportReason}
	if !s.cfg.WebSocket() {
		st.PublicURLWarning = publicURLWarning(s.cfg.PublicURL.Scheme, s.cfg.PublicURL.Port())
	}
	for _, sub := range subs {
		row := views.SubscriptionStatus{Type: sub.Type, Status: sub.Status, Label: statusLabel(sub.Status),
			Live: sub.Status == "enabled", LastError: sub.LastError}
		if sub.Status == "error" {
			row.MissingScope = accounts.MissingScope(a, sub.Type)
			st.MissingScopes = st.MissingScopes || row.MissingScope != ""
		}
		if at, err := s.store.LastEventAt(ctx, broadcasterID, sub.Type); err == nil && at != nil {
			row.LastEvent = at.UTC().Format("Jan 2, 15:04:05 UTC")
		}
		if !row.Live && sub.Status != "webhook_callback_verification_pending" {
			st.CanResubscribe = true
		}
		st.Subscriptions = append(st.Subscriptions, row)
	}
	if len(subs) == 0 {
		st.CanResubscribe = true
	}
	// Twitch refuses every subscription until the streamer signs in again: Reconnect is the one way.
	st.CanResubscribe = st.CanResubscribe && !st.NeedsReconnect
	st.Summary = statusSummary(st)
	return st, nil
}

// publicURLWarning says plainly when Twitch cannot deliver to PUBLIC_URL. The app still tries:
// Twitch-compatible test servers accept plain http.
func publicURLWarning(scheme, port string) string {
	switch {
	case scheme != "https":
		return "PUBLIC_URL is not https: Twitch only delivers events to https callbacks on port 443. Set PUBLIC_URL to the app's public https address."
	case port != "" && port != "443":
		return "PUBLIC_URL uses port " + port + ": Twitch only delivers events to port 443. Put the app behind an HTTPS proxy on 443."
	}
	return ""
}

func statusLabel(status string) string {
	switch status {
	case "enabled":
		return "Live"
	case "webhook_callback_verification_pending":
		return "Waiting for Twitch to verify"
	case "webhook_callback_verification_failed":
		return "Verification failed"
	case "notification_failures_exceeded":
		return "Stopped: too many failed deliveries"
	case "authorization_revoked":
		return "Stopped: access revoked"
	case "user_removed":
		return "Stopped: Twitch user removed"
	case "version_removed":
		return "Stopped: version retired by Twitch"
	case "moderator_removed":
		return "Stopped: moderator removed"
	case "error":
		return "Could not be created"
	}
	return strings.ReplaceAll(status, "_", " ")
}

// dashboardResubscribe recreates every subscription that is not live.
func (s *Server) dashboardResubscribe(c *gin.Context) error {
	if s.accounts == nil {
		return notFoundErr("There is no Twitch connection in the demo.")
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), setupTimeout)
	defer cancel()
	if err := s.accounts.Resubscribe(ctx, sessionOf(c).BroadcasterID); err != nil {
		s.log.Warn("resubscribe", "broadcaster_id", sessionOf(c).BroadcasterID, "err", err)
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// dashboardHistory fetches the next older page of the follower history.
func (s *Server) dashboardHistory(c *gin.Context) error {
	if s.accounts == nil {
		return notFoundErr("There is no Twitch connection in the demo.")
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), setupTimeout)
	defer cancel()
	if _, _, err := s.accounts.LoadMoreHistory(ctx, sessionOf(c).BroadcasterID); err != nil && !errors.Is(err, accounts.ErrNeedsReconnect) {
		return &httpError{http.StatusBadGateway, "Twitch did not answer the follower history request. Please try again.", err}
	}
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// dashboardDeleteAccount removes the streamer and everything stored for them, then signs out.
func (s *Server) dashboardDeleteAccount(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 30*time.Second)
	defer cancel()
	var err error
	if s.accounts != nil {
		err = s.accounts.Delete(ctx, b)
	} else {
		err = s.store.DeleteAccount(ctx, b) // the demo: its events and sessions
	}
	if err != nil {
		return unavailable("Your account could not be deleted: the database is not answering. Nothing was removed.", err)
	}
	s.forgetSession(ctx, b, "")
	s.clearCookie(c, sessionCookie)
	c.Redirect(http.StatusSeeOther, "/")
	return nil
}

func statusSummary(st *views.AccountStatus) string {
	live := 0
	for _, sub := range st.Subscriptions {
		if sub.Live {
			live++
		}
	}
	switch {
	case st.NeedsReconnect:
		return "disconnected"
	case st.CanResubscribe:
		return "needs attention"
	case live < len(st.Subscriptions):
		return "waiting for Twitch"
	default:
		return plural(live, "subscription", "subscriptions") + " live"
	}
}

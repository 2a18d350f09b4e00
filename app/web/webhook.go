package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/ingest"
	"github.com/twitch-event-viewer/tev/app/metrics"
	"github.com/twitch-event-viewer/tev/app/store"
)

// maxWebhookBody is far above any EventSub message (a few KiB) and bounds what a stranger can send.
const maxWebhookBody = 1 << 20

// twitchWebhook is the EventSub webhook callback. Nothing is trusted before the signature and
// the timestamp check out; a notification is acknowledged only once it is committed.
func (s *Server) twitchWebhook(c *gin.Context) error {
	arrival := s.ingest.Expect() // lets the batch being gathered wait for this one
	defer arrival.Done()
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		s.metrics.Webhook(metrics.Malformed)
		s.refuse(c, err)
		if errors.As(err, &tooBig) {
			return &httpError{http.StatusRequestEntityTooLarge, "message too large", nil}
		}
		if slow := slowBody(err); slow != nil {
			return slow
		}
		return badRequest("could not read the message body", err)
	}
	if err := eventsub.Verify(s.cfg.EventSubSecret, c.Request.Header, body, s.now()); err != nil {
		s.metrics.Webhook(metrics.Refused)
		s.refuse(c, err)
		return forbidden("signature or timestamp invalid", err)
	}
	msgType := c.GetHeader(eventsub.HeaderMessageType)
	msg, err := eventsub.Parse(msgType, body)
	if err != nil {
		s.metrics.Webhook(metrics.Malformed)
		return badRequest(err.Error(), err)
	}
	if t := c.GetHeader(eventsub.HeaderSubscriptionType); t != "" && t != msg.Subscription.Type {
		s.metrics.Webhook(metrics.Malformed)
		return badRequest("subscription type header does not match the body", nil)
	}
	switch msgType {
	case eventsub.TypeVerification:
		s.log.Info("webhook challenge answered", slog.String("subscription_id", msg.Subscription.ID),
			slog.String("type", msg.Subscription.Type))
		if s.accounts != nil {
			if err := s.accounts.Verified(c.Request.Context(), msg.Subscription); err != nil {
				s.log.Warn("record verified subscription", "subscription_id", msg.Subscription.ID, "err", err)
			}
		}
		s.metrics.Webhook(metrics.Challenge)
		c.Data(http.StatusOK, "text/plain", []byte(msg.Challenge))
		return nil
	case eventsub.TypeRevocation:
		return s.revoked(c, msg)
	default:
		return s.notified(c, msg, arrival)
	}
}

// refuse logs a webhook refused before its signature checked out: anyone can send those, as
// many and as large as they like, so they share one rate-limited, clipped warning.
func (s *Server) refuse(c *gin.Context, err error) {
	c.Set(refusedKey, true)
	s.refused.note(s.log, s.now(), err.Error(), c.GetHeader(eventsub.HeaderMessageID))
}

// notified stores a notification (once, whatever Twitch's retries) and answers 204.
// It stores through the handler's announcement to the batcher.
func (s *Server) notified(c *gin.Context, msg *eventsub.Message, arrival *ingest.Arrival) error {
	sent, _ := time.Parse(time.RFC3339Nano, c.GetHeader(eventsub.HeaderMessageTimestamp))
	ev, err := ingest.Event(ingest.Delivery{MessageID: c.GetHeader(eventsub.HeaderMessageID), SentAt: sent,
		Message: msg, Source: store.SourceWebhook}, s.now())
	if err != nil {
		s.metrics.Webhook(metrics.Malformed)
		return badRequest(err.Error(), err)
	}
	stored, err := arrival.Store(c.Request.Context(), ev)
	if errors.Is(err, ingest.ErrBusy) {
		// Shed load at once, without an error line per request: Twitch sends the message again.
		s.metrics.Webhook(metrics.Busy)
		c.Header("Retry-After", "1")
		c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("too many events at once; retry shortly\n"))
		return nil
	}
	if err != nil {
		// 503: Twitch sends the message again, so nothing is lost.
		s.metrics.Webhook(metrics.Failed)
		return unavailable("event could not be stored; retry later", err)
	}
	inserted := stored[0]
	if inserted {
		s.metrics.Webhook(metrics.Stored)
	} else {
		s.metrics.Webhook(metrics.Duplicate)
	}
	s.log.Debug("webhook notification", slog.String("message_id", ev.MessageID), slog.String("type", ev.Type),
		slog.String("broadcaster_id", ev.BroadcasterID), slog.Int64("event_id", ev.ID), slog.Bool("duplicate", !inserted))
	if ev.Type == eventsub.UserAuthorizationRevoke && s.accounts != nil {
		// The streamer disconnected the app at Twitch: forget them. A failure answers 503 so that
		// Twitch sends the message again (the event itself is stored already and not duplicated).
		if err := s.accounts.Revoked(c.Request.Context(), ev.BroadcasterID); err != nil {
			return unavailable("account clean-up failed; retry later", err)
		}
		s.forgetSession(c.Request.Context(), ev.BroadcasterID, "")
	}
	c.Status(http.StatusNoContent)
	return nil
}

// revoked records that Twitch ended a subscription, and why.
func (s *Server) revoked(c *gin.Context, msg *eventsub.Message) error {
	sub := msg.Subscription
	if s.accounts != nil {
		// The accounts service records it, whichever transport brought it (it ignores the
		// revocation of a subscription already forgotten).
		if _, err := s.accounts.RecordRevocation(c.Request.Context(), sub); err != nil {
			return unavailable("revocation could not be stored; retry later", err)
		}
		s.metrics.Webhook(metrics.Revocation)
		c.Status(http.StatusNoContent)
		return nil
	}
	condition, _ := jsonString(sub.Condition)
	row := &store.Subscription{
		ID: sub.ID, Type: sub.Type, Version: sub.Version, Condition: condition, Status: sub.Status,
		BroadcasterID: firstNonEmpty(sub.Condition["broadcaster_user_id"], sub.Condition["to_broadcaster_user_id"], sub.Condition["user_id"]),
		UpdatedAt:     s.now().UTC(),
	}
	if err := s.store.SaveSubscription(c.Request.Context(), row); err != nil {
		return unavailable("revocation could not be stored; retry later", err)
	}
	s.metrics.Webhook(metrics.Revocation)
	s.log.Warn("eventsub subscription revoked", slog.String("subscription_id", sub.ID),
		slog.String("type", sub.Type), slog.String("reason", sub.Status), slog.String("broadcaster_id", row.BroadcasterID))
	c.Status(http.StatusNoContent)
	return nil
}

package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

// Statuses of a subscription that delivers, or soon will.
const (
	statusEnabled = "enabled"
	statusPending = "webhook_callback_verification_pending"
	statusError   = "error" // our own: creating it failed; LastError says why
)

// wanted is one subscription an account needs.
type wanted struct {
	Type, Version string
	Condition     map[string]string
}

// appWanted is the app's own subscription: Twitch tells us when a streamer disconnects the app.
func (s *Service) appWanted() wanted {
	k, _ := eventsub.Lookup(eventsub.UserAuthorizationRevoke)
	return wanted{Type: k.Type, Version: k.Version, Condition: map[string]string{"client_id": s.clientID}}
}

// wantedFor is the subscriptions of the event types the streamer enabled.
func (s *Service) wantedFor(ctx context.Context, broadcasterID string) ([]wanted, error) {
	choices, err := s.store.EventTypeChoices(ctx, broadcasterID)
	if err != nil {
		return nil, err
	}
	var out []wanted
	for _, k := range eventsub.EnabledKinds(choices) {
		out = append(out, wanted{Type: k.Type, Version: k.Version, Condition: k.Condition(broadcasterID)})
	}
	return out, nil
}

// EnsureSubscriptions creates the account's subscriptions that do not exist yet, adopting any
// that Twitch already has. Each outcome is saved for the status panel.
func (s *Service) EnsureSubscriptions(ctx context.Context, broadcasterID string) error {
	ws, err := s.wantedFor(ctx, broadcasterID)
	if err != nil {
		return err
	}
	return s.ensureAll(ctx, broadcasterID, ws)
}

// ensureAll adopts those of ws that Twitch has live and creates the others. It asks Twitch
// what it has first, once: creating what exists would only be refused (409), one call each.
// If that list fails, each is simply created (a 409 still adopts).
func (s *Service) ensureAll(ctx context.Context, broadcasterID string, ws []wanted) error {
	if len(ws) == 0 {
		return nil
	}
	if s.webSocket() {
		// A session's subscriptions are new with it: there is nothing to adopt.
		var errs []error
		for _, w := range ws {
			errs = append(errs, s.ensure(ctx, broadcasterID, w))
		}
		return errors.Join(errs...)
	}
	remote, err := s.twitch.ListSubscriptions(ctx, twitch.SubscriptionFilter{UserID: broadcasterID})
	if err != nil {
		s.log.Warn("list eventsub subscriptions", "broadcaster_id", broadcasterID, "err", err)
	}
	var errs []error
	for _, w := range ws {
		if sub, ok := liveMatch(remote, w); ok {
			errs = append(errs, s.adopt(ctx, broadcasterID, w, sub))
		} else {
			errs = append(errs, s.ensure(ctx, broadcasterID, w))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) ensure(ctx context.Context, broadcasterID string, w wanted) error {
	if missing, err := s.missingScope(ctx, broadcasterID, w.Type); err != nil || missing != "" {
		if err != nil {
			return err
		}
		// Asking Twitch would only be refused: say plainly what the streamer must do.
		cause := fmt.Errorf("%w: Twitch has not granted the permission %s that these events need; reconnect Twitch to grant it",
			ErrMissingScopes, missing)
		s.log.Warn("eventsub subscription not created", "broadcaster_id", broadcasterID, "type", w.Type, "missing_scope", missing)
		return errors.Join(cause, s.saveFailure(ctx, broadcasterID, w, cause))
	}
	return s.createOrAdopt(ctx, broadcasterID, w, true)
}

// missingScope is the scope an event type needs that the account's token lacks, or "". The
// app's own subscription (no broadcaster) needs none.
func (s *Service) missingScope(ctx context.Context, broadcasterID, typ string) (string, error) {
	if broadcasterID == "" {
		return "", nil
	}
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if err != nil {
		return "", err
	}
	return MissingScope(a, typ), nil
}

// MissingScope is the scope events of typ need that the account's sign-in did not grant, or "".
func MissingScope(a *store.Account, typ string) string {
	k, ok := eventsub.KindOf(typ)
	if !ok || k.Scope == "" || slices.Contains(strings.Fields(a.Scopes), k.Scope) {
		return ""
	}
	return k.Scope
}

// ApplyEventTypes follows the streamer's saved choice of event types: it deletes the
// subscriptions of the types now disabled, at Twitch and here, and creates those of the types
// now enabled. Failures are recorded on the subscription rows, and returned.
func (s *Service) ApplyEventTypes(ctx context.Context, broadcasterID string) error {
	ws, err := s.wantedFor(ctx, broadcasterID)
	if err != nil {
		return err
	}
	rows, err := s.store.SubscriptionsOf(ctx, broadcasterID)
	if err != nil {
		return err
	}
	var errs []error
	for _, row := range rows {
		if _, known := eventsub.KindOf(row.Type); !known {
			continue // not a streamer's choice (the app's own)
		}
		if !slices.ContainsFunc(ws, func(w wanted) bool { return w.Type == row.Type }) {
			s.log.Info("eventsub subscription of a disabled type deleted", "broadcaster_id", broadcasterID,
				"type", row.Type, "subscription_id", row.ID)
			errs = append(errs, s.forget(ctx, row))
		}
	}
	errs = append(errs, s.ensureAll(ctx, broadcasterID, withoutLive(ws, rows)))
	return errors.Join(errs...)
}

// withoutLive is ws without the subscriptions that rows show live.
func withoutLive(ws []wanted, rows []store.Subscription) []wanted {
	return slices.DeleteFunc(slices.Clone(ws), func(w wanted) bool {
		return slices.ContainsFunc(rows, func(row store.Subscription) bool { return row.Type == w.Type && live(row.Status) })
	})
}

// create makes the subscription after an old one was removed: a conflict now is an error.
func (s *Service) create(ctx context.Context, broadcasterID string, w wanted) error {
	return s.createOrAdopt(ctx, broadcasterID, w, false)
}

func (s *Service) createOrAdopt(ctx context.Context, broadcasterID string, w wanted, adopt bool) error {
	var sub eventsub.Subscription
	var err error
	if s.webSocket() {
		var sent bool
		if sub, sent, err = s.createOnSession(ctx, broadcasterID, w); !sent {
			return nil
		}
		adopt = false
	} else {
		sub, err = s.twitch.CreateSubscription(ctx, twitch.CreateSubscription{
			Type: w.Type, Version: w.Version, Condition: w.Condition, Callback: s.callback, Secret: s.secret})
	}
	if adopt && errors.Is(err, twitch.ErrConflict) {
		existing, findErr := s.find(ctx, broadcasterID, w)
		if findErr != nil {
			return findErr
		}
		return s.adopt(ctx, broadcasterID, w, existing)
	}
	if err != nil {
		s.log.Warn("eventsub subscription not created", "broadcaster_id", broadcasterID, "type", w.Type, "err", err)
		err = errors.Join(err, s.saveFailure(ctx, broadcasterID, w, err))
		if broadcasterID != "" && errors.Is(err, twitch.ErrForbidden) {
			// The scopes we hold were checked before asking: Twitch refusing anyway means the
			// streamer's grant is gone (revoked at Twitch). Only signing in again brings it back.
			err = errors.Join(err, s.needsReconnect(ctx, broadcasterID,
				"Twitch refused to create the "+w.Type+" subscription: the app's access to your channel was revoked"))
		}
		return err
	}
	s.log.Info("eventsub subscription created", "broadcaster_id", broadcasterID, "type", w.Type, "subscription_id", sub.ID, "status", sub.Status)
	return s.saveRemote(ctx, broadcasterID, sub, "")
}

// adopt takes over existing, the subscription Twitch has for w: it is recorded, or moved when
// it delivers elsewhere.
func (s *Service) adopt(ctx context.Context, broadcasterID string, w wanted, existing eventsub.Subscription) error {
	if existing.Transport.Callback != s.callback {
		// PUBLIC_URL changed since it was made: move it to where the app now listens.
		s.log.Info("eventsub subscription moved to the new callback", "broadcaster_id", broadcasterID,
			"type", w.Type, "old_callback", existing.Transport.Callback)
		if err := s.twitch.DeleteSubscription(ctx, existing.ID); err != nil && !errors.Is(err, twitch.ErrNotFound) {
			return err
		}
		_ = s.store.DeleteSubscription(ctx, existing.ID)
		return s.create(ctx, broadcasterID, w)
	}
	s.log.Info("eventsub subscription adopted", "broadcaster_id", broadcasterID, "type", w.Type, "subscription_id", existing.ID)
	return s.saveRemote(ctx, broadcasterID, existing, "")
}

// find looks up the subscription Twitch has for w.
func (s *Service) find(ctx context.Context, broadcasterID string, w wanted) (eventsub.Subscription, error) {
	subs, err := s.twitch.ListSubscriptions(ctx, twitch.SubscriptionFilter{UserID: broadcasterID})
	if err != nil {
		return eventsub.Subscription{}, err
	}
	if sub, ok := liveMatch(subs, w); ok {
		return sub, nil
	}
	return eventsub.Subscription{}, fmt.Errorf("accounts: Twitch reports a %s subscription for %s exists but does not list it", w.Type, broadcasterID)
}

// liveMatch is the live subscription among subs that is w.
func liveMatch(subs []eventsub.Subscription, w wanted) (eventsub.Subscription, bool) {
	for _, sub := range subs {
		if live(sub.Status) && sub.Type == w.Type && sub.Version == w.Version && maps.Equal(setKeys(sub.Condition), setKeys(w.Condition)) {
			return sub, true
		}
	}
	return eventsub.Subscription{}, false
}

// saveRemote records a subscription as Twitch has it. One that is live replaces the row of a
// failed attempt to create it, however we learn of it (created, adopted, listed or verified):
// a create can reach Twitch even when its answer does not reach us.
func (s *Service) saveRemote(ctx context.Context, broadcasterID string, sub eventsub.Subscription, lastError string) error {
	cond, _ := json.Marshal(setKeys(sub.Condition))
	created := sub.CreatedAt.UTC()
	err := s.store.SaveSubscription(ctx, &store.Subscription{ID: sub.ID, Type: sub.Type, Version: sub.Version,
		BroadcasterID: broadcasterID, Condition: string(cond), Status: sub.Status, LastError: lastError,
		CreatedAt: &created, UpdatedAt: s.now().UTC()})
	if err != nil || !live(sub.Status) {
		return err
	}
	return s.store.DeleteSubscription(ctx, failedID(broadcasterID, wanted{Type: sub.Type, Version: sub.Version}))
}

// saveFailure keeps a row for a subscription that could not be created, keyed by what it is for,
// so the panel can show the error and offer to try again.
func (s *Service) saveFailure(ctx context.Context, broadcasterID string, w wanted, cause error) error {
	cond, _ := json.Marshal(w.Condition)
	return s.store.SaveSubscription(ctx, &store.Subscription{ID: failedID(broadcasterID, w), Type: w.Type, Version: w.Version,
		BroadcasterID: broadcasterID, Condition: string(cond), Status: statusError, LastError: cause.Error(),
		UpdatedAt: s.now().UTC()})
}

func failedID(broadcasterID string, w wanted) string {
	return "failed:" + broadcasterID + ":" + w.Type + ":" + w.Version
}

// Resubscribe replaces an account's subscriptions that are not live: deletes them at Twitch
// (when Twitch still has them) and creates them again, with those of enabled types that have
// none. The live ones are left alone.
func (s *Service) Resubscribe(ctx context.Context, broadcasterID string) error {
	ws, err := s.wantedFor(ctx, broadcasterID)
	if err != nil {
		return err
	}
	rows, err := s.store.SubscriptionsOf(ctx, broadcasterID)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if live(row.Status) {
			continue
		}
		if err := s.forget(ctx, row); err != nil {
			return err
		}
	}
	return s.ensureAll(ctx, broadcasterID, withoutLive(ws, rows))
}

// forget deletes a subscription at Twitch (a 404 means it is gone already) and locally.
func (s *Service) forget(ctx context.Context, row store.Subscription) error {
	if row.Status != statusError {
		if err := s.deleteAtTwitch(ctx, row); err != nil && !errors.Is(err, twitch.ErrNotFound) {
			return err
		}
	}
	return s.store.DeleteSubscription(ctx, row.ID)
}

// Reconcile makes Twitch and our table agree, at start-up and periodically: subscriptions of
// accounts that are missing or failed are recreated, and ours that belong to no account deleted.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.webSocket() {
		return nil // each WebSocket session creates its own subscriptions
	}
	remote, err := s.twitch.ListSubscriptions(ctx, twitch.SubscriptionFilter{})
	if err != nil {
		return err
	}
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	owners := map[string]bool{}
	wants := map[string][]wanted{} // the subscriptions each account's choices call for
	for _, a := range accounts {
		owners[a.BroadcasterID] = true
		if wants[a.BroadcasterID], err = s.wantedFor(ctx, a.BroadcasterID); err != nil {
			return err
		}
	}
	have := map[string]eventsub.Subscription{} // key: type/version/condition
	var errs []error
	for _, sub := range remote {
		if sub.Transport.Callback != s.callback {
			continue // another deployment's: not ours to judge
		}
		owner := ownerOf(sub.Condition)
		if sub.Type == eventsub.UserAuthorizationRevoke && sub.Condition["client_id"] == s.clientID {
			owner, owners[""] = "", true // the app's own
		}
		switch {
		case !owners[owner]:
			s.log.Info("eventsub subscription without an account deleted", "subscription_id", sub.ID, "type", sub.Type)
			errs = append(errs, s.forget(ctx, store.Subscription{ID: sub.ID, Status: sub.Status}))
		case !live(sub.Status):
			// failed or revoked: delete it so that it can be created again below
			errs = append(errs, s.forget(ctx, store.Subscription{ID: sub.ID, Status: sub.Status}))
		case owner != "" && !slices.ContainsFunc(wants[owner], func(w wanted) bool { return w.Type == sub.Type }):
			s.log.Info("eventsub subscription of a disabled type deleted", "subscription_id", sub.ID, "type", sub.Type)
			errs = append(errs, s.forget(ctx, store.Subscription{ID: sub.ID, Status: sub.Status}))
		default:
			have[key(sub.Type, sub.Version, sub.Condition)] = sub
			errs = append(errs, s.saveRemote(ctx, owner, sub, ""))
		}
	}
	errs = append(errs, s.forgetVanished(ctx, remote))
	if app := s.appWanted(); len(accounts) > 0 {
		if _, ok := have[key(app.Type, app.Version, app.Condition)]; !ok {
			errs = append(errs, s.ensure(ctx, "", app))
		}
	}
	for _, a := range accounts {
		if a.Status != store.AccountOK {
			continue
		}
		for _, w := range wants[a.BroadcasterID] {
			if _, ok := have[key(w.Type, w.Version, w.Condition)]; !ok {
				errs = append(errs, s.ensure(ctx, a.BroadcasterID, w))
			}
		}
	}
	return errors.Join(errs...)
}

// Verified records that Twitch sent the challenge for one of our subscriptions (it was signed
// with our secret) and that we answered it: Twitch enables it. The challenge can arrive before
// CreateSubscription has returned, so the row may not exist yet; the store never turns an
// enabled row back into a pending one.
func (s *Service) Verified(ctx context.Context, sub eventsub.Subscription) error {
	sub.Status = statusEnabled
	owner := ownerOf(sub.Condition)
	if owner != "" {
		// The challenge can come late, after the streamer's account was deleted (they
		// disconnected the app at once): recording it would leave a row nobody owns.
		if _, err := s.store.AccountByID(ctx, owner); errors.Is(err, store.ErrNotFound) {
			s.log.Info("challenge for a subscription of a deleted account ignored", "subscription_id", sub.ID, "broadcaster_id", owner)
			return nil
		} else if err != nil {
			return err
		}
	}
	return s.saveRemote(ctx, owner, sub, "")
}

// ownerOf is the streamer a subscription's condition is for: raids into a channel name it
// as to_broadcaster_user_id.
func ownerOf(cond map[string]string) string {
	if id := cond["broadcaster_user_id"]; id != "" {
		return id
	}
	return cond["to_broadcaster_user_id"]
}

func live(status string) bool { return status == statusEnabled || status == statusPending }

func key(typ, version string, cond map[string]string) string {
	b, _ := json.Marshal(setKeys(cond)) // map keys are sorted: a stable key
	return typ + "/" + version + "/" + string(b)
}

// setKeys is a condition without its empty values. Twitch lists every key of a type's
// condition, "" for those not set (a raid into a channel has from_broadcaster_user_id ""),
// and takes "" as unset: compared as sent, such a subscription would never match ours.
func setKeys(cond map[string]string) map[string]string {
	out := maps.Clone(cond)
	maps.DeleteFunc(out, func(_, v string) bool { return v == "" })
	return out
}

// forgetVanished drops our rows of subscriptions that Twitch no longer has (deleted elsewhere,
// or cleaned up after a revocation), so the panel shows what really exists.
func (s *Service) forgetVanished(ctx context.Context, remote []eventsub.Subscription) error {
	exists := map[string]bool{}
	for _, sub := range remote {
		exists[sub.ID] = true
	}
	rows, err := s.store.AllSubscriptions(ctx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.Status != statusError && !exists[row.ID] {
			if err := s.store.DeleteSubscription(ctx, row.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Package accounts looks after the streamers who signed in with Twitch: their sealed tokens
// (refreshed before they expire, validated hourly), their EventSub subscriptions and their
// follower history. Every failure ends up on the account or subscription row, where the
// dashboard shows it with the way to fix it.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

// ErrNeedsReconnect means Twitch no longer honours the streamer's tokens: they must sign in again.
var ErrNeedsReconnect = errors.New("accounts: Twitch authorization is gone; reconnect Twitch")

// Scopes are asked for at sign-in: what every event type the streamer can enable needs, in the
// order of eventsub.Kinds.
var Scopes = kindScopes()

func kindScopes() []string {
	var out []string
	for _, k := range eventsub.Kinds {
		if k.Scope != "" && !slices.Contains(out, k.Scope) {
			out = append(out, k.Scope)
		}
	}
	return out
}

// ScopeUse is a permission the sign-in asks for and what the app uses it for.
type ScopeUse struct {
	Scope  string
	Reason string // "Needed for Subscriptions and Gifted subs."
}

// ScopeUses are Scopes, in order, each with the event types (as the dashboard names them) that
// need it; the required ones also serve the follower history.
func ScopeUses() []ScopeUse {
	out := make([]ScopeUse, 0, len(Scopes))
	for _, scope := range Scopes {
		var uses []string
		for _, k := range eventsub.Kinds {
			if k.Scope == scope {
				uses = append(uses, k.Label)
			}
		}
		if slices.Contains(requiredScopes, scope) {
			uses = append(uses, "the follower history")
		}
		out = append(out, ScopeUse{Scope: scope, Reason: "Needed for " + andList(uses) + "."})
	}
	return out
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// requiredScopes are what an account cannot do without (the follower history). Without the
// scope of another enabled type only that type's subscription fails: accounts that signed in
// before the app asked for more keep working.
var requiredScopes = []string{"moderator:read:followers"}

// refreshAhead refreshes an access token this long before Twitch says it expires.
const refreshAhead = 5 * time.Minute

// Recorder stores events, all of one call in one transaction, and announces the new ones to live
// viewers: the ingest batcher.
type Recorder interface {
	Store(ctx context.Context, evs ...*store.Event) ([]bool, error)
}

// Service manages accounts. It is safe for concurrent use.
type Service struct {
	store    *store.Store
	twitch   *twitch.Client
	box      *tokenbox.Box
	ingest   Recorder
	log      *slog.Logger
	now      func() time.Time
	callback string // the EventSub webhook callback, PUBLIC_URL + /webhooks/twitch
	secret   string // the EventSub secret
	clientID string

	// One refresh at a time per account in this process (see refresh). Striped.
	refreshLocks [64]sync.Mutex

	sessions   Sessions // nil: webhooks; see UseSessions
	sessionMu  sync.Mutex
	sessionIDs map[string]string // broadcaster id → their current WebSocket session
}

// Options are the Service's dependencies.
type Options struct {
	Store    *store.Store
	Twitch   *twitch.Client
	Box      *tokenbox.Box
	Ingest   Recorder // where the follower history is stored
	Logger   *slog.Logger
	Now      func() time.Time
	Callback string
	Secret   string
	ClientID string
}

// New makes a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: o.Store, twitch: o.Twitch, box: o.Box, ingest: o.Ingest, log: o.Logger, now: o.Now,
		callback: o.Callback, secret: o.Secret, clientID: o.ClientID}
}

// Grant is what a completed sign-in hands over.
type Grant struct {
	UserID, Login, DisplayName, ProfileImageURL string
	AccessToken, RefreshToken                   string
	Expiry                                      time.Time
	Scopes                                      []string
}

// ErrMissingScopes means the streamer did not grant every permission the app asked for.
var ErrMissingScopes = errors.New("accounts: the Twitch sign-in lacks permissions the app needs")

// SignIn stores the streamer's account with their tokens sealed, healthy again if it was not.
// Without Scopes in the grant, it asks Twitch (validate) which scopes the token carries.
func (s *Service) SignIn(ctx context.Context, g Grant) (*store.Account, error) {
	if g.Scopes == nil {
		v, err := s.twitch.Validate(ctx, g.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("accounts: validate new sign-in: %w", err)
		}
		if v.UserID != g.UserID {
			return nil, fmt.Errorf("accounts: token belongs to user %s, not %s", v.UserID, g.UserID)
		}
		g.Scopes = v.Scopes
	}
	if missing := missingScopes(g.Scopes); len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrMissingScopes, strings.Join(missing, ", "))
	}
	now := s.now().UTC()
	a := &store.Account{
		BroadcasterID: g.UserID, Login: g.Login, DisplayName: g.DisplayName, ProfileImageURL: g.ProfileImageURL,
		AccessToken:  s.box.Seal(g.AccessToken, adAccess(g.UserID)),
		RefreshToken: s.box.Seal(g.RefreshToken, adRefresh(g.UserID)),
		Scopes:       strings.Join(g.Scopes, " "), Status: store.AccountOK,
		ValidatedAt: &now, CreatedAt: now, UpdatedAt: now,
	}
	if !g.Expiry.IsZero() {
		exp := g.Expiry.UTC()
		a.TokenExpiresAt = &exp
	}
	if err := s.store.SaveAccount(ctx, a); err != nil {
		return nil, err
	}
	s.log.Info("signed in", "broadcaster_id", a.BroadcasterID, "login", a.Login, "method", "twitch")
	return a, nil
}

// Setup makes a freshly signed-in account complete: its subscriptions exist, the app's own
// subscription too (a fresh deployment's first sign-in must not wait for the reconcile to learn
// of a disconnect), and its newest followers are stored. Failures are recorded for the
// dashboard, and returned.
func (s *Service) Setup(ctx context.Context, broadcasterID string) error {
	if s.webSocket() {
		// The session's welcome creates the subscriptions; the app's own one needs a webhook.
		s.sessions.Start(broadcasterID)
		_, histErr := s.SyncHistory(ctx, broadcasterID)
		return histErr
	}
	appErr := s.EnsureAppSubscription(ctx)
	subErr := s.EnsureSubscriptions(ctx, broadcasterID)
	_, histErr := s.SyncHistory(ctx, broadcasterID)
	return errors.Join(appErr, subErr, histErr)
}

// withUserToken calls fn with the streamer's access token, refreshing it first when it is about
// to expire, and once more when Twitch answers 401. A refused refresh marks the account as
// needing reconnection.
func (s *Service) withUserToken(ctx context.Context, broadcasterID string, fn func(token string) error) error {
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if err != nil {
		return err
	}
	if a.Status == store.AccountNeedsReconnect {
		return ErrNeedsReconnect
	}
	token, err := s.box.Open(a.AccessToken, adAccess(broadcasterID))
	if err != nil {
		return fmt.Errorf("accounts: open access token of %s: %w", broadcasterID, err)
	}
	if a.TokenExpiresAt != nil && s.now().Add(refreshAhead).After(*a.TokenExpiresAt) {
		if token, err = s.refresh(ctx, a); err != nil {
			return err
		}
	}
	err = fn(token)
	if !errors.Is(err, twitch.ErrUnauthorized) {
		return err
	}
	if token, err = s.refresh(ctx, a); err != nil {
		return err
	}
	return fn(token)
}

// refresh trades the refresh token for new tokens and stores both. Twitch rotates refresh tokens:
// two callers spending the same one would see the second refused and the account wrongly marked.
// So callers in this process queue on a stripe first (one database connection per account per
// process at most), then on the store's account lock, which holds across instances. A caller
// that finds the tokens refreshed by another while it waited uses those instead.
func (s *Service) refresh(ctx context.Context, a *store.Account) (string, error) {
	l := s.refreshLock(a.BroadcasterID)
	l.Lock()
	defer l.Unlock()
	var token string
	err := s.store.WithAccountLock(ctx, a.BroadcasterID, func(ctx context.Context) error {
		var err error
		token, err = s.refreshLocked(ctx, a)
		return err
	})
	return token, err
}

// refreshLocked is refresh under the account's lock: it uses the stored tokens if another caller
// stored new ones since a was read, and otherwise redeems a's refresh token.
func (s *Service) refreshLocked(ctx context.Context, a *store.Account) (string, error) {
	cur, err := s.store.AccountByID(ctx, a.BroadcasterID)
	if err != nil {
		return "", err
	}
	if cur.Status == store.AccountNeedsReconnect {
		return "", ErrNeedsReconnect
	}
	if cur.RefreshToken != a.RefreshToken { // sealed values differ whenever tokens were stored again
		*a = *cur
		token, err := s.box.Open(cur.AccessToken, adAccess(cur.BroadcasterID))
		if err != nil {
			return "", fmt.Errorf("accounts: open access token of %s: %w", cur.BroadcasterID, err)
		}
		return token, nil
	}
	return s.redeem(ctx, a)
}

// redeem trades a's refresh token at Twitch for new tokens, stores them and updates a.
func (s *Service) redeem(ctx context.Context, a *store.Account) (string, error) {
	rt, err := s.box.Open(a.RefreshToken, adRefresh(a.BroadcasterID))
	if err != nil {
		return "", fmt.Errorf("accounts: open refresh token of %s: %w", a.BroadcasterID, err)
	}
	tok, err := s.twitch.Refresh(ctx, rt)
	if errors.Is(err, twitch.ErrTokenRevoked) {
		return "", s.needsReconnect(ctx, a.BroadcasterID, "Twitch refused to refresh the sign-in (the app's access was revoked or expired)")
	}
	if err != nil {
		return "", fmt.Errorf("accounts: refresh tokens of %s: %w", a.BroadcasterID, err)
	}
	var exp *time.Time
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		exp = &e
	}
	refresh := tok.RefreshToken
	if refresh == "" {
		refresh = rt
	}
	scopes := a.Scopes
	if len(tok.Scopes) > 0 {
		scopes = strings.Join(tok.Scopes, " ")
	}
	sealedAccess := s.box.Seal(tok.AccessToken, adAccess(a.BroadcasterID))
	sealedRefresh := s.box.Seal(refresh, adRefresh(a.BroadcasterID))
	err = s.store.SaveTokens(ctx, a.BroadcasterID, sealedAccess, sealedRefresh, exp, scopes, s.now().UTC())
	if err != nil {
		return "", err
	}
	// The old refresh token is spent: a second refresh in this call must use the new one.
	a.AccessToken, a.RefreshToken, a.TokenExpiresAt, a.Scopes = sealedAccess, sealedRefresh, exp, scopes
	s.log.Info("twitch tokens refreshed", "broadcaster_id", a.BroadcasterID)
	return tok.AccessToken, nil
}

func (s *Service) refreshLock(broadcasterID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(broadcasterID))
	return &s.refreshLocks[h.Sum32()%uint32(len(s.refreshLocks))]
}

func (s *Service) needsReconnect(ctx context.Context, broadcasterID, reason string) error {
	if err := s.store.SetAccountStatus(ctx, broadcasterID, store.AccountNeedsReconnect, reason, s.now().UTC()); err != nil {
		return err
	}
	s.log.Warn("twitch account needs reconnecting", "broadcaster_id", broadcasterID, "reason", reason)
	return ErrNeedsReconnect
}

// ValidateAll checks every healthy account's token with Twitch, as Twitch asks of apps that keep
// sessions: at start-up and hourly. Dead tokens are refreshed, or the account marked.
func (s *Service) ValidateAll(ctx context.Context) error {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range accounts {
		if err := s.validate(ctx, &accounts[i]); err != nil && !errors.Is(err, ErrNeedsReconnect) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) validate(ctx context.Context, a *store.Account) error {
	if a.Status != store.AccountOK {
		return nil
	}
	var v twitch.Validation
	err := s.withUserToken(ctx, a.BroadcasterID, func(token string) error {
		var err error
		v, err = s.twitch.Validate(ctx, token)
		return err
	})
	if err != nil {
		return err
	}
	if missing := missingScopes(v.Scopes); len(missing) > 0 {
		return s.needsReconnect(ctx, a.BroadcasterID, "the Twitch sign-in lacks the permission "+strings.Join(missing, ", "))
	}
	return s.store.MarkValidated(ctx, a.BroadcasterID, s.now().UTC())
}

// Run does the start-up round, then validates hourly and reconciles subscriptions every
// interval, until ctx ends.
func (s *Service) Run(ctx context.Context, reconcileEvery time.Duration) {
	s.StartUp(ctx)
	validate := time.NewTicker(time.Hour)
	defer validate.Stop()
	reconcile := time.NewTicker(reconcileEvery)
	defer reconcile.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-validate.C:
			if err := s.ValidateAll(ctx); err != nil {
				s.log.Warn("validate twitch tokens", "err", err)
			}
		case <-reconcile.C:
			if s.webSocket() {
				continue // each session creates its own subscriptions
			}
			if err := s.Reconcile(ctx); err != nil {
				s.log.Warn("reconcile eventsub subscriptions", "err", err)
			}
		}
	}
}

// StartUp is the start-up round: the app's own subscription made (on a fresh deployment too,
// before anybody signed in), tokens checked, subscriptions reconciled, and the follows that
// arrived while the app was down fetched from the follower history. Failures are logged; the
// reconcile tries again.
func (s *Service) StartUp(ctx context.Context) {
	if !s.webSocket() {
		if err := s.EnsureAppSubscription(ctx); err != nil {
			s.log.Warn("create the app's eventsub subscription", "err", err)
		}
	}
	if err := s.ValidateAll(ctx); err != nil {
		s.log.Warn("validate twitch tokens", "err", err)
	}
	if !s.webSocket() {
		if err := s.Reconcile(ctx); err != nil {
			s.log.Warn("reconcile eventsub subscriptions", "err", err)
		}
	}
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		s.log.Warn("catch up follower history", "err", err)
		return
	}
	for _, a := range accounts {
		if a.Status != store.AccountOK {
			continue
		}
		if s.webSocket() {
			s.sessions.Start(a.BroadcasterID)
		}
		if n, err := s.SyncHistory(ctx, a.BroadcasterID); err != nil {
			s.log.Warn("catch up follower history", "broadcaster_id", a.BroadcasterID, "err", err)
		} else if n > 0 {
			s.log.Info("follows missed while down fetched", "broadcaster_id", a.BroadcasterID, "count", n)
		}
	}
}

func missingScopes(have []string) []string {
	var missing []string
	for _, want := range requiredScopes {
		if !slices.Contains(have, want) {
			missing = append(missing, want)
		}
	}
	return missing
}

func adAccess(id string) string  { return "access:" + id }
func adRefresh(id string) string { return "refresh:" + id }

// Reseal seals again, under the current TOKEN_KEY, every token sealed under a previous key, so
// the previous key can be dropped from TOKEN_KEY afterwards. It runs at start-up.
func (s *Service) Reseal(ctx context.Context) error {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if !s.box.Stale(a.AccessToken) && !s.box.Stale(a.RefreshToken) {
			continue
		}
		access, err := s.box.Open(a.AccessToken, adAccess(a.BroadcasterID))
		if err != nil {
			return fmt.Errorf("accounts: reseal %s: %w (is the previous key still in TOKEN_KEY?)", a.BroadcasterID, err)
		}
		refresh, err := s.box.Open(a.RefreshToken, adRefresh(a.BroadcasterID))
		if err != nil {
			return fmt.Errorf("accounts: reseal %s: %w (is the previous key still in TOKEN_KEY?)", a.BroadcasterID, err)
		}
		err = s.store.ResealTokens(ctx, a.BroadcasterID, s.box.Seal(access, adAccess(a.BroadcasterID)), s.box.Seal(refresh, adRefresh(a.BroadcasterID)))
		if err != nil {
			return err
		}
		s.log.Info("tokens sealed under the current TOKEN_KEY", "broadcaster_id", a.BroadcasterID)
	}
	return nil
}

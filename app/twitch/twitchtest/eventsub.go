package twitchtest

import (
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// Subscription statuses.
const (
	StatusEnabled            = "enabled"
	StatusPending            = "webhook_callback_verification_pending"
	StatusVerificationFailed = "webhook_callback_verification_failed"
)

// knownStatuses are the values Twitch accepts for GET's status filter.
var knownStatuses = setOf(StatusEnabled, StatusPending, StatusVerificationFailed,
	"notification_failures_exceeded", "authorization_revoked", "moderator_removed", "user_removed",
	"chat_user_banned", "version_removed", "beta_maintenance", "websocket_disconnected",
	"websocket_failed_ping_pong", "websocket_received_inbound_traffic", "websocket_connection_unused",
	"websocket_internal_error", "websocket_network_timeout", "websocket_network_error",
	"websocket_failed_to_reconnect")

const maxTotalCost = 10000

// subType is what Twitch requires to subscribe to one type and version.
type subType struct {
	version   string
	scope     string   // that the user in grantor must have granted the app; "" for none
	grantor   string   // condition field naming that user
	condition []string // required condition fields
	oneOf     []string // exactly one of these must be set (channel.raid)
	optional  []string
}

var subTypes = map[string]subType{
	eventsub.ChannelFollow: {version: "2", scope: "moderator:read:followers", grantor: "moderator_user_id",
		condition: []string{"broadcaster_user_id", "moderator_user_id"}},
	eventsub.ChannelSubscribe: {version: "1", scope: "channel:read:subscriptions", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelSubscriptionGift: {version: "1", scope: "channel:read:subscriptions", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelSubscriptionMsg: {version: "1", scope: "channel:read:subscriptions", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelCheer: {version: "1", scope: "bits:read", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelPointsRedemption: {version: "1", scope: "channel:read:redemptions", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}, optional: []string{"reward_id"}},
	eventsub.ChannelRaid: {version: "1", oneOf: []string{"from_broadcaster_user_id", "to_broadcaster_user_id"}},
	eventsub.ChannelAdBreakBegin: {version: "1", scope: "channel:read:ads", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelShoutoutReceive: {version: "1", scope: "moderator:read:shoutouts", grantor: "moderator_user_id",
		condition: []string{"broadcaster_user_id", "moderator_user_id"}},
	eventsub.ChannelHypeTrainBegin: {version: "2", scope: "channel:read:hype_train", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelHypeTrainProgress: {version: "2", scope: "channel:read:hype_train", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.ChannelHypeTrainEnd: {version: "2", scope: "channel:read:hype_train", grantor: "broadcaster_user_id",
		condition: []string{"broadcaster_user_id"}},
	eventsub.StreamOnline:            {version: "1", condition: []string{"broadcaster_user_id"}},
	eventsub.StreamOffline:           {version: "1", condition: []string{"broadcaster_user_id"}},
	eventsub.UserAuthorizationRevoke: {version: "1", condition: []string{"client_id"}},
}

// Subscription is an EventSub subscription as the fake holds it, secret included.
type Subscription struct {
	ID        string
	Type      string
	Version   string
	Status    string
	Condition map[string]string // as the app sent it; Twitch shows it with every key (see wire)
	Callback  string
	Secret    string
	SessionID string // the WebSocket transport's session; "" for a webhook
	UserID    string // whose token created a websocket subscription
	Cost      int
	CreatedAt time.Time
}

type subscription struct {
	Subscription
	verified chan struct{} // closed when the callback verification has ended
}

// wire is the subscription as Twitch shows it in API answers and messages: no secret, and the
// condition with every key of the type's, "" for those not set.
func (s Subscription) wire() eventsub.Subscription {
	tr := eventsub.Transport{Method: "webhook", Callback: s.Callback}
	if s.SessionID != "" {
		tr = eventsub.Transport{Method: "websocket", SessionID: s.SessionID}
	}
	return eventsub.Subscription{ID: s.ID, Type: s.Type, Version: s.Version, Status: s.Status, Cost: s.Cost,
		Condition: fullCondition(s.Type, s.Condition), Transport: tr, CreatedAt: s.CreatedAt}
}

// webSocket reports whether the subscription delivers to a WebSocket session.
func (s Subscription) webSocket() bool { return s.SessionID != "" }

// fullCondition is cond as Twitch lists it: every key of the type's condition, "" for those
// not set (a raid into a channel has from_broadcaster_user_id ""). Twitch treats "" as unset,
// so two conditions that differ only there are the same.
func fullCondition(typ string, cond map[string]string) map[string]string {
	st := subTypes[typ]
	out := map[string]string{}
	for _, k := range slices.Concat(st.condition, st.oneOf, st.optional) {
		out[k] = ""
	}
	maps.Copy(out, cond)
	return out
}

func (s Subscription) live() bool { return s.Status == StatusEnabled || s.Status == StatusPending }

func (s Subscription) clone() Subscription {
	s.Condition = maps.Clone(s.Condition)
	return s
}

// Subscriptions returns a copy of every subscription, oldest first.
func (f *Fake) Subscriptions() []Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sortedSubsLocked(func(Subscription) bool { return true })
}

func (f *Fake) sortedSubsLocked(keep func(Subscription) bool) []Subscription {
	var out []Subscription
	for _, s := range f.subs {
		if keep(s.Subscription) {
			out = append(out, s.clone())
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return subKey(a).compare(subKey(b)) })
	return out
}

func subKey(s Subscription) cursorKey { return cursorKey{T: s.CreatedAt.UnixNano(), ID: s.ID} }

type createRequest struct {
	Type      string            `json:"type"`
	Version   string            `json:"version"`
	Condition map[string]string `json:"condition"`
	Transport struct {
		Method    string `json:"method"`
		Callback  string `json:"callback"`
		Secret    string `json:"secret"`
		SessionID string `json:"session_id"`
	} `json:"transport"`
}

// handleCreateSubscription is POST /helix/eventsub/subscriptions. A webhook subscription needs an
// app token; a user token gets the 400 Twitch really answers ("auth must use app access token to
// create webhook subscription"), although its reference lists 401.
func (f *Fake) handleCreateSubscription(w http.ResponseWriter, r *http.Request, tok accessToken) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		helixError(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		helixError(w, http.StatusBadRequest, "malformed request body")
		return
	}
	switch {
	case req.Transport.Method == "webhook" && !tok.isApp():
		helixError(w, http.StatusBadRequest, "auth must use app access token to create webhook subscription")
		return
	case req.Transport.Method == "websocket" && tok.isApp():
		helixError(w, http.StatusBadRequest, "invalid transport and auth combination")
		return
	case req.Transport.Method != "webhook" && req.Transport.Method != "websocket":
		helixError(w, http.StatusBadRequest, "unsupported transport method")
		return
	}
	st, ok := subTypes[req.Type]
	if !ok || st.version != req.Version {
		helixError(w, http.StatusBadRequest, "The combination of values in the type and version fields is not valid")
		return
	}
	if msg := checkCondition(st, req.Condition); msg != "" {
		helixError(w, http.StatusBadRequest, msg)
		return
	}
	if req.Transport.Method == "websocket" {
		f.createWebSocketSubscription(w, req, st, tok)
		return
	}
	if u, err := url.Parse(req.Transport.Callback); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		helixError(w, http.StatusBadRequest, "invalid callback url")
		return
	}
	if !validSecret(req.Transport.Secret) {
		helixError(w, http.StatusBadRequest, "secret must be between 10 and 100 ASCII characters")
		return
	}

	f.mu.Lock()
	if !f.authorizedLocked(st, req.Type, req.Condition) {
		f.mu.Unlock()
		helixError(w, http.StatusForbidden, "subscription missing proper authorization")
		return
	}
	if f.duplicateLocked(req.Type, req.Version, req.Condition) {
		f.mu.Unlock()
		helixError(w, http.StatusConflict, "subscription already exists")
		return
	}
	s := &subscription{verified: make(chan struct{}), Subscription: Subscription{
		ID: eventsub.NewID(), Type: req.Type, Version: req.Version, Status: StatusPending,
		Condition: maps.Clone(req.Condition), Callback: req.Transport.Callback, Secret: req.Transport.Secret,
		Cost: f.costLocked(req.Condition), CreatedAt: time.Now().UTC(),
	}}
	f.subs[s.ID] = s
	snapshot := s.clone()
	total, totalCost := f.totalsLocked()
	f.wg.Add(1)
	f.mu.Unlock()

	writeJSON(w, http.StatusAccepted, map[string]any{"data": []eventsub.Subscription{snapshot.wire()},
		"total": total, "total_cost": totalCost, "max_total_cost": maxTotalCost})
	// Twitch sends the challenge at once; it may arrive before the app has read the 202.
	go f.verify(snapshot, s.verified)
}

// createWebSocketSubscription is the websocket transport's create: a user token, a session
// that is open, and the subscription is enabled at once (no challenge).
func (f *Fake) createWebSocketSubscription(w http.ResponseWriter, req createRequest, st subType, tok accessToken) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.useSessionLocked(req.Transport.SessionID); err != nil {
		helixError(w, http.StatusBadRequest, "websocket transport session "+err.Error())
		return
	}
	if !f.authorizedLocked(st, req.Type, req.Condition) || (st.grantor != "" && req.Condition[st.grantor] != tok.userID) {
		helixError(w, http.StatusForbidden, "subscription missing proper authorization")
		return
	}
	if f.duplicateLocked(req.Type, req.Version, req.Condition) {
		helixError(w, http.StatusConflict, "subscription already exists")
		return
	}
	s := &subscription{verified: make(chan struct{}), Subscription: Subscription{
		ID: eventsub.NewID(), Type: req.Type, Version: req.Version, Status: StatusEnabled,
		Condition: maps.Clone(req.Condition), SessionID: req.Transport.SessionID, UserID: tok.userID,
		Cost: 0, CreatedAt: time.Now().UTC(),
	}}
	close(s.verified)
	f.subs[s.ID] = s
	total, totalCost := f.totalsLocked()
	writeJSON(w, http.StatusAccepted, map[string]any{"data": []eventsub.Subscription{s.clone().wire()},
		"total": total, "total_cost": totalCost, "max_total_cost": maxTotalCost})
}

// visible reports whether tok may list or delete s: an app token sees webhook subscriptions,
// a user token the websocket subscriptions it created.
func visible(s Subscription, tok accessToken) bool {
	if tok.isApp() {
		return !s.webSocket()
	}
	return s.webSocket() && s.UserID == tok.userID
}

func checkCondition(st subType, cond map[string]string) string {
	allowed := slices.Concat(st.condition, st.oneOf, st.optional)
	for k := range cond {
		if !slices.Contains(allowed, k) {
			return "unknown condition field: " + k
		}
	}
	for _, k := range st.condition {
		if cond[k] == "" {
			return "missing condition field: " + k
		}
	}
	if len(st.oneOf) > 0 {
		set := 0
		for _, k := range st.oneOf {
			if cond[k] != "" {
				set++
			}
		}
		if set != 1 {
			return "condition needs exactly one of " + strings.Join(st.oneOf, ", ")
		}
	}
	return ""
}

// validSecret is Twitch's rule: 10 to 100 ASCII characters.
func validSecret(s string) bool {
	if len(s) < 10 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e {
			return false
		}
	}
	return true
}

// authorizedLocked reports whether the user the type needs has granted its scope. The fake has
// no moderators, so a moderator (channel.follow's, channel.shoutout.receive's) must be the broadcaster.
func (f *Fake) authorizedLocked(st subType, typ string, cond map[string]string) bool {
	switch {
	case typ == eventsub.UserAuthorizationRevoke:
		return cond["client_id"] == f.ClientID
	case st.grantor == "moderator_user_id" && cond["moderator_user_id"] != cond["broadcaster_user_id"]:
		return false
	case st.scope == "":
		return true
	}
	return f.grants[cond[st.grantor]][st.scope]
}

func (f *Fake) duplicateLocked(typ, version string, cond map[string]string) bool {
	for _, s := range f.subs {
		if s.live() && s.Type == typ && s.Version == version && maps.Equal(fullCondition(typ, s.Condition), fullCondition(typ, cond)) {
			return true
		}
	}
	return false
}

// costLocked is 0 when a user named in the condition has authorized the app, else 1.
func (f *Fake) costLocked(cond map[string]string) int {
	for k, v := range cond {
		if _, ok := f.grants[v]; ok && strings.HasSuffix(k, "user_id") {
			return 0
		}
	}
	return 1
}

// totalsLocked counts every subscription and the cost of the enabled and pending ones.
func (f *Fake) totalsLocked() (total, cost int) {
	for _, s := range f.subs {
		total++
		if s.live() {
			cost += s.Cost
		}
	}
	return total, cost
}

// handleListSubscriptions is GET /helix/eventsub/subscriptions with at most one filter.
// An app token lists webhook subscriptions, a user token the websocket ones it created.
func (f *Fake) handleListSubscriptions(w http.ResponseWriter, r *http.Request, tok accessToken) {
	q := r.URL.Query()
	var filters []string
	for _, k := range []string{"status", "type", "user_id", "subscription_id"} {
		if q.Has(k) {
			filters = append(filters, k)
		}
	}
	if len(filters) > 1 {
		helixError(w, http.StatusBadRequest, "only one of status, type, user_id and subscription_id may be given")
		return
	}
	if q.Has("status") && !knownStatuses[q.Get("status")] {
		helixError(w, http.StatusBadRequest, "invalid status")
		return
	}
	first, err := pageSize(q.Get("first"), 100)
	if err != nil {
		helixError(w, http.StatusBadRequest, err.Error())
		return
	}
	keep := func(s Subscription) bool {
		switch {
		case !visible(s, tok):
			return false
		case q.Has("status"):
			return s.Status == q.Get("status")
		case q.Has("type"):
			return s.Type == q.Get("type")
		case q.Has("subscription_id"):
			return s.ID == q.Get("subscription_id")
		case q.Has("user_id"):
			for k, v := range s.Condition {
				if strings.HasSuffix(k, "user_id") && v == q.Get("user_id") {
					return true
				}
			}
			return false
		}
		return true
	}
	f.mu.Lock()
	subs := f.sortedSubsLocked(keep)
	total, totalCost := f.totalsLocked()
	f.mu.Unlock()
	page, next, err := paginate(subs, subKey, first, q.Get("after"))
	if err != nil {
		helixError(w, http.StatusBadRequest, err.Error())
		return
	}
	data := []eventsub.Subscription{}
	for _, s := range page {
		data = append(data, s.wire())
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total": total, "total_cost": totalCost,
		"max_total_cost": maxTotalCost, "pagination": pagination(next)})
}

// handleDeleteSubscription is DELETE /helix/eventsub/subscriptions?id=.
// As for listing, an app token deletes webhook subscriptions, a user token its websocket ones.
func (f *Fake) handleDeleteSubscription(w http.ResponseWriter, r *http.Request, tok accessToken) {
	id := r.URL.Query().Get("id")
	if id == "" {
		helixError(w, http.StatusBadRequest, `Missing required parameter "id"`)
		return
	}
	f.mu.Lock()
	s, ok := f.subs[id]
	ok = ok && visible(s.Subscription, tok)
	if ok {
		delete(f.subs, id)
	}
	f.mu.Unlock()
	if !ok {
		helixError(w, http.StatusNotFound, "subscription not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

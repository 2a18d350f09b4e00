package twitchtest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Helix's default bucket: 800 points a minute, one point a call.
const (
	rateLimit  = 800
	rateWindow = time.Minute
)

type bucket struct {
	remaining int
	reset     time.Time
}

type helixHandler func(http.ResponseWriter, *http.Request, accessToken)

// RateLimitNext makes the next n authenticated Helix calls answer 429 with Ratelimit-Remaining 0
// and Ratelimit-Reset reset from now.
func (f *Fake) RateLimitNext(n int, reset time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced429 = n
	f.forcedReset = time.Now().Add(reset)
}

// helix authenticates a Helix call as Twitch does, charges its rate-limit bucket, and sets the
// Ratelimit-* headers on every answer.
func (f *Fake) helix(h helixHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		tok, authErr := f.authenticateLocked(r)
		remaining, reset, limited := rateLimit, time.Now().Add(rateWindow), false
		if authErr == "" {
			remaining, reset, limited = f.spendLocked(tok)
		}
		f.mu.Unlock()
		hdr := w.Header()
		hdr.Set("Ratelimit-Limit", strconv.Itoa(rateLimit))
		hdr.Set("Ratelimit-Remaining", strconv.Itoa(remaining))
		hdr.Set("Ratelimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
		switch {
		case authErr != "":
			helixError(w, http.StatusUnauthorized, authErr)
		case limited:
			helixError(w, http.StatusTooManyRequests, "Too Many Requests")
		default:
			h(w, r, tok)
		}
	}
}

// authenticateLocked checks the Bearer token and the Client-Id header; it returns Twitch's
// message when they do not do.
func (f *Fake) authenticateLocked(r *http.Request) (accessToken, string) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		return accessToken{}, "OAuth token is missing"
	}
	clientID := r.Header.Get("Client-Id")
	if clientID == "" {
		return accessToken{}, "Client ID is missing"
	}
	tok, ok := f.liveTokenLocked(value)
	if !ok {
		return accessToken{}, "Invalid OAuth token"
	}
	if clientID != f.ClientID {
		return accessToken{}, "Client ID and OAuth token do not match"
	}
	return tok, ""
}

// spendLocked charges one point to the token's bucket: the app's, or the app's for that user.
func (f *Fake) spendLocked(tok accessToken) (remaining int, reset time.Time, limited bool) {
	now := time.Now()
	if f.forced429 > 0 {
		f.forced429--
		return 0, f.forcedReset, true
	}
	key := f.ClientID + "/" + tok.userID
	b := f.buckets[key]
	if b == nil || !now.Before(b.reset) {
		b = &bucket{remaining: rateLimit, reset: now.Add(rateWindow)}
		f.buckets[key] = b
	}
	if b.remaining == 0 {
		return 0, b.reset, true
	}
	b.remaining--
	return b.remaining, b.reset, false
}

type userJSON struct {
	ID              string `json:"id"`
	Login           string `json:"login"`
	DisplayName     string `json:"display_name"`
	Type            string `json:"type"`
	BroadcasterType string `json:"broadcaster_type"`
	Description     string `json:"description"`
	ProfileImageURL string `json:"profile_image_url"`
	OfflineImageURL string `json:"offline_image_url"`
	ViewCount       int    `json:"view_count"`
	Email           string `json:"email,omitempty"`
	CreatedAt       string `json:"created_at"`
}

// handleUsers is GET /helix/users: the token's user, or up to 100 users by id and login.
func (f *Fake) handleUsers(w http.ResponseWriter, r *http.Request, tok accessToken) {
	q := r.URL.Query()
	ids, logins := q["id"], q["login"]
	if len(ids)+len(logins) > 100 {
		helixError(w, http.StatusBadRequest, "The sum of the id and login parameters must not exceed 100")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var found []*user
	switch {
	case len(ids)+len(logins) == 0 && tok.isApp():
		helixError(w, http.StatusBadRequest, "Must provide an ID, Login or OAuth Token")
		return
	case len(ids)+len(logins) == 0:
		found = append(found, f.users[tok.userID])
	default:
		seen := map[string]bool{}
		for _, u := range f.users {
			if (slices.Contains(ids, u.ID) || slices.Contains(logins, u.Login)) && !seen[u.ID] {
				seen[u.ID] = true
				found = append(found, u)
			}
		}
		slices.SortFunc(found, func(a, b *user) int { return cmp.Compare(a.ID, b.ID) })
	}
	data := []userJSON{}
	for _, u := range found {
		j := userJSON{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, ProfileImageURL: u.ProfileImageURL,
			CreatedAt: u.createdAt.Format(time.RFC3339)}
		// Twitch shows the email only to its owner, and only with user:read:email.
		if tok.userID == u.ID && tok.hasScope("user:read:email") {
			j.Email = u.Email
		}
		data = append(data, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

type follow struct {
	user User
	at   time.Time
}

// AddFollower records that follower follows broadcasterID since followedAt (a re-follow moves
// the date). It sends no notification; SendFollow does both.
func (f *Fake) AddFollower(broadcasterID string, follower User, followedAt time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addFollowerLocked(broadcasterID, follower, followedAt)
}

func (f *Fake) addFollowerLocked(broadcasterID string, follower User, followedAt time.Time) {
	if _, ok := f.users[follower.ID]; !ok {
		f.addUserLocked(follower)
	}
	if f.followers[broadcasterID] == nil {
		f.followers[broadcasterID] = map[string]follow{}
	}
	f.followers[broadcasterID][follower.ID] = follow{user: f.users[follower.ID].User, at: followedAt.UTC()}
}

// RemoveFollower is an unfollow. Twitch sends no event for it.
func (f *Fake) RemoveFollower(broadcasterID, followerID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.followers[broadcasterID], followerID)
}

type followerJSON struct {
	UserID     string `json:"user_id"`
	UserLogin  string `json:"user_login"`
	UserName   string `json:"user_name"`
	FollowedAt string `json:"followed_at"`
}

// handleFollowers is GET /helix/channels/followers. As Twitch documents, the list is only for a
// user token of the broadcaster with moderator:read:followers; any other token (an app token, a
// token without the scope, another user's token) gets 200 with the total and an empty list. The
// user_id parameter is the exception: without that permission it is refused, so that "not
// following" cannot be misread.
func (f *Fake) handleFollowers(w http.ResponseWriter, r *http.Request, tok accessToken) {
	q := r.URL.Query()
	broadcaster := q.Get("broadcaster_id")
	if broadcaster == "" {
		helixError(w, http.StatusBadRequest, `Missing required parameter "broadcaster_id"`)
		return
	}
	first, err := pageSize(q.Get("first"), 20)
	if err != nil {
		helixError(w, http.StatusBadRequest, err.Error())
		return
	}
	permitted := !tok.isApp() && tok.userID == broadcaster && tok.hasScope("moderator:read:followers")
	if q.Has("user_id") && !permitted {
		if !tok.hasScope("moderator:read:followers") {
			helixError(w, http.StatusUnauthorized, "Missing scope: moderator:read:followers")
		} else {
			helixError(w, http.StatusForbidden, "The user in the access token is not the broadcaster or a moderator of the channel")
		}
		return
	}

	f.mu.Lock()
	all := make([]follow, 0, len(f.followers[broadcaster]))
	for _, fl := range f.followers[broadcaster] {
		if !q.Has("user_id") || fl.user.ID == q.Get("user_id") {
			all = append(all, fl)
		}
	}
	f.mu.Unlock()
	total := len(all)
	// Newest first; the user id breaks ties so that pages never overlap.
	key := func(fl follow) cursorKey { return cursorKey{T: -fl.at.UnixNano(), ID: fl.user.ID} }
	slices.SortFunc(all, func(a, b follow) int { return key(a).compare(key(b)) })
	if !permitted {
		all = nil
	}
	items, next, err := paginate(all, key, first, q.Get("after"))
	if err != nil {
		helixError(w, http.StatusBadRequest, err.Error())
		return
	}
	data := []followerJSON{}
	for _, fl := range items {
		data = append(data, followerJSON{fl.user.ID, fl.user.Login, fl.user.DisplayName,
			fl.at.Truncate(time.Second).Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "data": data, "pagination": pagination(next)})
}

// cursorKey is the sort key of the last item of a page; the next page starts after it, so
// items added or removed between pages neither repeat nor vanish.
type cursorKey struct {
	T  int64  `json:"t"`
	ID string `json:"i"`
}

func (a cursorKey) compare(b cursorKey) int {
	return cmp.Or(cmp.Compare(a.T, b.T), cmp.Compare(a.ID, b.ID))
}

var errCursor = errors.New("invalid cursor")

// paginate returns up to first items after the cursor, from items sorted by key, and the
// cursor of the next page ("" on the last page).
func paginate[T any](items []T, key func(T) cursorKey, first int, after string) ([]T, string, error) {
	start := 0
	if after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		var k cursorKey
		if err != nil || json.Unmarshal(raw, &k) != nil {
			return nil, "", errCursor
		}
		start = len(items)
		for i, it := range items {
			if key(it).compare(k) > 0 {
				start = i
				break
			}
		}
	}
	end := min(start+first, len(items))
	page := items[start:end]
	if end == len(items) {
		return page, "", nil
	}
	raw, _ := json.Marshal(key(items[end-1]))
	return page, base64.RawURLEncoding.EncodeToString(raw), nil
}

// pagination is Helix's pagination object: {} on the last page.
func pagination(cursor string) map[string]string {
	if cursor == "" {
		return map[string]string{}
	}
	return map[string]string{"cursor": cursor}
}

func pageSize(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, errors.New(`The parameter "first" must be an integer from 1 to 100`)
	}
	return n, nil
}

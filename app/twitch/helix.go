package twitch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// helix is a Helix call made with token (a user or an app token).
func (c *Client) helix(ctx context.Context, method, path string, query url.Values, token string, body, out any, secrets ...string) error {
	return c.do(ctx, call{
		method: method, base: c.apiURL, path: path, query: query, json: body,
		auth: "Bearer " + token, helix: true,
		secrets: append([]string{token}, secrets...),
	}, out)
}

// pagination is Helix's cursor object; it is {} on the last page.
type pagination struct {
	Cursor string `json:"cursor"`
}

// User is a Twitch account. Email is set only with the user:read:email scope.
type User struct {
	ID, Login, DisplayName, ProfileImageURL, Email string
}

// GetUser returns the user the token belongs to. An invalid or expired token is ErrUnauthorized:
// the caller refreshes and retries.
func (c *Client) GetUser(ctx context.Context, userToken string) (User, error) {
	var body struct {
		Data []struct {
			ID              string `json:"id"`
			Login           string `json:"login"`
			DisplayName     string `json:"display_name"`
			ProfileImageURL string `json:"profile_image_url"`
			Email           string `json:"email"`
		} `json:"data"`
	}
	if err := c.helix(ctx, http.MethodGet, "/users", nil, userToken, nil, &body); err != nil {
		return User{}, err
	}
	if len(body.Data) == 0 {
		return User{}, errors.New("twitch: GET /users: no user in the response")
	}
	u := body.Data[0]
	return User{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, ProfileImageURL: u.ProfileImageURL, Email: u.Email}, nil
}

// Follower is one follow of a channel.
type Follower struct {
	UserID, UserLogin, UserName string
	FollowedAt                  time.Time
}

// FollowersPage is one page of followers, newest first. Cursor is "" on the last page.
type FollowersPage struct {
	Followers []Follower
	Total     int
	Cursor    string
}

// Followers lists a channel's followers with the streamer's user token (scope
// moderator:read:followers). first is the page size, 1 to 100, or 0 for Twitch's default (20);
// after is the previous page's Cursor, or "" for the first page. Twitch answers a token without
// the scope, or of a user who is not the broadcaster or a moderator, with the total alone.
func (c *Client) Followers(ctx context.Context, userToken, broadcasterID string, first int, after string) (FollowersPage, error) {
	if broadcasterID == "" {
		return FollowersPage{}, errors.New("twitch: followers: broadcaster id is required")
	}
	if first < 0 || first > 100 {
		return FollowersPage{}, fmt.Errorf("twitch: followers: page size %d is outside 1 to 100", first)
	}
	q := url.Values{"broadcaster_id": {broadcasterID}}
	if first > 0 {
		q.Set("first", strconv.Itoa(first))
	}
	if after != "" {
		q.Set("after", after)
	}
	var body struct {
		Data []struct {
			UserID     string    `json:"user_id"`
			UserLogin  string    `json:"user_login"`
			UserName   string    `json:"user_name"`
			FollowedAt time.Time `json:"followed_at"`
		} `json:"data"`
		Total      int        `json:"total"`
		Pagination pagination `json:"pagination"`
	}
	if err := c.helix(ctx, http.MethodGet, "/channels/followers", q, userToken, nil, &body); err != nil {
		return FollowersPage{}, err
	}
	page := FollowersPage{Followers: make([]Follower, 0, len(body.Data)), Total: body.Total, Cursor: body.Pagination.Cursor}
	for _, f := range body.Data {
		page.Followers = append(page.Followers, Follower{
			UserID: f.UserID, UserLogin: f.UserLogin, UserName: f.UserName, FollowedAt: f.FollowedAt.UTC(),
		})
	}
	return page, nil
}

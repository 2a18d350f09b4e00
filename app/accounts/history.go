package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/twitch"
)

const (
	historyPage     = 100 // Helix's largest page
	maxCatchUpPages = 50  // one sync never walks more than 5,000 follows back
)

// SyncHistory stores the newest follows from Twitch's follower list, walking back page by page
// until it reaches a follow already stored (after downtime) or, on a first sync, after one page.
// It returns how many follows it stored.
func (s *Service) SyncHistory(ctx context.Context, broadcasterID string) (int, error) {
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if err != nil {
		return 0, err
	}
	first := a.HistoryCursor == "" && !a.HistoryComplete
	stored, cursor := 0, ""
	for range maxCatchUpPages {
		page, err := s.followers(ctx, broadcasterID, cursor)
		if err != nil {
			return stored, err
		}
		n, known, err := s.storeFollowers(ctx, a, page.Followers)
		stored += n
		if err != nil {
			return stored, err
		}
		if first {
			// The older pages are fetched on demand ("load more").
			return stored, s.store.SetHistoryProgress(ctx, broadcasterID, page.Cursor, page.Cursor == "")
		}
		if known || page.Cursor == "" {
			return stored, nil
		}
		cursor = page.Cursor
	}
	return stored, nil
}

// LoadMoreHistory stores the next older page of the follower history. It reports how many
// follows it stored and whether the history is now complete.
func (s *Service) LoadMoreHistory(ctx context.Context, broadcasterID string) (int, bool, error) {
	a, err := s.store.AccountByID(ctx, broadcasterID)
	if err != nil {
		return 0, false, err
	}
	if a.HistoryComplete {
		return 0, true, nil
	}
	page, err := s.followers(ctx, broadcasterID, a.HistoryCursor)
	if err != nil {
		return 0, false, err
	}
	n, _, err := s.storeFollowers(ctx, a, page.Followers)
	if err != nil {
		return n, false, err
	}
	done := page.Cursor == ""
	return n, done, s.store.SetHistoryProgress(ctx, broadcasterID, page.Cursor, done)
}

func (s *Service) followers(ctx context.Context, broadcasterID, after string) (twitch.FollowersPage, error) {
	var page twitch.FollowersPage
	err := s.withUserToken(ctx, broadcasterID, func(token string) error {
		var err error
		page, err = s.twitch.Followers(ctx, token, broadcasterID, historyPage, after)
		return err
	})
	if err != nil {
		return page, fmt.Errorf("accounts: follower history of %s: %w", broadcasterID, err)
	}
	return page, nil
}

// storeFollowers stores a page (newest first, as Helix sends it) oldest first, so that ids grow
// with time, in one transaction. known reports that one of them was stored already.
func (s *Service) storeFollowers(ctx context.Context, a *store.Account, fs []twitch.Follower) (stored int, known bool, err error) {
	if len(fs) == 0 {
		return 0, false, nil
	}
	now := s.now().UTC()
	evs := make([]*store.Event, 0, len(fs))
	for _, f := range slices.Backward(fs) {
		ev, err := backfillEvent(a, f, now)
		if err != nil {
			return 0, false, err
		}
		evs = append(evs, ev)
	}
	inserted, err := s.ingest.Store(ctx, evs...)
	if err != nil {
		return 0, false, fmt.Errorf("accounts: store follower history of %s: %w", a.BroadcasterID, err)
	}
	for _, ok := range inserted {
		if ok {
			stored++
		} else {
			known = true
		}
	}
	return stored, known, nil
}

// backfillEvent shapes a follower from Helix like the channel.follow event EventSub would send.
func backfillEvent(a *store.Account, f twitch.Follower, now time.Time) (*store.Event, error) {
	at := f.FollowedAt.UTC()
	payload, err := json.Marshal(map[string]string{
		"user_id": f.UserID, "user_login": f.UserLogin, "user_name": f.UserName,
		"broadcaster_user_id": a.BroadcasterID, "broadcaster_user_login": a.Login, "broadcaster_user_name": a.DisplayName,
		"followed_at": at.Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, err
	}
	return &store.Event{
		MessageID: fmt.Sprintf("backfill:%s:%s:%d", a.BroadcasterID, f.UserID, at.Unix()),
		Type:      eventsub.ChannelFollow, Version: "2", BroadcasterID: a.BroadcasterID,
		UserID: f.UserID, UserLogin: f.UserLogin, UserName: f.UserName,
		OccurredAt: at, ReceivedAt: now, Payload: string(payload),
		Source: store.SourceBackfill, DedupeKey: store.FollowKey(f.UserID, at),
	}, nil
}

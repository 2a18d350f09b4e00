package accounts_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// follows counts the stored follow events of a broadcaster by follower, failing on any other event.
func follows(e *env, broadcasterID string) map[string]int {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.ctx, broadcasterID, 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := map[string]int{}
	for _, ev := range evs {
		if ev.Type != eventsub.ChannelFollow {
			e.t.Fatalf("unexpected %s event", ev.Type)
		}
		n[ev.UserID]++
	}
	return n
}

// wantEachOnce fails unless every follower with the prefix, numbered below n, is stored once.
func wantEachOnce(e *env, got map[string]int, prefix string, n int) {
	e.t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s%04d", prefix, i)
		if got[id] != 1 {
			e.t.Fatalf("follower %s stored %d times, want once", id, got[id])
		}
	}
}

func TestHistoryFirstPageThenLoadMore(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		newest := time.Now().Add(-24 * time.Hour)
		addFollowers(e, u.ID, "old", 230, newest)

		n, err := e.svc.SyncHistory(e.ctx, u.ID)
		if err != nil || n != 100 {
			t.Fatalf("first SyncHistory = %d, %v; want the newest page of 100", n, err)
		}
		a := e.account(u.ID)
		if a.HistoryCursor == "" || a.HistoryComplete {
			t.Fatalf("after the first page: cursor %q, complete %v; want a cursor, incomplete", a.HistoryCursor, a.HistoryComplete)
		}
		got := follows(e, u.ID)
		wantEachOnce(e, got, "old", 100) // the newest hundred: old0000 to old0099
		if len(got) != 100 {
			t.Fatalf("%d follows stored, want 100", len(got))
		}

		for _, want := range []struct {
			n    int
			done bool
		}{{100, false}, {30, true}, {0, true}} {
			n, done, err := e.svc.LoadMoreHistory(e.ctx, u.ID)
			if err != nil || n != want.n || done != want.done {
				t.Fatalf("LoadMoreHistory = %d, %v, %v; want %d, %v", n, done, err, want.n, want.done)
			}
		}
		got = follows(e, u.ID)
		wantEachOnce(e, got, "old", 230)
		if len(got) != 230 {
			t.Fatalf("%d follows stored, want 230", len(got))
		}
		if a := e.account(u.ID); !a.HistoryComplete {
			t.Fatal("history not marked complete")
		}

		// A follow from the history is stored like the one EventSub would have sent.
		evs, err := st.ListEvents(e.ctx, u.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(evs, func(ev store.Event) bool { return ev.UserID == "old0229" })
		if i < 0 {
			t.Fatal("the oldest follower is not stored")
		}
		ev := evs[i]
		var p map[string]string
		if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
			t.Fatalf("payload %s: %v", ev.Payload, err)
		}
		if ev.UserID != "old0229" || p["user_id"] != "old0229" || p["broadcaster_user_id"] != u.ID ||
			p["broadcaster_user_login"] != u.Login || ev.Source != store.SourceBackfill || ev.Version != "2" {
			t.Fatalf("backfilled event %+v", ev)
		}
		wantAt := newest.Add(-229 * time.Minute).Truncate(time.Second)
		if !ev.OccurredAt.Equal(wantAt) || p["followed_at"] != wantAt.UTC().Format(time.RFC3339Nano) {
			t.Fatalf("occurred at %v (payload %q), want %v", ev.OccurredAt, p["followed_at"], wantAt)
		}
		if ev.DedupeKey == nil || *ev.DedupeKey != *store.FollowKey(ev.UserID, wantAt) {
			t.Fatalf("dedupe key %v, want the follow key", ev.DedupeKey)
		}
	})
}

func TestHistoryCatchesUpAfterDowntime(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		now := time.Now()
		addFollowers(e, u.ID, "old", 150, now.Add(-24*time.Hour))
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 100 {
			t.Fatalf("first SyncHistory = %d, %v", n, err)
		}

		// The app was down while 250 people followed.
		addFollowers(e, u.ID, "new", 250, now.Add(-time.Hour))
		mark := e.mark()
		n, err := e.svc.SyncHistory(e.ctx, u.ID)
		if err != nil || n != 250 {
			t.Fatalf("SyncHistory after downtime = %d, %v; want 250", n, err)
		}
		// Pages of 100: 100 new, 100 new, then 50 new and the first stored one: stop there.
		if pages := e.since(mark, http.MethodGet, followersPath); len(pages) != 3 {
			t.Fatalf("%d follower pages fetched, want 3: %v", len(pages), e.trail(mark))
		}
		got := follows(e, u.ID)
		wantEachOnce(e, got, "new", 250)
		wantEachOnce(e, got, "old", 100)
		if len(got) != 350 {
			t.Fatalf("%d follows stored, want 350", len(got))
		}

		// Nothing new: one page, nothing stored.
		mark = e.mark()
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 0 {
			t.Fatalf("SyncHistory with nothing new = %d, %v", n, err)
		}
		if pages := e.since(mark, http.MethodGet, followersPath); len(pages) != 1 {
			t.Fatalf("%d pages fetched with nothing new, want 1", len(pages))
		}

		// Loading more still continues where the first sync left off.
		if n, done, err := e.svc.LoadMoreHistory(e.ctx, u.ID); err != nil || n != 50 || !done {
			t.Fatalf("LoadMoreHistory = %d, %v, %v; want the 50 oldest, done", n, done, err)
		}
		got = follows(e, u.ID)
		wantEachOnce(e, got, "old", 150)
		if len(got) != 400 {
			t.Fatalf("%d follows stored, want 400", len(got))
		}
	})
}

func TestFollowFromHistoryAndLiveIsOneRow(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		sub := e.subscribe(u.ID)

		// History first, then the live notification of the same follow: Helix gives whole
		// seconds, EventSub nanoseconds.
		early := twitchtest.User{ID: "5001", Login: "early_bird", DisplayName: "Early_Bird"}
		at := time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789 * time.Nanosecond).UTC()
		e.fake.AddFollower(u.ID, early, at)
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 1 {
			t.Fatalf("SyncHistory = %d, %v", n, err)
		}
		status, err := e.fake.SendEvent(e.ctx, sub.ID, map[string]string{
			"user_id": early.ID, "user_login": early.Login, "user_name": early.DisplayName,
			"broadcaster_user_id": u.ID, "broadcaster_user_login": u.Login, "broadcaster_user_name": u.DisplayName,
			"followed_at": at.Format(time.RFC3339Nano)})
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("live follow after history: %d, %v", status, err)
		}

		// Live first, then the history.
		late := twitchtest.User{ID: "5002", Login: "late_comer", DisplayName: "Late_Comer"}
		if status, err := e.fake.SendFollow(e.ctx, u.ID, late); err != nil || status != http.StatusNoContent {
			t.Fatalf("SendFollow: %d, %v", status, err)
		}
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 0 {
			t.Fatalf("SyncHistory after the live follow = %d, %v; want nothing new", n, err)
		}

		got := follows(e, u.ID)
		if len(got) != 2 || got[early.ID] != 1 || got[late.ID] != 1 {
			t.Fatalf("follows stored: %v; want each of %s and %s once", got, early.ID, late.ID)
		}
		evs, err := st.ListEvents(e.ctx, u.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		source := map[string]string{}
		for _, ev := range evs {
			source[ev.UserID] = ev.Source
		}
		if source[early.ID] != store.SourceBackfill || source[late.ID] != store.SourceWebhook {
			t.Fatalf("sources %v: each row should keep the road it came by first", source)
		}
	})
}

func TestHistoryWaitsOutRateLimit(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		addFollowers(e, u.ID, "old", 120, time.Now().Add(-time.Hour))

		e.fake.RateLimitNext(1, time.Second)
		mark := e.mark()
		if n, err := e.svc.SyncHistory(e.ctx, u.ID); err != nil || n != 100 {
			t.Fatalf("SyncHistory through a 429 = %d, %v; want 100", n, err)
		}
		pages := e.since(mark, http.MethodGet, followersPath)
		if len(pages) != 2 || pages[0].Status != http.StatusTooManyRequests || pages[1].Status != http.StatusOK {
			t.Fatalf("want a 429 then the same page again answered 200; requests: %v", e.trail(mark))
		}
		if pages[0].Query.Encode() != pages[1].Query.Encode() {
			t.Fatalf("the retry asked for %s, not %s", pages[1].Query.Encode(), pages[0].Query.Encode())
		}

		e.fake.RateLimitNext(1, time.Second)
		if n, done, err := e.svc.LoadMoreHistory(e.ctx, u.ID); err != nil || n != 20 || !done {
			t.Fatalf("LoadMoreHistory through a 429 = %d, %v, %v; want 20, done", n, done, err)
		}
		if got := follows(e, u.ID); len(got) != 120 {
			t.Fatalf("%d follows stored, want 120", len(got))
		}
	})
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// TestTwoInstances runs two instances on one PostgreSQL database, as a deployment behind a load
// balancer does: follows sent to either reach the dashboard streams open on both, each exactly
// once and in id order, also after the doorbell's LISTEN connections were lost and made again.
func TestTwoInstances(t *testing.T) {
	db := storetest.Postgres(t) // skips, naming TEST_DATABASE_URL, when it is unset
	// The same DATA_DIR: B uses the secrets A generated (the EventSub secret, the session key).
	a := startApp(t, db)
	b := startApp(t, db)
	user := signIn(t, a.URL) // sessions live in the database: the cookie works on B too
	streams := map[string]*sseStream{"A": openStream(t, user, a.URL), "B": openStream(t, user, b.URL)}
	for name, s := range streams {
		if m := s.next(t); m.Event != "reset" {
			t.Fatalf("stream on %s began with %q, want reset", name, m.Event)
		}
	}
	secret := a.eventsubSecret(t)

	const perInstance = 40
	followConcurrently(t, secret, []string{a.URL, b.URL}, perInstance, 0)
	st := storetest.Open(t, db)
	stored, err := st.EventsAfter(context.Background(), demoBroadcaster, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2*perInstance {
		t.Fatalf("%d events stored, want %d", len(stored), 2*perInstance)
	}
	var want []int64
	for _, ev := range stored {
		want = append(want, ev.ID)
	}
	slices.Sort(want)
	for name, s := range streams {
		if got := liveIDs(t, s, len(want)); !slices.Equal(got, want) {
			t.Errorf("stream on %s carried ids %v, want each stored id once, in order: %v", name, got, want)
		}
	}

	// Both instances lose their LISTEN connections; once they are back, A's follows reach B.
	dropDoorbells(t, db, 2)
	last := want[len(want)-1]
	for i := range 3 {
		follower := eventsub.Follower{ID: strconv.Itoa(900000 + i), Login: fmt.Sprintf("after_drop_%d", i), Name: fmt.Sprintf("After_Drop_%d", i)}
		if code := deliver(t, a.URL, newFollow(t, secret, a.URL, demoBroadcaster, follower)); code != http.StatusNoContent {
			t.Fatalf("follow after the drop answered %d, want 204", code)
		}
	}
	for _, id := range liveIDs(t, streams["B"], 3) {
		if id <= last {
			t.Errorf("B's stream sent id %d again after the reconnect (last before: %d)", id, last)
		}
		last = id
	}
}

// followConcurrently sends n follows to each app, from several goroutines per app; every one
// must be acknowledged with 204. Followers are numbered from base.
func followConcurrently(t *testing.T, secret string, apps []string, n, base int) {
	t.Helper()
	const senders = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(apps)*n)
	for ai, appURL := range apps {
		for s := range senders {
			wg.Go(func() {
				for i := s; i < n; i += senders {
					id := base + ai*n + i + 1
					follower := eventsub.Follower{ID: strconv.Itoa(100000 + id), Login: fmt.Sprintf("follower_%d", id), Name: fmt.Sprintf("Follower_%d", id)}
					msg, err := eventsub.NewFollow(secret, appURL+"/webhooks/twitch",
						eventsub.Follower{ID: demoBroadcaster, Login: "demo_streamer", Name: "Demo Streamer"}, follower, time.Now())
					if err != nil {
						errs <- err
						continue
					}
					if err := post(appURL, msg); err != nil {
						errs <- fmt.Errorf("follow %d to %s: %w", id, appURL, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// post is deliver for goroutines: it returns what went wrong instead of failing the test.
func post(appURL string, msg eventsub.Outgoing) error {
	req, err := msg.Request(appURL + "/webhooks/twitch")
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("answered %d, want 204", resp.StatusCode)
	}
	return nil
}

// liveIDs reads n live rows from a dashboard stream and returns their SSE ids in stream order.
func liveIDs(t *testing.T, s *sseStream, n int) []int64 {
	t.Helper()
	var ids []int64
	for len(ids) < n {
		m := s.next(t)
		if m.Event != "event" {
			t.Fatalf("after %d rows the stream sent %q, want only \"event\" rows", len(ids), m.Event)
		}
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil {
			t.Fatalf("row with id %q: %v", m.ID, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// dropDoorbells terminates the doorbell LISTEN connections of db's schema (n of them: one per
// instance) and waits until as many are listening again on new backends. Each instance's
// connection shows its LISTEN statement, which names the schema: other tests' are left alone.
func dropDoorbells(t *testing.T, db storetest.DB, n int) {
	t.Helper()
	admin, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const mine = `application_name = 'tev-doorbell' AND query = 'LISTEN "tev_doorbell_' || current_schema() || '"'`
	pids := func() []int64 {
		t.Helper()
		rows, err := admin.Query(`SELECT pid FROM pg_stat_activity WHERE ` + mine + ` ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var pid int64
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			out = append(out, pid)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := pids()
	if len(before) != n {
		t.Fatalf("%d doorbell connections listen on this schema (backends %v), want %d", len(before), before, n)
	}
	var killed int
	if err := admin.QueryRow(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE ` + mine).Scan(&killed); err != nil || killed != n {
		t.Fatalf("terminated %d doorbell connections (%v), want %d", killed, err, n)
	}
	deadline := time.Now().Add(hangGuard)
	for {
		after := pids()
		if len(after) == n && !slices.ContainsFunc(after, func(p int64) bool { return slices.Contains(before, p) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("doorbell connections after the drop: %v (before: %v), want %d new ones", after, before, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

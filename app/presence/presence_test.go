package presence_test

import (
	"context"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/presence"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(t *testing.T, p *presence.Presence, broadcaster, kind string) int {
	t.Helper()
	n, err := p.Count(context.Background(), broadcaster, kind)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// run runs p until the test ends or the returned stop is called; stop waits for Run to return.
func run(t *testing.T, p *presence.Presence) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestSQLiteCountsThisInstanceOnly(t *testing.T) {
	st := storetest.Open(t, storetest.SQLite(t))
	p := presence.New(presence.Options{Store: st})
	stop := run(t, p)
	p.Set("100", "overlay", 2)
	p.Set("100", "dashboard", 1)
	p.Set("200", "overlay", 1)
	p.Set("200", "overlay", 0)
	for _, c := range []struct {
		broadcaster, kind string
		want              int
	}{{"100", "overlay", 2}, {"100", "dashboard", 1}, {"200", "overlay", 0}, {"300", "overlay", 0}} {
		if got := count(t, p, c.broadcaster, c.kind); got != c.want {
			t.Errorf("count %s/%s = %d, want %d", c.broadcaster, c.kind, got, c.want)
		}
	}
	stop()
	// Nothing was written: SQLite serves one instance.
	if n, err := st.CountPresence(context.Background(), "100", "overlay", "", time.Time{}); err != nil || n != 0 {
		t.Fatalf("rows on SQLite: %d, %v; want none", n, err)
	}
}

func TestInstancesShareCounts(t *testing.T) {
	db := storetest.Postgres(t)
	st := storetest.Open(t, db)
	a := presence.New(presence.Options{Store: st, Instance: "a", Every: 20 * time.Millisecond})
	b := presence.New(presence.Options{Store: storetest.Open(t, db), Instance: "b", Every: 20 * time.Millisecond})
	stopA := run(t, a)
	run(t, b)

	a.Set("100", "overlay", 1)
	a.Set("100", "overlay", 2) // coalesced or not, the latest count wins
	eventually(t, "B sees A's 2 overlays", func() bool { return count(t, b, "100", "overlay") == 2 })
	b.Set("100", "overlay", 1)
	if got := count(t, b, "100", "overlay"); got != 3 { // B's own count needs no write
		t.Fatalf("B's count = %d, want 3", got)
	}
	eventually(t, "A sees B's overlay", func() bool { return count(t, a, "100", "overlay") == 3 })
	if got := count(t, b, "100", "dashboard"); got != 0 {
		t.Fatalf("dashboards = %d, want 0", got)
	}
	if got := count(t, b, "200", "overlay"); got != 0 {
		t.Fatalf("another broadcaster's overlays = %d, want 0", got)
	}

	// A keeps its rows fresh: eventually it touched them after this point.
	mark := time.Now()
	eventually(t, "A touches its rows", func() bool {
		n, err := st.CountPresence(context.Background(), "100", "overlay", "b", mark)
		return err == nil && n == 2
	})

	a.Set("100", "overlay", 0)
	eventually(t, "A's overlays closed", func() bool { return count(t, b, "100", "overlay") == 1 })
	a.Set("100", "overlay", 4)
	eventually(t, "A's overlays reopened", func() bool { return count(t, b, "100", "overlay") == 5 })

	stopA() // A deletes its rows before Run returns
	if got := count(t, b, "100", "overlay"); got != 1 {
		t.Fatalf("after A stopped, B counts %d, want its own 1", got)
	}
}

func TestDeadInstanceStopsCounting(t *testing.T) {
	db := storetest.Postgres(t)
	st := storetest.Open(t, db)
	// An instance that wrote its row and died: nobody touches it again.
	if err := st.SetPresence(context.Background(), "dead", "100", "overlay", 3, time.Now()); err != nil {
		t.Fatal(err)
	}
	patient := presence.New(presence.Options{Store: st, TTL: time.Hour})
	if got := count(t, patient, "100", "overlay"); got != 3 {
		t.Fatalf("fresh row of another instance: count %d, want 3", got)
	}

	b := presence.New(presence.Options{Store: st, TTL: 100 * time.Millisecond, Every: 20 * time.Millisecond})
	run(t, b)
	b.Set("100", "overlay", 1)
	eventually(t, "the dead instance's row stops counting", func() bool { return count(t, b, "100", "overlay") == 1 })
	eventually(t, "the dead instance's row is deleted", func() bool {
		n, err := st.CountPresence(context.Background(), "100", "overlay", b.Instance(), time.Time{})
		return err == nil && n == 0
	})
	// B's own row is kept (or, should a sweep have caught it stale, written again).
	eventually(t, "B's row stays", func() bool {
		n, err := st.CountPresence(context.Background(), "100", "overlay", "", time.Now().Add(-time.Minute))
		return err == nil && n == 1
	})
}

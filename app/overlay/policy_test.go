package overlay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
)

func TestPolicyPlays(t *testing.T) {
	saved := map[string]store.AlertSetting{
		eventsub.ChannelCheer: {Type: eventsub.ChannelCheer, Enabled: false},
		eventsub.StreamOnline: {Type: eventsub.StreamOnline, Enabled: true},
	}
	for _, tc := range []struct {
		p    overlay.Policy
		typ  string
		want bool
	}{
		{overlay.Policy{}, eventsub.ChannelFollow, true}, // on by default
		{overlay.Policy{}, eventsub.StreamOnline, false}, // off by default
		{overlay.Policy{}, eventsub.ChannelAdBreakBegin, false},
		{overlay.Policy{Settings: saved}, eventsub.ChannelCheer, false},
		{overlay.Policy{Settings: saved}, eventsub.StreamOnline, true},
		{overlay.Policy{Settings: saved}, eventsub.ChannelRaid, true}, // not saved: the default
		{safeMode, eventsub.ChannelFollow, false},
		{safeMode, eventsub.ChannelRaid, true},
	} {
		if got := tc.p.Plays(tc.typ); got != tc.want {
			t.Errorf("%+v plays %s: %v, want %v", tc.p, tc.typ, got, tc.want)
		}
	}
}

func TestPolicyWhyNot(t *testing.T) {
	for _, tc := range []struct {
		p         overlay.Policy
		typ, want string
	}{
		{overlay.Policy{}, eventsub.ChannelRaid, ""},
		{overlay.Policy{}, eventsub.StreamOffline, "Alerts for Stream offline are off — turn them on in alert settings."},
		{overlay.Policy{Settings: map[string]store.AlertSetting{eventsub.ChannelRaid: {}}}, eventsub.ChannelRaid, "Alerts for Raids are off — turn them on in alert settings."},
		{safeMode, eventsub.ChannelFollow, "Safe mode is on: follow alerts are suppressed, so the test follow did not play. Turn follow alerts back on to hear it."},
	} {
		if got := tc.p.WhyNot(tc.typ); got != tc.want {
			t.Errorf("why not %s: %q, want %q", tc.typ, got, tc.want)
		}
	}
}

// Safe mode is one switch: follows off. An overlay saved with the old safe-mode flag reads as
// follows off, whatever its follow setting said; its other settings stay.
func TestSafeModeIsFollowsOff(t *testing.T) {
	if (overlay.Policy{}).SafeMode() || !safeMode.SafeMode() {
		t.Fatal("safe mode is not the follow alert's off switch")
	}
	saved := map[string]store.AlertSetting{
		eventsub.ChannelFollow: {Type: eventsub.ChannelFollow, Enabled: true, Template: "Hi {user}"},
		eventsub.ChannelRaid:   {Type: eventsub.ChannelRaid, Enabled: false},
	}
	if p := overlay.PolicyOf(&store.Overlay{}, saved); p.SafeMode() || p.Plays(eventsub.ChannelRaid) {
		t.Fatalf("policy %+v", p)
	}
	p := overlay.PolicyOf(&store.Overlay{SafeMode: true}, saved)
	if !p.SafeMode() || p.Plays(eventsub.ChannelRaid) || !p.Plays(eventsub.ChannelCheer) || p.Settings[eventsub.ChannelFollow].Template != "Hi {user}" {
		t.Fatalf("policy with the old flag %+v", p)
	}
	if !saved[eventsub.ChannelFollow].Enabled {
		t.Fatal("PolicyOf changed the caller's settings")
	}
	if p := overlay.PolicyOf(&store.Overlay{SafeMode: true}, nil); !p.SafeMode() || !p.Plays(eventsub.ChannelRaid) {
		t.Fatalf("policy with the old flag and no settings %+v", p)
	}
}

func TestPolicyAlert(t *testing.T) {
	cheer := store.Event{ID: 7, Type: eventsub.ChannelCheer, UserLogin: "ann", UserName: "Ann",
		Payload: `{"bits": 10000, "message": "Cheer5000 Kappa5000 what a play!"}`}
	follow := store.Event{ID: 8, Type: eventsub.ChannelFollow, UserLogin: "bob"}

	a := overlay.Policy{}.Alert(cheer)
	if a.ID != 7 || a.User != "Ann" || a.Text != "cheered 10,000 bits" || a.Detail != "what a play!" || a.Amount != 10000 || a.Line != nil || a.DurationMs != 0 {
		t.Fatalf("cheer alert %+v", a)
	}
	if a := (overlay.Policy{}).Alert(follow); a.User != "bob" || a.Text != "followed" || a.Amount != 0 {
		t.Fatalf("follow alert %+v: want the login when there is no display name", a)
	}

	p := overlay.Policy{Settings: map[string]store.AlertSetting{
		eventsub.ChannelCheer: {Type: eventsub.ChannelCheer, Enabled: true, Template: "{user} sent {amount}: {message}", DurationSeconds: 9},
	}}
	a = p.Alert(cheer)
	if a.User != "" || a.Text != "" || a.Detail != "" || a.DurationMs != 9000 || a.Amount != 10000 ||
		len(a.Line) != 2 || a.Line[0].User != "Ann" || a.Line[1].Text != " sent 10,000: what a play!" {
		t.Fatalf("templated cheer alert %+v", a)
	}

	long := cheer
	long.Payload = `{"bits": 1, "message": "Cheer1 ` + strings.Repeat("word ", 100) + `"}`
	if d := (overlay.Policy{}).Alert(long).Detail; len([]rune(d)) > overlay.MaxMessage+1 || len([]rune(d)) < overlay.MaxMessage-5 || !strings.HasSuffix(d, "…") {
		t.Fatalf("long message shown as %q (%d characters)", d, len([]rune(d)))
	}
	if l := p.Alert(long).Line; !strings.HasSuffix(l[len(l)-1].Text, "…") {
		t.Fatalf("a template's {message} is not clamped: %+v", l)
	}
}

func TestAlertable(t *testing.T) {
	now := time.Now()
	ok := store.Event{Type: eventsub.ChannelCheer, OccurredAt: now}
	if !overlay.Alertable(ok, now, time.Minute) {
		t.Fatal("a fresh cheer is not alertable")
	}
	for name, ev := range map[string]store.Event{
		"old":      {Type: eventsub.ChannelCheer, OccurredAt: now.Add(-2 * time.Minute)},
		"hidden":   {Type: eventsub.ChannelCheer, OccurredAt: now, Hidden: true},
		"backfill": {Type: eventsub.ChannelFollow, OccurredAt: now, Source: store.SourceBackfill},
		"no alert": {Type: eventsub.UserAuthorizationRevoke, OccurredAt: now},
	} {
		if overlay.Alertable(ev, now, time.Minute) {
			t.Errorf("%s event is alertable", name)
		}
	}
}

func TestSample(t *testing.T) {
	b, v := eventsub.Follower{ID: "1", Login: "me", Name: "Me"}, eventsub.Follower{ID: "2", Login: "ann", Name: "Ann"}
	ev, err := overlay.Sample(eventsub.ChannelCheer, b, v, time.Now())
	if err != nil || ev.ID != 0 || ev.BroadcasterID != "1" || ev.UserName != "Ann" {
		t.Fatalf("sample cheer %+v, %v", ev, err)
	}
	if a := (overlay.Policy{}).Alert(ev); a.Amount != 100 || a.Detail != "great stream!" {
		t.Fatalf("sample cheer's alert %+v: want 100 bits, the cheermote stripped", a)
	}
	for _, typ := range []string{"channel.goal.begin", eventsub.UserAuthorizationRevoke} {
		if _, err := overlay.Sample(typ, b, v, time.Now()); err == nil {
			t.Errorf("sample of %s: want an error", typ)
		}
	}
}

func TestParseControl(t *testing.T) {
	for _, s := range []string{"pause", "resume", "skip", "clear"} {
		if k, ok := overlay.ParseControl(s); !ok || string(k) != s {
			t.Errorf("ParseControl(%q) = %q, %v", s, k, ok)
		}
	}
	for _, s := range []string{"", "explode", "settings", "test", "rotated"} {
		if _, ok := overlay.ParseControl(s); ok {
			t.Errorf("ParseControl(%q) accepted a non-command", s)
		}
	}
}

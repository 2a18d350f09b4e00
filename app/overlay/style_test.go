package overlay

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

var testDefaults = Defaults{
	Image:    map[string]string{eventsub.ChannelCheer: "/assets/alerts/cheer.svg", "": "/assets/alerts/bell.svg"},
	Sound:    "/assets/alerts/chime.wav",
	BigSound: "/assets/alerts/fanfare.wav",
}

// TestTierFor: the highest tier whose minimum is at most the amount applies, whatever the order.
func TestTierFor(t *testing.T) {
	tiers := []Tier{{Min: 1000}, {Min: 100}, {Min: 10000}}
	for _, c := range []struct {
		amount int
		want   int // index; -1 none
	}{
		{0, -1}, {99, -1}, {100, 1}, {999, 1}, {1000, 0}, {9999, 0}, {10000, 2}, {1 << 30, 2},
	} {
		i, ok := TierFor(tiers, c.amount)
		if i != c.want || ok != (c.want >= 0) {
			t.Errorf("TierFor(%d) = %d, %v; want %d", c.amount, i, ok, c.want)
		}
	}
	if _, ok := TierFor(nil, 5); ok {
		t.Error("no tiers: none applies")
	}
}

func TestResolveDefaults(t *testing.T) {
	look, d := Resolve(eventsub.ChannelFollow, 0, Style{}, testDefaults)
	want := Look{Image: "/assets/alerts/bell.svg", Sound: "/assets/alerts/chime.wav", Volume: .8, Layout: LayoutAbove,
		TextColor: DefaultTextColor, NameColor: DefaultNameColor, Background: DefaultBackground, FontSize: DefaultFontSize}
	if look != want || d != 0 {
		t.Fatalf("a follow with no style: %+v, %d; want %+v", look, d, want)
	}
	// The biggest events get a bigger treatment with no settings at all: 10,000 bits is not 100.
	for _, c := range []struct {
		amount, level int
		sound         string
	}{{1, 0, testDefaults.Sound}, {100, 1, testDefaults.Sound}, {1000, 2, testDefaults.BigSound}, {10000, 3, testDefaults.BigSound}} {
		look, _ := Resolve(eventsub.ChannelCheer, c.amount, Style{}, testDefaults)
		if look.Level != c.level || look.Sound != c.sound || look.Image != "/assets/alerts/cheer.svg" || look.Tier != 0 {
			t.Errorf("%d bits: %+v; want level %d, sound %s", c.amount, look, c.level, c.sound)
		}
	}
}

func TestResolveStreamerStyleAndTiers(t *testing.T) {
	st := Style{Image: "/media/AAAAAAAAAAAAAAAAAAAAAA", Sound: None, Volume: 35, Layout: LayoutBeside,
		TextColor: "#ffffff", NameColor: "#ff0000", Background: "#000000", FontSize: 60,
		Tiers: []Tier{
			{Min: 500, Image: "https://example.com/big.gif", Sound: "https://example.com/big.mp3", DurationSeconds: 12},
			{Min: 50, Sound: "/media/BBBBBBBBBBBBBBBBBBBBBB"},
		}}
	look, d := Resolve(eventsub.ChannelCheer, 10, st, testDefaults)
	if look.Image != st.Image || look.Sound != "" || look.Volume != .35 || look.Layout != LayoutBeside ||
		look.TextColor != "#ffffff" || look.NameColor != "#ff0000" || look.Background != "#000000" || look.FontSize != 60 ||
		look.Tier != 0 || look.Level != 0 || d != 0 {
		t.Fatalf("10 bits, below every tier: %+v, %d", look, d)
	}
	// Tiers are numbered by minimum, as the form lists them, whatever order they were stored in.
	look, d = Resolve(eventsub.ChannelCheer, 50, st, testDefaults)
	if look.Tier != 1 || look.Level != 1 || look.Image != st.Image || look.Sound != "/media/BBBBBBBBBBBBBBBBBBBBBB" || d != 0 {
		t.Fatalf("50 bits: the lower tier's sound, the type's image: %+v, %d", look, d)
	}
	look, d = Resolve(eventsub.ChannelCheer, 100000, st, testDefaults)
	if look.Tier != 2 || look.Level != 2 || look.Image != "https://example.com/big.gif" || look.Sound != "https://example.com/big.mp3" || d != 12 {
		t.Fatalf("100,000 bits: the top tier: %+v, %d", look, d)
	}
	// Tiers mean nothing for a type without an amount.
	look, _ = Resolve(eventsub.ChannelFollow, 0, Style{Tiers: []Tier{{Min: 1, Sound: None}}}, testDefaults)
	if look.Tier != 0 || look.Sound != testDefaults.Sound {
		t.Fatalf("a follow with tiers: %+v", look)
	}
}

func TestStyleJSONRoundTrip(t *testing.T) {
	if (Style{}).JSON() != "" {
		t.Fatal("the defaults are stored as the empty string")
	}
	st := Style{Image: "https://example.com/a.png", Volume: 50, Tiers: []Tier{{Min: 5, DurationSeconds: 3}}}
	got, err := ParseStyle(st.JSON())
	if err != nil || got.Image != st.Image || got.Volume != 50 || len(got.Tiers) != 1 || got.Tiers[0] != st.Tiers[0] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := ParseStyle("{"); err == nil {
		t.Fatal("a broken style must not parse")
	}
}

func TestStyleCheck(t *testing.T) {
	mine := func(id string) bool { return id == "MINEMINEMINEMINEMINE" }
	for _, c := range []struct {
		name  string
		typ   string
		st    Style
		field string // in the message; "" valid
	}{
		{"defaults", eventsub.ChannelFollow, Style{}, ""},
		{"everything", eventsub.ChannelCheer, Style{Image: "/media/MINEMINEMINEMINEMINE", Sound: "https://cdn.example.com/s.mp3", Volume: 100,
			Layout: LayoutBeside, TextColor: "#AbCdEf", NameColor: "#000000", Background: "#ffffff", FontSize: 16,
			Tiers: []Tier{{Min: 1}, {Min: 100, Image: None, DurationSeconds: 60}}}, ""},
		{"http image", eventsub.ChannelFollow, Style{Image: "http://example.com/a.png"}, "image must be an https:// URL"},
		{"script image", eventsub.ChannelFollow, Style{Image: "javascript:alert(1)"}, "image must be an https:// URL"},
		{"someone else's upload", eventsub.ChannelFollow, Style{Sound: "/media/THEIRSTHEIRSTHEIRS"}, "sound is not one of your uploads"},
		{"long URL", eventsub.ChannelFollow, Style{Image: "https://example.com/" + strings.Repeat("a", MaxURL)}, "image URL is longer"},
		{"volume", eventsub.ChannelFollow, Style{Volume: 101}, "volume"},
		{"layout", eventsub.ChannelFollow, Style{Layout: "below"}, "layout"},
		{"colour", eventsub.ChannelFollow, Style{NameColor: "red"}, "name colour must be a colour"},
		{"colour injection", eventsub.ChannelFollow, Style{Background: "#000;x:y"}, "background colour"},
		{"font size", eventsub.ChannelFollow, Style{FontSize: 200}, "font size must be 16 to 160"},
		{"tiers on a follow", eventsub.ChannelFollow, Style{Tiers: []Tier{{Min: 1}}}, "tiers are only for"},
		{"tier minimum", eventsub.ChannelRaid, Style{Tiers: []Tier{{Min: 0}}}, "tier 1 needs a minimum of at least 1 raiders"},
		{"same minimum", eventsub.ChannelCheer, Style{Tiers: []Tier{{Min: 5}, {Min: 5}}}, "tier 2 has the same minimum"},
		{"tier sound", eventsub.ChannelCheer, Style{Tiers: []Tier{{Min: 5, Sound: "ftp://x/y"}}}, "tier 1 sound must be an https:// URL"},
		{"tier duration", eventsub.ChannelCheer, Style{Tiers: []Tier{{Min: 5, DurationSeconds: 61}}}, "tier 1 duration"},
		{"too many tiers", eventsub.ChannelCheer, Style{Tiers: make([]Tier, MaxTiers+1)}, "at most"},
	} {
		err := c.st.Check(c.typ, "Cheers", mine)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field) || !strings.HasPrefix(err.Error(), "The Cheers alert's ")):
			t.Errorf("%s: %v; want a message naming %q", c.name, err, c.field)
		}
	}
}

func TestMediaIDs(t *testing.T) {
	st := Style{Image: "/media/AAAAAAAAAAAAAAAAAAAAAA", Sound: "https://example.com/media/BBBBBBBBBBBBBBBBBBBB",
		Tiers: []Tier{{Min: 1, Sound: "/media/CCCCCCCCCCCCCCCCCCCCCC"}, {Min: 2, Image: "/media/../etc/passwd"}}}
	if got := strings.Join(st.MediaIDs(), ","); got != "AAAAAAAAAAAAAAAAAAAAAA,CCCCCCCCCCCCCCCCCCCCCC" {
		t.Fatalf("media ids %q", got)
	}
}

// TestPolicyStylesAlerts: the policy's alerts carry their look, with the tier the event's amount
// reaches and its duration; a flood of follows too; a broken stored style plays as the defaults.
func TestPolicyStylesAlerts(t *testing.T) {
	st := Style{Tiers: []Tier{{Min: 1000, Sound: "https://example.com/big.mp3", DurationSeconds: 9}}}
	p := Policy{Looks: testDefaults, Settings: map[string]store.AlertSetting{
		eventsub.ChannelCheer: {Type: eventsub.ChannelCheer, Enabled: true, Style: st.JSON()},
	}}
	al := p.Alert(store.Event{ID: 1, Type: eventsub.ChannelCheer, UserName: "Bits", Payload: `{"bits": 5000, "message": "Cheer5000"}`})
	if al.Style == nil || al.Style.Tier != 1 || al.Style.Sound != "https://example.com/big.mp3" || al.DurationMs != 9000 {
		t.Fatalf("5,000 bits: %+v %+v", al, al.Style)
	}
	al = p.Alert(store.Event{ID: 2, Type: eventsub.ChannelFollow, UserName: "Fan", Payload: `{}`})
	if al.Style == nil || al.Style.Image != testDefaults.Image[""] || al.Style.Sound != testDefaults.Sound {
		t.Fatalf("a follow without settings: %+v", al.Style)
	}
	if f := p.flood(30, 9); f.Style == nil || f.Style.Sound != testDefaults.Sound {
		t.Fatalf("a flood: %+v", f.Style)
	}
	p.Settings[eventsub.ChannelCheer] = store.AlertSetting{Type: eventsub.ChannelCheer, Enabled: true, Style: "not json"}
	if al := p.Alert(store.Event{ID: 3, Type: eventsub.ChannelCheer, Payload: `{"bits": 10}`}); al.Style.Tier != 0 || al.Style.Sound != testDefaults.Sound || al.DurationMs != 0 {
		t.Fatalf("a broken style plays as the defaults: %+v", al.Style)
	}
}

// TestCombinableAlertsGrow: a cheer the page may combine carries the looks that bigger sums take,
// so that "3 cheers: 3000 bits" plays as 3,000 bits do and not as the first cheer did: one step
// per minimum above its own amount where the look or the duration changes, the streamer's tiers
// and the default levels alike. A cheer with a message, which never combines, carries none.
func TestCombinableAlertsGrow(t *testing.T) {
	st := Style{Tiers: []Tier{{Min: 5000, Image: "https://example.com/huge.gif", DurationSeconds: 20}, {Min: 250, DurationSeconds: 8}}}
	p := Policy{Looks: testDefaults, Settings: map[string]store.AlertSetting{
		eventsub.ChannelCheer: {Type: eventsub.ChannelCheer, Enabled: true, DurationSeconds: 4, Style: st.JSON()},
	}}
	al := p.Alert(store.Event{ID: 1, Type: eventsub.ChannelCheer, UserName: "Tiny", Payload: `{"bits": 1, "message": "Cheer1"}`})
	if !al.Combine || al.Style.Level != 0 || al.DurationMs != 4000 {
		t.Fatalf("1 bit: %+v %+v", al, al.Style)
	}
	type step struct{ min, level, tier, ms int }
	var got []step
	for _, s := range al.Grow {
		got = append(got, step{s.Min, s.Style.Level, s.Style.Tier, s.DurationMs})
		if want, _ := Resolve(eventsub.ChannelCheer, s.Min, st, testDefaults); *s.Style != want {
			t.Errorf("the step from %d looks %+v, want %+v as %d bits do", s.Min, *s.Style, want, s.Min)
		}
	}
	// 100 bits: the first default level; 250 the streamer's tier 1 (8 s); 1000 and 10000 change
	// nothing the streamer's tiers have not (the streamer's tiers are the levels past 250);
	// 5000 the streamer's tier 2 (20 s).
	want := []step{{100, 1, 0, 4000}, {250, 1, 1, 8000}, {5000, 2, 2, 20000}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the growth of a 1-bit cheer: %v, want %v", got, want)
	}
	if big := p.Alert(store.Event{ID: 2, Type: eventsub.ChannelCheer, UserName: "Big", Payload: `{"bits": 6000, "message": "Cheer6000"}`}); len(big.Grow) != 0 {
		t.Errorf("a cheer past the top tier grows: %+v", big.Grow)
	}
	if msg := p.Alert(store.Event{ID: 3, Type: eventsub.ChannelCheer, UserName: "Chatty", Payload: `{"bits": 1, "message": "Cheer1 hello"}`}); msg.Combine || len(msg.Grow) != 0 {
		t.Errorf("a cheer with a message: combine %v, grow %+v", msg.Combine, msg.Grow)
	}
	if f := p.Alert(store.Event{ID: 4, Type: eventsub.ChannelFollow, UserName: "Fan", Payload: `{}`}); !f.Combine || len(f.Grow) != 0 {
		t.Errorf("a follow (no amount): combine %v, grow %+v", f.Combine, f.Grow)
	}
}

package overlay_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
)

func kind(t *testing.T, typ string) eventsub.Kind {
	t.Helper()
	k, ok := eventsub.KindOf(typ)
	if !ok {
		t.Fatalf("no kind %s", typ)
	}
	return k
}

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		want []overlay.Segment
	}{
		{"{user} cheered {amount} bits: {message}", []overlay.Segment{{User: "Ann"}, {Text: " cheered 100 bits: hi there"}}},
		{"Thanks {user}!", []overlay.Segment{{Text: "Thanks "}, {User: "Ann"}, {Text: "!"}}},
		{"{user} & {user}", []overlay.Segment{{User: "Ann"}, {Text: " & "}, {User: "Ann"}}},
		{"{amount}{message}", []overlay.Segment{{Text: "100hi there"}}},
		// Saved before templates were checked: shown as typed.
		{"{user} {bits} {", []overlay.Segment{{User: "Ann"}, {Text: " {bits} {"}}},
		{"<b>{user}</b>", []overlay.Segment{{Text: "<b>"}, {User: "Ann"}, {Text: "</b>"}}},
	} {
		if got := overlay.Fill(tc.tmpl, "Ann", 100, "hi there"); !slices.Equal(got, tc.want) {
			t.Errorf("Fill(%q) = %+v, want %+v", tc.tmpl, got, tc.want)
		}
	}
	// A cheer with nothing but cheermotes has no message: no dangling separator before it.
	for tmpl, want := range map[string][]overlay.Segment{
		"{user} threw {amount} bits — {message}": {{User: "Ann"}, {Text: " threw 100 bits"}},
		"{user}: {message}":                      {{User: "Ann"}},
		"{user} cheered! {message}":              {{User: "Ann"}, {Text: " cheered!"}},
		"{message} — thanks {user}":              {{Text: "thanks "}, {User: "Ann"}},
	} {
		if got := overlay.Fill(tmpl, "Ann", 100, ""); !slices.Equal(got, want) {
			t.Errorf("Fill(%q) with no message = %+v, want %+v", tmpl, got, want)
		}
	}
	// The line's JSON is the contract the page reads.
	b, _ := json.Marshal(overlay.Fill("Thanks {user}!", "Ann", 0, ""))
	if string(b) != `[{"text":"Thanks "},{"user":"Ann"},{"text":"!"}]` {
		t.Errorf("line JSON %s", b)
	}
}

func TestCheckTemplate(t *testing.T) {
	for _, tc := range []struct {
		typ, tmpl string
		refused   []string // what the reason must name; nil: accepted
	}{
		{eventsub.ChannelFollow, "{user} just followed!", nil},
		{eventsub.ChannelFollow, "{user} followed with {amount}", []string{"Follows", "{amount}", "no amount", "Use {user}."}},
		{eventsub.ChannelFollow, "{user}: {message}", []string{"Follows", "{message}", "no message"}},
		{eventsub.ChannelRaid, "{user} raided with {amount}: {message}", []string{"Raids", "{message}", "Use {user} or {amount}."}},
		{eventsub.ChannelCheer, "{user} cheered {amount}: {message}", nil},
		{eventsub.ChannelCheer, "{user} cheered {bits}", []string{"Cheers", "{bits}", "not a placeholder", "Use {user}, {amount} or {message}."}},
		{eventsub.ChannelCheer, "{User} cheered", []string{"{User}", "not a placeholder"}},
		{eventsub.StreamOnline, "{user} is live", []string{"Stream online", "{user}", "no viewer's name", "takes no placeholders"}},
		{eventsub.ChannelHypeTrainBegin, "Hype train! Level {amount}", nil},
		{eventsub.ChannelCheer, "braces { alone } are text", nil},
	} {
		err := overlay.CheckTemplate(kind(t, tc.typ), tc.tmpl)
		switch {
		case tc.refused == nil && err != nil:
			t.Errorf("%s %q refused: %v", tc.typ, tc.tmpl, err)
		case tc.refused != nil && err == nil:
			t.Errorf("%s %q accepted, want refused", tc.typ, tc.tmpl)
		case err != nil:
			for _, want := range tc.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %q: reason %q does not say %q", tc.typ, tc.tmpl, err, want)
				}
			}
		}
	}
}

// Every type's hint, shown as the form's placeholder, is a template the form accepts.
func TestHintsAreValidTemplates(t *testing.T) {
	for _, k := range eventsub.Kinds {
		if err := overlay.CheckTemplate(k, k.Hint); err != nil {
			t.Errorf("%s hint %q: %v", k.Type, k.Hint, err)
		}
	}
}

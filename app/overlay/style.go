package overlay

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// Style is how a streamer's alerts of one type look and sound, kept as JSON beside the type's
// alert settings. The zero value is the defaults.
type Style struct {
	Image      string `json:"image,omitempty"`      // "" the type's default, "none", an https URL or an upload (MediaPath + id)
	Sound      string `json:"sound,omitempty"`      // the same
	Volume     int    `json:"volume,omitempty"`     // percent, 1-100; 0 the default
	Layout     string `json:"layout,omitempty"`     // LayoutAbove (the default) or LayoutBeside
	TextColor  string `json:"text_color,omitempty"` // #rrggbb; "" the default
	NameColor  string `json:"name_color,omitempty"` // the highlighted name
	Background string `json:"background,omitempty"` // the box, drawn nearly opaque
	FontSize   int    `json:"font_size,omitempty"`  // px on a 1920×1080 canvas; 0 the default
	Tiers      []Tier `json:"tiers,omitempty"`      // for Tiered types, by ascending minimum
}

// Tier is a bigger treatment for an alert whose amount (bits, gifted subs, raiders, months) is
// at least Min: its own image, sound and duration ("" and 0 keep the type's).
type Tier struct {
	Min             int    `json:"min"`
	Image           string `json:"image,omitempty"`
	Sound           string `json:"sound,omitempty"`
	DurationSeconds int    `json:"duration_seconds,omitempty"`
}

const (
	LayoutAbove  = "above"  // the image above the text
	LayoutBeside = "beside" // the image left of the text

	// MediaPath is where uploads are served: MediaPath + id. The id is random and names one
	// upload's bytes forever, so the overlay page loads it without a session.
	MediaPath = "/media/"
	// None turns a type's default image or sound off.
	None = "none"

	DefaultVolume   = 80
	DefaultFontSize = 44
	MinFontSize     = 16
	MaxFontSize     = 160
	MaxTiers        = 4
	MaxURL          = 500
)

// The colours the box has unless the streamer picks others.
const (
	DefaultTextColor  = "#efeff1"
	DefaultNameColor  = "#bf94ff"
	DefaultBackground = "#18181b"
)

// tiered are the types whose alerts carry an amount worth tiers, and what the amount counts.
var tiered = map[string]string{
	eventsub.ChannelCheer:            "bits",
	eventsub.ChannelSubscriptionGift: "gifted subs",
	eventsub.ChannelRaid:             "raiders",
	eventsub.ChannelSubscriptionMsg:  "months",
}

// Tiered reports whether alerts of typ can have tiers by amount, and what the amount counts.
func Tiered(typ string) (unit string, ok bool) {
	unit, ok = tiered[typ]
	return unit, ok
}

// defaultLevels are the amounts from which a tiered type's alert gets a bigger treatment when
// the streamer set no tiers of their own: 10,000 bits must not look like 100.
var defaultLevels = map[string][]int{
	eventsub.ChannelCheer:            {100, 1000, 10000},
	eventsub.ChannelSubscriptionGift: {5, 20, 50},
	eventsub.ChannelRaid:             {10, 50, 250},
	eventsub.ChannelSubscriptionMsg:  {6, 12, 36},
}

// MaxLevel is the biggest treatment the overlay page draws.
const MaxLevel = 3

// Look is the style one alert plays with: the "style" object of the alert JSON.
type Look struct {
	Image      string  `json:"image,omitempty"` // URL; "" none
	Sound      string  `json:"sound,omitempty"` // URL; "" none
	Volume     float64 `json:"volume"`          // 0-1
	Layout     string  `json:"layout"`
	TextColor  string  `json:"text_color"`
	NameColor  string  `json:"name_color"`
	Background string  `json:"background"`
	FontSize   int     `json:"font_size"` // px on a 1920×1080 canvas
	Tier       int     `json:"tier"`      // the streamer's tier that applied, numbered by minimum as the form lists them (1 the lowest); 0 none
	Level      int     `json:"level"`     // 0 an ordinary alert, up to MaxLevel for the biggest events
}

// Defaults are the images and sounds that play unless the streamer chose their own: URLs of the
// set this project generates (assets/alerts).
type Defaults struct {
	Image    map[string]string // by type; Image[""] for any other type
	Sound    string            // the chime of ordinary alerts
	BigSound string            // the fanfare of the biggest events (level 2 and up)
}

// ParseStyle reads a stored style; "" is the defaults.
func ParseStyle(s string) (Style, error) {
	var st Style
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return Style{}, fmt.Errorf("overlay: parse style: %w", err)
	}
	return st, nil
}

// JSON is the style as stored; the defaults are "".
func (st Style) JSON() string {
	if st.IsZero() {
		return ""
	}
	b, _ := json.Marshal(st) // strings, numbers and slices of them
	return string(b)
}

func (st Style) IsZero() bool {
	return st.Image == "" && st.Sound == "" && st.Volume == 0 && st.Layout == "" && st.TextColor == "" &&
		st.NameColor == "" && st.Background == "" && st.FontSize == 0 && len(st.Tiers) == 0
}

// TierFor is the tier that applies to amount: the one with the highest minimum at most amount.
// ok is false when none does.
func TierFor(tiers []Tier, amount int) (index int, ok bool) {
	index = -1
	for i, t := range tiers {
		if t.Min <= amount && (index < 0 || t.Min > tiers[index].Min) {
			index = i
		}
	}
	return index, index >= 0
}

// Resolve is how an alert of typ with amount plays under st: the streamer's choices, the tier
// that applies, else the defaults. durationSeconds is the tier's own (0: the type's).
func Resolve(typ string, amount int, st Style, d Defaults) (look Look, durationSeconds int) {
	look = Look{Image: st.Image, Sound: st.Sound, Layout: st.Layout, TextColor: st.TextColor,
		NameColor: st.NameColor, Background: st.Background, FontSize: st.FontSize, Volume: float64(st.Volume) / 100}
	if _, ok := tiered[typ]; ok {
		look.Level = level(defaultLevels[typ], amount)
		if i, ok := TierFor(st.Tiers, amount); ok {
			t := st.Tiers[i]
			// The streamer's tiers, in order of minimum, are the levels when they set any.
			look.Tier = 1 + rank(st.Tiers, i)
			look.Level = min(MaxLevel, look.Tier)
			look.Image = or(t.Image, look.Image)
			look.Sound = or(t.Sound, look.Sound)
			durationSeconds = t.DurationSeconds
		}
	}
	look.Image = media(look.Image, or(d.Image[typ], d.Image[""]))
	sound := d.Sound
	if look.Level >= 2 {
		sound = d.BigSound
	}
	look.Sound = media(look.Sound, sound)
	if st.Volume == 0 {
		look.Volume = DefaultVolume / 100.0
	}
	look.Layout = or(look.Layout, LayoutAbove)
	look.TextColor = or(look.TextColor, DefaultTextColor)
	look.NameColor = or(look.NameColor, DefaultNameColor)
	look.Background = or(look.Background, DefaultBackground)
	if look.FontSize == 0 {
		look.FontSize = DefaultFontSize
	}
	return look, durationSeconds
}

// styled gives al the look and sound of its type under the streamer's style (or the defaults),
// and a tier's own duration. An alert the page may combine with others also carries the looks
// that bigger sums take (Grow).
func (p Policy) styled(al Alert) Alert {
	st, _ := ParseStyle(p.Settings[al.Type].Style) // checked when saved: a broken one plays as the defaults
	typeMs := al.DurationMs
	look, seconds := Resolve(al.Type, al.Amount, st, p.Looks)
	al.Style = &look
	if seconds > 0 {
		al.DurationMs = seconds * 1000
	}
	if al.Combine {
		al.Grow = grow(al, st, p.Looks, typeMs)
	}
	return al
}

// grow is how a combinable alert of a tiered type looks when the page combines it with others
// and their amounts add up to a tier or level of its own: "3 cheers: 3000 bits" plays as 3,000
// bits do, not as the first cheer did. One step per minimum above al's amount where the look or
// the duration changes; typeMs is the type's duration (0: the page's default).
func grow(al Alert, st Style, d Defaults, typeMs int) []Step {
	if _, ok := tiered[al.Type]; !ok {
		return nil
	}
	mins := append([]int(nil), defaultLevels[al.Type]...)
	for _, t := range st.Tiers {
		mins = append(mins, t.Min)
	}
	sort.Ints(mins)
	var steps []Step
	prev, prevMs := *al.Style, al.DurationMs
	for i, m := range mins {
		if m <= al.Amount || (i > 0 && m == mins[i-1]) {
			continue
		}
		look, seconds := Resolve(al.Type, m, st, d)
		ms := typeMs
		if seconds > 0 {
			ms = seconds * 1000
		}
		if look == prev && ms == prevMs {
			continue
		}
		steps = append(steps, Step{Min: m, Style: &look, DurationMs: ms})
		prev, prevMs = look, ms
	}
	return steps
}

// level counts the minimums that amount reaches.
func level(mins []int, amount int) int {
	n := 0
	for _, m := range mins {
		if amount >= m {
			n++
		}
	}
	return min(n, MaxLevel)
}

// rank is how many tiers have a lower minimum than tiers[i].
func rank(tiers []Tier, i int) int {
	n := 0
	for _, t := range tiers {
		if t.Min < tiers[i].Min {
			n++
		}
	}
	return n
}

// media is the URL a stored image or sound plays from: "" the default, None nothing.
func media(v, def string) string {
	switch v {
	case "":
		return def
	case None:
		return ""
	}
	return v
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// MediaIDs are the uploads the style uses.
func (st Style) MediaIDs() []string {
	var ids []string
	add := func(v string) {
		if id, ok := MediaID(v); ok {
			ids = append(ids, id)
		}
	}
	add(st.Image)
	add(st.Sound)
	for _, t := range st.Tiers {
		add(t.Image)
		add(t.Sound)
	}
	return ids
}

var mediaIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// MediaID is the upload a stored image or sound names, if it names one.
func MediaID(v string) (string, bool) {
	id, ok := strings.CutPrefix(v, MediaPath)
	return id, ok && mediaIDPattern.MatchString(id)
}

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Check says what is wrong with a style a streamer entered for the alerts labelled label (e.g.
// "Cheers"), naming the field; nil when nothing is. owned reports whether an upload is the
// streamer's own.
func (st Style) Check(typ, label string, owned func(id string) bool) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("The %s alert's "+format, append([]any{label}, args...)...)
	}
	for _, f := range []struct{ name, v string }{{"image", st.Image}, {"sound", st.Sound}} {
		if err := checkMedia(f.v, owned); err != "" {
			return fail("%s %s", f.name, err)
		}
	}
	if st.Volume < 0 || st.Volume > 100 {
		return fail("volume must be 0 to 100 percent.")
	}
	if st.Layout != "" && st.Layout != LayoutAbove && st.Layout != LayoutBeside {
		return fail("layout must be image above or image beside the text.")
	}
	for _, f := range []struct{ name, v string }{{"text colour", st.TextColor}, {"name colour", st.NameColor}, {"background colour", st.Background}} {
		if f.v != "" && !colorPattern.MatchString(f.v) {
			return fail("%s must be a colour like #ff8800.", f.name)
		}
	}
	if st.FontSize != 0 && (st.FontSize < MinFontSize || st.FontSize > MaxFontSize) {
		return fail("font size must be %d to %d pixels.", MinFontSize, MaxFontSize)
	}
	unit, ok := tiered[typ]
	if len(st.Tiers) > 0 && !ok {
		return fail("tiers are only for cheers, gift bombs, raids and resubs.")
	}
	if len(st.Tiers) > MaxTiers {
		return fail("tiers are at most %d.", MaxTiers)
	}
	seen := map[int]bool{}
	for i, t := range st.Tiers {
		n := i + 1
		if t.Min < 1 {
			return fail("tier %d needs a minimum of at least 1 %s.", n, unit)
		}
		if seen[t.Min] {
			return fail("tier %d has the same minimum as another tier (%d %s).", n, t.Min, unit)
		}
		seen[t.Min] = true
		if err := checkMedia(t.Image, owned); err != "" {
			return fail("tier %d image %s", n, err)
		}
		if err := checkMedia(t.Sound, owned); err != "" {
			return fail("tier %d sound %s", n, err)
		}
		if t.DurationSeconds < 0 || t.DurationSeconds > 60 {
			return fail("tier %d duration must be 1 to 60 seconds.", n)
		}
	}
	return nil
}

// SortTiers orders tiers by minimum, as the form shows them.
func (st *Style) SortTiers() {
	sort.SliceStable(st.Tiers, func(i, j int) bool { return st.Tiers[i].Min < st.Tiers[j].Min })
}

// checkMedia says what is wrong with an image or sound value ("" nothing): it must be empty,
// None, one of the streamer's uploads, or an https URL.
func checkMedia(v string, owned func(id string) bool) string {
	if v == "" || v == None {
		return ""
	}
	if id, ok := MediaID(v); ok {
		if owned == nil || !owned(id) {
			return "is not one of your uploads."
		}
		return ""
	}
	if len(v) > MaxURL {
		return fmt.Sprintf("URL is longer than %d characters.", MaxURL)
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "must be an https:// URL or an upload."
	}
	return ""
}

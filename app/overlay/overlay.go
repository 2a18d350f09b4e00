// Package overlay is the OBS overlay's domain: which events play as alerts and how they read
// (the alert-type policy, templates, cheermotes), the flood rule that collapses a follow bot's
// burst into one alert, the engine that turns one stream's events into alerts, the samples that
// test alerts and the preview play, and the signals the dashboard sends to open overlays. It
// knows nothing of HTTP: app/web mounts it.
package overlay

// Alert is what the overlay page plays: who, what, how much, in the dashboard's own words or the
// streamer's template. Its JSON is the "alert" event of the overlay stream.
type Alert struct {
	ID     int64  `json:"id"` // the (newest) event's id; 0 for a test alert
	Type   string `json:"type"`
	User   string `json:"user,omitempty"`
	Text   string `json:"text,omitempty"`
	Detail string `json:"detail,omitempty"` // the viewer's message: cheermotes stripped, clamped
	// Line is the streamer's template filled in; it replaces User and Text.
	Line []Segment `json:"line,omitempty"`
	// Amount is the bits, viewers, gifted subs, months or points; 0 if the type has none.
	Amount int `json:"amount"`
	// DurationMs is how long it shows (0: the page's default, OVERLAY_ALERT_DURATION).
	DurationMs int `json:"duration_ms,omitempty"`
	// Style is how it looks and sounds: image, sound, layout, colours, size, tier (style.go).
	Style *Look `json:"style,omitempty"`
	// Combine: while it waits, the page may play it together with others of its type (a queue rule).
	Combine bool `json:"combine,omitempty"`
	// Grow is, for a combinable alert with tiers by amount, how the combined alert looks once the
	// amounts add up to each bigger minimum (ascending): the page plays the last step reached.
	Grow []Step `json:"grow,omitempty"`
}

// Step is the look and duration (0: the page's default) of a combined alert from Min on.
type Step struct {
	Min        int   `json:"min"`
	Style      *Look `json:"style"`
	DurationMs int   `json:"duration_ms,omitempty"`
}

// Segment is a piece of a template's line: plain text, or a user's name the page highlights.
type Segment struct {
	Text string `json:"text,omitempty"`
	User string `json:"user,omitempty"`
}

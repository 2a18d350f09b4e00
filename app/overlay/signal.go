package overlay

import "github.com/twitch-event-viewer/tev/app/store"

// Signal is news for a broadcaster's open overlays: a queue command from the dashboard, changed
// settings, a rotated URL, a test alert. It travels between instances inside a doorbell signal;
// it is never one of the dashboard's row messages.
type Signal struct {
	Kind SignalKind   `json:"k"`
	Test *store.Event `json:"e,omitempty"` // TestAlert: the sample to play, never stored
}

// SignalKind says what a Signal asks of an overlay.
type SignalKind string

const (
	Pause   SignalKind = "pause"  // hold the queue; the alert on screen finishes
	Resume  SignalKind = "resume" // play the queue again
	Skip    SignalKind = "skip"   // end the alert on screen
	Clear   SignalKind = "clear"  // drop every alert still waiting
	Rotated SignalKind = "rotated"
	// SettingsChanged: the alert settings or safe mode changed; overlays read them again.
	SettingsChanged SignalKind = "settings"
	TestAlert       SignalKind = "test"
	// Missed: this instance may have missed signals (its doorbell reconnected); overlays check
	// their URL and settings as if both had changed.
	Missed SignalKind = "missed"
)

// Controls are the queue commands the page carries out, in the dashboard's button order.
var Controls = []SignalKind{Pause, Resume, Skip, Clear}

// Control reports whether k is a queue command, sent on to the page as it is.
func (k SignalKind) Control() bool {
	switch k {
	case Pause, Resume, Skip, Clear:
		return true
	}
	return false
}

// ParseControl reads a queue command's name ("pause", "resume", "skip", "clear").
func ParseControl(s string) (SignalKind, bool) {
	k := SignalKind(s)
	return k, k.Control()
}

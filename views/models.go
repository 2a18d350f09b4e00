// Package views holds the templ components. Components are pure: they take the view-models
// below and never query anything.
package views

import "time"

// Assets are the content-hashed URLs of the static files a page loads.
type Assets struct {
	CSS     string
	HTMX    string
	SSE     string
	App     string // the dashboard's few lines of script: local times, bounded list, copy, notices
	Favicon string
}

// User is the signed-in streamer.
type User struct {
	BroadcasterID string
	Login         string
	DisplayName   string
}

// Page is what every full page needs.
type Page struct {
	Title  string
	Assets Assets
	User   *User  // nil when signed out
	CSRF   string // token for state-changing forms and htmx requests
}

// EventRow is one event as the dashboard shows it.
type EventRow struct {
	ID     int64
	Type   string // the EventSub type, e.g. channel.follow
	Kind   string // short class for styling: follow, sub, gift, cheer, raid, stream, points, other
	Icon   string
	User   string // who acted; empty for anonymous or channel-level events
	Action string // what happened, after the user: "followed", "cheered 100 bits"
	Detail string // optional second line: a cheer message, a reward prompt
	AtISO  string // UTC; the page's script shows it in the viewer's time zone
	AtText string // UTC, for pages without script
	Live   bool   // reached an open page after it loaded: highlighted as it comes in
	At     time.Time
	Burst  int // a follow's flood burst size (0: not part of a flood)
	// Group is the DOM id of a row that a later message replaces (a hype train's): a live row
	// of a group removes the group's earlier row as it arrives.
	Group string
	// Cursor is the row's place in the timeline: the list's script points the "Older events"
	// pager at the last row it keeps when it drops older rows.
	Cursor string
}

// EventPage is a page of rows, newest first, with the URL of the next older page ("" at the end).
type EventPage struct {
	Rows     []EventRow
	OlderURL string
	Empty    string // what the list says without rows: which filter matched nothing
	AllURL   string // the unfiltered list, when a filter is on
}

// Dashboard is the signed-in streamer's live event list.
type Dashboard struct {
	Page
	Events        EventPage
	StreamURL     string
	TestFollowURL string
	ExportURL     string
	CallbackURL   string
	Demo          bool
	Status        *AccountStatus // nil for the demo streamer
	Pusher        *PusherStatus  // nil when Pusher is not configured
	EventTypes    []EventTypeOption
	TestEventURL  string
	Filters       []FilterLink // "All" first, then one per event type
	Overlay       OverlayPanelView
	// OlderURL is the pager's URL without a cursor (type filter kept): the list's script makes
	// a new pager from it when it drops older rows.
	OlderURL string
	// EventTypesChosen: the streamer saved a choice of event types (the first setup step).
	EventTypesChosen bool
	// MaxLive bounds the rows the live list keeps; older rows stay one click away.
	MaxLive int
}

// Checklist is the first-time streamer's setup steps, shown until the overlay exists.
func (d Dashboard) Checklist() []SetupStep {
	first := SetupStep{Title: "Choose the events you want", Anchor: "#event-types-panel",
		Hint: "Open Event types, tick what you want to see, Save.", Done: d.EventTypesChosen}
	if d.Status != nil {
		first = SetupStep{Title: "Connect Twitch and choose the events you want", Anchor: "#status-panel",
			Hint: "Open Twitch connection: every event type you tick becomes a subscription.",
			Done: !d.Status.NeedsReconnect && !d.Status.CanResubscribe}
	}
	return []SetupStep{first, OverlayStep(d.Overlay.Exists),
		{Title: "Send a test alert", Anchor: "#overlay-panel",
			Hint: "With the overlay open in OBS, press a Test alert button: it plays on stream, nothing is stored."},
	}
}

// OverlayStep is the checklist's second step: create the overlay URL and add it to OBS.
func OverlayStep(done bool) SetupStep {
	return SetupStep{Title: "Create your overlay URL and add it to OBS", Anchor: "#overlay-panel",
		Hint: "Open OBS overlay, Create overlay URL, then in OBS add a Browser Source, width 1920, height 1080.",
		Done: done}
}

// SetupStep is one step of the first-time checklist.
type SetupStep struct {
	Title, Hint, Anchor string
	Done                bool
}

// EventTypeOption is one event type the streamer can choose to receive (and, in the demo, test).
type EventTypeOption struct {
	Type    string
	Label   string
	Enabled bool
	// CaughtUp: events of this type that happen while the app is off are fetched when it starts
	// (follows, from the follower history); the others are lost on the WebSocket transport.
	CaughtUp bool
}

// disabledTypes are the types the streamer did not choose.
func disabledTypes(types []EventTypeOption) []EventTypeOption {
	var off []EventTypeOption
	for _, t := range types {
		if !t.Enabled {
			off = append(off, t)
		}
	}
	return off
}

// listSep follows item i of n in a sentence: a comma, or the full stop after the last.
func listSep(i, n int) string {
	if i == n-1 {
		return "."
	}
	return ", "
}

// LostWhileOff is the enabled types whose events are lost while the app is off.
func LostWhileOff(types []EventTypeOption) []EventTypeOption {
	var lost []EventTypeOption
	for _, t := range types {
		if t.Enabled && !t.CaughtUp {
			lost = append(lost, t)
		}
	}
	return lost
}

// FilterLink shows the dashboard's events of one type ("" for all of them).
type FilterLink struct {
	Type    string
	Label   string
	URL     string
	Current bool
}

// AccountStatus is the health of a Twitch-connected account, with a way to fix each problem.
type AccountStatus struct {
	NeedsReconnect   bool
	Reason           string
	PublicURLWarning string // why Twitch cannot reach the callback, or ""
	Transport        string // "websocket" or "webhook": how EventSub delivers
	TransportReason  string // why that transport is in use
	Subscriptions    []SubscriptionStatus
	CanResubscribe   bool   // some subscription is not live
	Summary          string // one line for the collapsed panel
	HistoryComplete  bool
	MissingScopes    bool // some enabled type lacks its permission: offer to reconnect
}

// SubscriptionStatus is one EventSub subscription on the status panel.
type SubscriptionStatus struct {
	Type      string
	Status    string // Twitch's word: enabled, webhook_callback_verification_pending, authorization_revoked…
	Label     string // the same for people
	Live      bool
	LastError string
	LastEvent string // "" when none yet
	// MissingScope is the permission the sign-in lacks for these events, or "": reconnecting
	// Twitch grants it.
	MissingScope string
}

// PusherStatus is how publishing the streamer's events to Pusher keeps up.
type PusherStatus struct {
	Channel   string // the private channel the events go to
	Pending   int    // stored events not yet published
	OldestAge string // how long the oldest of them has waited, "" when none
	Lagging   bool
	Failing   bool   // Pusher refused or did not answer; retrying with backoff
	LastError string // the newest failure, "" when none
	Summary   string // one plain line
}

// Landing is the signed-out home page.
type Landing struct {
	Page
	Demo              bool
	TwitchSignIn      bool
	Permissions       []Permission // what the Twitch sign-in asks for, in order
	DemoBroadcasterID string
}

// Permission is a Twitch OAuth scope the sign-in asks for, and why.
type Permission struct {
	Scope, Reason string
}

// ErrorPage explains a failed request to a person.
type ErrorPage struct {
	Page
	Status  int
	Heading string
	Message string
}

// SignInProblemView explains a failed sign-in. Reason names the failure for the page's
// data-reason: denied, state, code-refused, twitch-unreachable or missing-scopes.
type SignInProblemView struct {
	ErrorPage
	Reason string
}

// OverlayView is the OBS browser source page.
type OverlayView struct {
	CSS         string
	Script      string
	StreamURL   string
	StorageKey  string // where the page keeps the last alert it showed, across reloads
	AlertMillis int    // how long each alert shows
	CustomCSS   string // the streamer's CSS: overlay.js sets it as a <style> element's text
	Preview     string // a sample alert's JSON: the page plays it over and over, with no stream
	StateURL    string // where the page reports its alert queue
	QueueRules  string // the queue rules' JSON (overlay.PageRules)
}

// AlertSettingView is one alert type's row of the overlay settings form.
type AlertSettingView struct {
	Type     string
	Label    string
	Enabled  bool
	Template string
	Duration string // seconds; "" the default
	Hint     string // the placeholders that fit the type
	Style    AlertStyleView
}

// OverlayPanelView is the dashboard's overlay section.
type OverlayPanelView struct {
	Exists     bool
	URL        string // the secret URL, only in the answer that made it ("" otherwise: only its hash is kept)
	RotateURL  string
	CSRF       string
	Status     OverlayStatus
	TestURL    string // plays a sample alert (not stored)
	SafeMode   bool   // follow alerts off
	SafeURL    string
	TestTypes  []EventTypeOption // the types that play as alerts
	AlertsURL  string            // saves the alert settings
	PreviewURL string            // renders the unsaved settings in the preview frame
	Alerts     []AlertSettingView
	CustomCSS  string
	MaxCSS     int
	// The settings form as just posted: saved, or what is wrong by field name; and the alert
	// type the preview picker had chosen.
	AlertsSaved bool
	AlertErrors map[string]string
	PreviewType string
	QueueRules  QueueRulesView
}

// OverlayTestResult is the answer to a test alert button: sent, or why it did not play.
type OverlayTestResult struct {
	Type    string
	Played  bool
	Message string
}

// OverlayStatus says whether an overlay is connected right now and how its alert queue stands,
// with the queue's buttons; the dashboard refreshes it.
type OverlayStatus struct {
	Connected  int // open overlay streams, on every instance
	Queue      OverlayQueue
	URL        string // refreshes the status
	ControlURL string // pauses, resumes, skips or clears the open overlays' queue
	CSRF       string
}

// OverlayQueue is what the open overlay pages report about their queue (the one furthest behind).
type OverlayQueue struct {
	Reporting     int  // pages that reported lately; 0: the state is unknown
	Paused        bool // any page is paused
	Waiting       int  // alerts waiting, the one on screen not counted
	BehindSeconds int  // the waiting alerts' durations, summed
	Dropped       int  // alerts dropped by the longest-queue rule
}

// QueueRulesView is the settings form's queue rules ("" : off).
type QueueRulesView struct {
	Max         string
	BusySeconds string
	Combine     bool
	MaxLimit    int // the largest Max
	MaxBusy     int // the largest BusySeconds
}

// OverlayCreated shows a new overlay URL when the browser posted without htmx.
type OverlayCreated struct {
	Page
	Panel OverlayPanelView
}

// OverlayUnavailableView is the transparent page of an overlay URL that cannot play alerts.
type OverlayUnavailableView struct {
	CSS    string
	Notice string
	Retry  int // seconds before the page reloads itself; 0: never
}

// Package views holds the templ components. Components are pure: they take the view-models
// below and never query anything.
package views

// Assets are the content-hashed URLs of the static files a page loads.
type Assets struct {
	CSS  string
	HTMX string
	SSE  string
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
	AtISO  string
	AtText string
	Live   bool // reached an open page after it loaded: highlighted as it comes in
}

// EventPage is a page of rows, newest first, with the URL of the next older page ("" at the end).
type EventPage struct {
	Rows     []EventRow
	OlderURL string
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
}

// Landing is the signed-out home page.
type Landing struct {
	Page
	Demo              bool
	DemoBroadcasterID string
}

// ErrorPage explains a failed request to a person.
type ErrorPage struct {
	Page
	Status  int
	Heading string
	Message string
}

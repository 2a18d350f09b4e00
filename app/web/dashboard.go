package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/export"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

const pageSize = 50

// maxLiveRows bounds the rows the dashboard's list keeps as live rows arrive: older rows are
// dropped from the page (the "Older events" pager brings them back), so that a tab left open
// for a long stream stays light.
const maxLiveRows = 200

// dashboard is the streamer's live event list, newest first; ?type= shows one type only.
func (s *Server) dashboard(c *gin.Context) error {
	filter, err := typeFilter(c)
	if err != nil {
		return err
	}
	events, err := s.eventPage(c, filter, store.Cursor{})
	if err != nil {
		return err
	}
	status, err := s.accountStatus(c.Request.Context(), sessionOf(c).BroadcasterID)
	if err != nil {
		return err
	}
	types, chosen, err := s.eventTypeOptions(c.Request.Context(), sessionOf(c).BroadcasterID)
	if err != nil {
		return err
	}
	pusherStatus, err := s.pusherStatus(c.Request.Context(), sessionOf(c).BroadcasterID)
	if err != nil {
		return err
	}
	overlay, err := s.overlayPanel(c.Request.Context(), sessionOf(c).BroadcasterID, csrfToken(c))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.DashboardPage(views.Dashboard{
		Page: s.page(c, "Dashboard"), Events: events, Demo: s.cfg.Demo(), Status: status, Pusher: pusherStatus,
		StreamURL: withType("/dashboard/stream?session="+s.pageSession(sessionOf(c)), filter), TestFollowURL: "/dashboard/test-follow",
		ExportURL: withType("/dashboard/export.csv", filter), CallbackURL: s.callbackURL(),
		EventTypes: types, TestEventURL: "/dashboard/test-event", Filters: filterLinks(filter), Overlay: overlay,
		OlderURL: withType("/dashboard/events", filter), EventTypesChosen: chosen, MaxLive: maxLiveRows,
	}), nil)
}

// dashboardEvents is the "older events" pager: the next page of rows after ?before=CURSOR.
func (s *Server) dashboardEvents(c *gin.Context) error {
	filter, err := typeFilter(c)
	if err != nil {
		return err
	}
	after, err := store.ParseCursor(c.Query("before"))
	if err != nil {
		return badRequest("before must be a position in the event list", err)
	}
	events, err := s.eventPage(c, filter, after)
	if err != nil {
		return err
	}
	c.Header("Vary", "HX-Request")
	return s.renderPage(c, http.StatusOK, views.OlderEvents(events))
}

// eventPage loads one page of the signed-in streamer's timeline (of one type, when filter is
// set) after the cursor (zero: the top).
func (s *Server) eventPage(c *gin.Context, filter string, after store.Cursor) (views.EventPage, error) {
	evs, err := s.store.ShownTimeline(c.Request.Context(), sessionOf(c).BroadcasterID, store.Shown{Type: filter}, after, pageSize+1)
	if err != nil {
		return views.EventPage{}, unavailable("Your events could not be loaded: the database is not answering.", err)
	}
	p := pageOf(evs, filter)
	if err := s.markBursts(c.Request.Context(), sessionOf(c).BroadcasterID, &p); err != nil {
		return views.EventPage{}, unavailable("Your events could not be loaded: the database is not answering.", err)
	}
	return p, nil
}

// pageOf turns up to pageSize+1 timeline events into a page of rows and, when there are more,
// the pager's URL, which keeps the type filter.
func pageOf(evs []store.Event, filter string) views.EventPage {
	p := views.EventPage{Empty: emptyText(filter)}
	if filter != "" {
		p.AllURL = "/dashboard"
	}
	if len(evs) > pageSize {
		evs = evs[:pageSize]
		p.OlderURL = withType("/dashboard/events?before="+store.CursorOf(evs[len(evs)-1]).String(), filter)
	}
	for _, ev := range evs {
		p.Rows = append(p.Rows, presentEvent(ev))
	}
	return p
}

// emptyText is what an empty list says: with a filter, which one matched nothing.
func emptyText(filter string) string {
	k, ok := eventsub.KindOf(filter)
	if !ok {
		return "No events yet. They appear here the moment Twitch sends them."
	}
	what := strings.ToLower(k.Label)
	switch k.Type {
	case eventsub.StreamOnline, eventsub.StreamOffline:
		what += " events"
	case eventsub.ChannelPointsRedemption:
		what += " redemptions"
	case eventsub.ChannelHypeTrainBegin:
		what = "hype trains"
	case eventsub.ChannelHypeTrainEnd:
		what = "ended hype trains"
	}
	return "No " + what + " yet."
}

// dashboardExport downloads the signed-in streamer's events as CSV; ?type= exports one type
// only, as the dashboard's filter shows it.
func (s *Server) dashboardExport(c *gin.Context) error {
	filter, err := typeFilter(c)
	if err != nil {
		return err
	}
	b := sessionOf(c).BroadcasterID
	name := "twitch-events-" + b
	if filter != "" {
		name += "-" + filter
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Header("Cache-Control", "no-store")
	sel := export.Selection{BroadcasterID: b, Type: filter}
	if err := export.Write(c.Request.Context(), c.Writer, s.store, sel, export.CSV); err != nil {
		return unavailable("The export could not be completed.", err)
	}
	return nil
}

// callbackURL is "" when events come over EventSub WebSocket sessions: there is no callback.
func (s *Server) callbackURL() string {
	if s.cfg.WebSocket() {
		return ""
	}
	return s.cfg.PublicURL.String() + "/webhooks/twitch"
}

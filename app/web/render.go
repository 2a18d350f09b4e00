package web

import (
	"context"
	"strings"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// render writes page, or fragment when htmx asks (HX-Request), and says so to caches. It is the
// one place where that choice is made.
func (s *Server) render(c *gin.Context, status int, page, fragment templ.Component) error {
	c.Header("Vary", "HX-Request")
	if fragment != nil && c.GetHeader("HX-Request") == "true" {
		return s.renderPage(c, status, fragment)
	}
	return s.renderPage(c, status, page)
}

func (s *Server) renderPage(c *gin.Context, status int, comp templ.Component) error {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	return comp.Render(c.Request.Context(), c.Writer)
}

// renderString renders a component to a string: the stream sends the same components the page uses.
func renderString(ctx context.Context, comp templ.Component) (string, error) {
	var b strings.Builder
	if err := comp.Render(ctx, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RenderLiveRow is the live renderer (PublishCommitted): once per new event, whatever the number of viewers.
func RenderLiveRow(ctx context.Context, ev store.Event) (string, error) {
	return renderString(ctx, views.EventRowItem(liveRow(ev)))
}

// liveRow is a row that reaches an open page, live or by catch-up.
func liveRow(ev store.Event) views.EventRow {
	r := presentEvent(ev)
	r.Live = true
	return r
}

// page is the view-model every full page starts from.
func (s *Server) page(c *gin.Context, title string) views.Page {
	p := views.Page{Title: title, Assets: s.pageAssets(), CSRF: csrfToken(c)}
	if sess := sessionOf(c); sess != nil {
		p.User = &views.User{BroadcasterID: sess.BroadcasterID, Login: sess.Login, DisplayName: sess.DisplayName}
	}
	return p
}

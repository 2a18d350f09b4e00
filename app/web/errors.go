package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/views"
)

// httpError is an error with the status and the message a person (or Twitch) may see. The cause
// is only logged.
type httpError struct {
	status int
	msg    string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause == nil {
		return fmt.Sprintf("%d %s", e.status, e.msg)
	}
	return fmt.Sprintf("%d %s: %v", e.status, e.msg, e.cause)
}

func (e *httpError) Unwrap() error { return e.cause }

func badRequest(msg string, cause error) error { return &httpError{http.StatusBadRequest, msg, cause} }
func forbidden(msg string, cause error) error  { return &httpError{http.StatusForbidden, msg, cause} }
func notFoundErr(msg string) error             { return &httpError{http.StatusNotFound, msg, nil} }
func unavailable(msg string, cause error) error {
	return &httpError{http.StatusServiceUnavailable, msg, cause}
}

// handle adapts a handler that returns an error to gin; fail turns the error into a response.
func (s *Server) handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err)
		}
	}
}

// fail maps err to a status and writes a page (browsers), or a line of text (htmx, Twitch,
// scripts). 5xx are logged once, with the cause; users never see internal error text.
func (s *Server) fail(c *gin.Context, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side. Please try again."
	var he *httpError
	if errors.As(err, &he) {
		status, msg = he.status, he.msg
	}
	if status >= 500 {
		s.log.Error("request failed", slog.String("method", c.Request.Method),
			slog.String("path", logPath(c)), slog.Int("status", status), slog.Any("err", err))
	}
	if c.Writer.Written() {
		return
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	if c.GetHeader("HX-Request") == "" && strings.Contains(c.GetHeader("Accept"), "text/html") {
		c.Header("Cache-Control", "no-store")
		_ = s.renderPage(c, status, views.ErrorView(views.ErrorPage{
			Page: s.page(c, http.StatusText(status)), Status: status, Heading: http.StatusText(status), Message: msg,
		}))
		return
	}
	c.Data(status, "text/plain; charset=utf-8", []byte(msg+"\n"))
}

func (s *Server) notFound(c *gin.Context) error {
	return notFoundErr("There is nothing at this address.")
}

func (s *Server) recoverPanic(c *gin.Context, rec any) {
	s.fail(c, fmt.Errorf("panic: %v", rec))
	c.Abort()
}

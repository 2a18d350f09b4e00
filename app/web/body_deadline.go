package web

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
)

const (
	// defaultBodyTimeout is how long a request body may take to arrive. Twitch sends a few KiB at
	// once and gives up on an answer after a few seconds itself, so 10 s only cuts the stragglers.
	defaultBodyTimeout = 10 * time.Second
	// formTimeoutFactor stretches it for the people's forms, whose uploads reach 24 MiB
	// (60 s by default: about 3 Mbit/s, less than a streamer's upload).
	formTimeoutFactor = 6
)

// bodyDeadline bounds how long a request's body may take to arrive. Without it a client that
// sends its headers and then a byte every few seconds holds a connection and a handler forever:
// ReadHeaderTimeout stops at the headers, and a server-wide ReadTimeout would also cut the
// long-lived SSE streams. Only a request with a body gets a deadline: for the others net/http
// is already reading the connection to notice a hang-up, and a deadline there would cancel the
// request. net/http lifts the deadline itself once the body has been read to its end.
func bodyDeadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength != 0 {
			_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(d))
		}
		c.Next()
	}
}

// slowBody is the answer to a body read that failed at the deadline, or nil for any other error.
func slowBody(err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return &httpError{http.StatusRequestTimeout, "the request body came too slowly", err}
}

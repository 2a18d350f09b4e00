package twitchtest

import (
	"net/http"
	"strings"
	"time"
)

// SetUnreachable makes Twitch unreachable, or reachable again: while it is, every request to the
// fake (OAuth and Helix) has its connection dropped without an answer, so the client sees a
// network error. Such requests are not listed by Requests. EventSub deliveries still go out.
func (f *Fake) SetUnreachable(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unreachable = on
}

// SetServerError makes every OAuth and Helix request answer status (a 5xx, as when Twitch is
// having an outage) with Twitch's error body, until it is called with 0.
func (f *Fake) SetServerError(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serverError = status
}

// ExpireCodes makes every authorization code issued so far expire, as ten minutes do: trading
// one at /token is refused with 400 "Invalid authorization code".
func (f *Fake) ExpireCodes() {
	f.mu.Lock()
	defer f.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, c := range f.codes {
		c.expires = past
	}
}

// outage answers for Twitch while it is unreachable or failing.
func (f *Fake) outage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		unreachable, status := f.unreachable, f.serverError
		f.mu.Unlock()
		switch {
		case unreachable:
			panic(http.ErrAbortHandler) // the server closes the connection without a response
		case status != 0:
			f.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/helix/") {
					helixError(w, status, "")
					return
				}
				authError(w, status, http.StatusText(status))
			})).ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// maxCeilingBody is the app's own bound on a webhook body.
const maxCeilingBody = 1 << 20

// ceilingHandler is the cheapest correct EventSub endpoint: it reads the body, checks the
// signature and the replay window with the app's own eventsub.Verify, and acknowledges. It stores
// nothing, so what it sustains bounds what any endpoint on this machine could.
func ceilingHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCeilingBody))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := eventsub.Verify(secret, r.Header, body, time.Now()); err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// measureCeiling serves ceilingHandler on a loopback port for one run of spec against it.
func measureCeiling(ctx context.Context, spec loadSpec, timeout time.Duration) (*loadResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: ceilingHandler(spec.secret), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	spec.check = false
	res, err := runLoad(ctx, spec, "http://"+ln.Addr().String()+"/webhooks/twitch")
	if err != nil {
		return nil, err
	}
	if res.statuses["204"] != len(res.latencies) {
		return nil, errors.New("load: the ceiling endpoint refused some requests (is the generator's clock right?)")
	}
	return res, nil
}

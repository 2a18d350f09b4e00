package pushertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
)

// Pusher's documented publish limits.
const (
	maxChannels      = 100   // channels per trigger
	maxBatch         = 10    // events per batch_events request
	maxDataBytes     = 10240 // data of one event
	maxNameLen       = 200   // event name
	maxChannelLen    = 164   // channel name
	maxBodyBytes     = 1 << 20
	tooLargeResponse = "Request Entity Too Large"
)

var (
	channelRe  = regexp.MustCompile(`^[-a-zA-Z0-9_=@,.;]+$`)
	socketIDRe = regexp.MustCompile(`\A\d+\.\d+\z`)
)

// publishFunc turns a verified request body into the events to record and the
// JSON value to answer with.
type publishFunc func(body []byte) ([]Event, any, error)

// publish wraps a publish endpoint with the steps every one shares: counting,
// injected failures, app lookup, authentication, recording and answering.
func (f *Fake) publish(h publishFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := f.begin(); status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		events, resp, err := f.serve(w, r, h)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = apiErr(http.StatusInternalServerError, "%v", err)
			}
			http.Error(w, ae.msg, ae.status)
			return
		}
		out, err := json.Marshal(resp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		f.record(events)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, h publishFunc) ([]Event, any, error) {
	if r.PathValue("app_id") != f.AppID {
		return nil, nil, apiErr(http.StatusNotFound, "Unknown app")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, apiErr(http.StatusRequestEntityTooLarge, tooLargeResponse)
		}
		return nil, nil, apiErr(http.StatusBadRequest, "Cannot read body: %v", err)
	}
	if err := f.authenticate(r, body); err != nil {
		return nil, nil, err
	}
	// Pusher documents only 400, 401, 403 and 413 for publishing, so a wrong
	// Content-Type is a 400 rather than a 415.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, nil, apiErr(http.StatusBadRequest, "Content-Type must be application/json")
	}
	return h(body)
}

type triggerBody struct {
	Name     string   `json:"name"`
	Data     *string  `json:"data"`
	Channels []string `json:"channels"`
	SocketID *string  `json:"socket_id"`
}

// events handles POST /apps/{app_id}/events: one event to up to 100 channels.
func (f *Fake) events(body []byte) ([]Event, any, error) {
	var tb triggerBody
	if err := decodeJSON(body, &tb); err != nil {
		return nil, nil, err
	}
	if len(tb.Channels) == 0 || len(tb.Channels) > maxChannels {
		return nil, nil, apiErr(http.StatusBadRequest, "Give between 1 and %d channels", maxChannels)
	}
	at := f.clock()
	events := make([]Event, 0, len(tb.Channels))
	for _, ch := range tb.Channels {
		e, err := newEvent(ch, tb.Name, tb.Data, tb.SocketID)
		if err != nil {
			return nil, nil, err
		}
		e.At = at
		events = append(events, e)
	}
	return events, struct{}{}, nil
}

type batchBody struct {
	Batch []struct {
		Channel  string  `json:"channel"`
		Name     string  `json:"name"`
		Data     *string `json:"data"`
		SocketID *string `json:"socket_id"`
	} `json:"batch"`
}

// batchEvents handles POST /apps/{app_id}/batch_events: up to 10 events, each
// to one channel.
func (f *Fake) batchEvents(body []byte) ([]Event, any, error) {
	var bb batchBody
	if err := decodeJSON(body, &bb); err != nil {
		return nil, nil, err
	}
	if len(bb.Batch) == 0 || len(bb.Batch) > maxBatch {
		return nil, nil, apiErr(http.StatusBadRequest, "Batch must hold between 1 and %d events", maxBatch)
	}
	at := f.clock()
	events := make([]Event, 0, len(bb.Batch))
	for _, b := range bb.Batch {
		e, err := newEvent(b.Channel, b.Name, b.Data, b.SocketID)
		if err != nil {
			return nil, nil, err
		}
		e.At = at
		events = append(events, e)
	}
	resp := struct {
		Batch []struct{} `json:"batch"`
	}{Batch: make([]struct{}, len(events))}
	return events, resp, nil
}

// newEvent checks one event against Pusher's limits.
func newEvent(channel, name string, data, socketID *string) (Event, error) {
	if name == "" || len(name) > maxNameLen {
		return Event{}, apiErr(http.StatusBadRequest, "Event name must be 1 to %d characters", maxNameLen)
	}
	if len(channel) > maxChannelLen || !channelRe.MatchString(channel) {
		return Event{}, apiErr(http.StatusBadRequest, "Invalid channel name %q", channel)
	}
	if data == nil {
		return Event{}, apiErr(http.StatusBadRequest, "Missing data")
	}
	e := Event{Channel: channel, Name: name, Data: *data}
	if socketID != nil {
		if !socketIDRe.MatchString(*socketID) {
			return Event{}, apiErr(http.StatusBadRequest, "Invalid socket_id %q", *socketID)
		}
		e.SocketID = *socketID
	}
	if len(e.Data) > maxDataBytes {
		return Event{}, apiErr(http.StatusRequestEntityTooLarge, tooLargeResponse)
	}
	return e, nil
}

// decodeJSON decodes exactly one JSON value; unknown fields (such as "info")
// are allowed, as Pusher allows them.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return apiErr(http.StatusBadRequest, "Invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(http.StatusBadRequest, "Invalid JSON: trailing data")
	}
	return nil
}

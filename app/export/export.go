// Package export writes a broadcaster's stored events as CSV or JSON, newest first, streaming
// page by page so that a long history never sits in memory.
package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// Formats supported by Write.
const (
	CSV  = "csv"
	JSON = "json"
)

const pageSize = 500

// Record is one exported event.
type Record struct {
	ID             int64           `json:"id"`
	MessageID      string          `json:"message_id"`
	SubscriptionID string          `json:"subscription_id"`
	Type           string          `json:"type"`
	Version        string          `json:"version"`
	BroadcasterID  string          `json:"broadcaster_id"`
	UserID         string          `json:"user_id"`
	UserLogin      string          `json:"user_login"`
	UserName       string          `json:"user_name"`
	OccurredAt     time.Time       `json:"occurred_at"`
	ReceivedAt     time.Time       `json:"received_at"`
	Event          json.RawMessage `json:"event"`
}

// Selection is which events Write exports: every stored event of a broadcaster (hidden ones
// too: a gift's single subs), or only those of Type.
type Selection struct {
	BroadcasterID string
	Type          string // "" for every type, else one the dashboard filters by (eventsub.KindOf)
}

// Write writes the stored events sel selects to w in format (csv, or json: one array), newest
// first by when they happened.
func Write(ctx context.Context, w io.Writer, s *store.Store, sel Selection, format string) error {
	if _, ok := eventsub.KindOf(sel.Type); sel.Type != "" && !ok {
		return fmt.Errorf("export: unknown event type %q", sel.Type)
	}
	var enc encoder
	switch format {
	case CSV:
		enc = newCSV(w)
	case JSON:
		enc = &jsonEncoder{w: w}
	default:
		return fmt.Errorf("export: unknown format %q (want csv or json)", format)
	}
	if err := enc.begin(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	var after store.Cursor
	for {
		page, err := s.Timeline(ctx, sel.BroadcasterID, sel.Type, after, pageSize)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, ev := range page {
			if err := enc.record(toRecord(ev)); err != nil {
				return fmt.Errorf("export: write: %w", err)
			}
		}
		if len(page) < pageSize {
			break
		}
		after = store.CursorOf(page[len(page)-1])
	}
	if err := enc.end(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

func toRecord(ev store.Event) Record {
	return Record{ID: ev.ID, MessageID: ev.MessageID, SubscriptionID: ev.SubscriptionID, Type: ev.Type,
		Version: ev.Version, BroadcasterID: ev.BroadcasterID, UserID: ev.UserID, UserLogin: ev.UserLogin,
		UserName: ev.UserName, OccurredAt: ev.OccurredAt.UTC(), ReceivedAt: ev.ReceivedAt.UTC(),
		Event: json.RawMessage(ev.Payload)}
}

type encoder interface {
	begin() error
	record(Record) error
	end() error
}

type csvEncoder struct{ w *csv.Writer }

func newCSV(w io.Writer) *csvEncoder { return &csvEncoder{w: csv.NewWriter(w)} }

// The CSV has the stored columns, then what a spreadsheet sums or reads from the event: one
// column per unit of amount (eventsub.Units: bits, gifted, months, viewers, points, ...) so a
// column sums one thing, the sub tier (1-3), the reward's title and the viewer's message; the
// raw event JSON stays last, for everything else.
func (e *csvEncoder) begin() error {
	header := []string{"id", "message_id", "subscription_id", "type", "version", "broadcaster_id",
		"user_id", "user_login", "user_name", "occurred_at", "received_at"}
	for _, u := range eventsub.Units {
		header = append(header, string(u))
	}
	return e.w.Write(append(header, "tier", "reward", "message", "event"))
}

func (e *csvEncoder) record(r Record) error {
	row := []string{strconv.FormatInt(r.ID, 10), r.MessageID, r.SubscriptionID, r.Type, r.Version,
		r.BroadcasterID, r.UserID, csvSafe(r.UserLogin), csvSafe(r.UserName),
		r.OccurredAt.Format(time.RFC3339Nano), r.ReceivedAt.Format(time.RFC3339Nano)}
	return e.w.Write(append(append(row, readings(r)...), string(r.Event)))
}

// readings are the columns the event kind's entry derives from the event: an amount in its
// unit's column, the tier, the reward and the message. A type the catalog does not know, or an
// event that does not parse, leaves them empty; empty, not 0, so averages count only the events
// that have the figure.
func readings(r Record) []string {
	out := make([]string, len(eventsub.Units)+3)
	k, ok := eventsub.Lookup(r.Type)
	var p eventsub.Payload
	if !ok || json.Unmarshal(r.Event, &p) != nil {
		return out
	}
	if i := slices.Index(eventsub.Units, k.Unit); i >= 0 {
		out[i] = strconv.Itoa(k.Amount(p))
	}
	n := len(eventsub.Units)
	if tier := k.Tier(p); tier > 0 {
		out[n] = strconv.Itoa(tier)
	}
	out[n+1], out[n+2] = csvSafe(k.Reward(p)), csvSafe(k.Message(p))
	return out
}

func (e *csvEncoder) end() error {
	e.w.Flush()
	return e.w.Error()
}

// csvSafe defuses spreadsheet formula injection: names and messages come from strangers. A
// cell starting with one of OWASP's trigger characters is prefixed with a quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type jsonEncoder struct {
	w io.Writer
	n int
}

func (e *jsonEncoder) begin() error {
	_, err := io.WriteString(e.w, "[")
	return err
}

func (e *jsonEncoder) record(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	sep := "\n"
	if e.n > 0 {
		sep = ",\n"
	}
	e.n++
	_, err = io.WriteString(e.w, sep+string(b))
	return err
}

func (e *jsonEncoder) end() error {
	_, err := io.WriteString(e.w, "\n]\n")
	return err
}

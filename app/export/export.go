// Package export writes a broadcaster's stored events as CSV or JSON, newest first, streaming
// page by page so that a long history never sits in memory.
package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

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

var csvHeader = []string{"id", "message_id", "subscription_id", "type", "version", "broadcaster_id",
	"user_id", "user_login", "user_name", "occurred_at", "received_at", "event"}

// Write writes every stored event of broadcasterID to w in format (csv, or json: one array),
// newest first by when they happened.
func Write(ctx context.Context, w io.Writer, s *store.Store, broadcasterID, format string) error {
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
		page, err := s.Timeline(ctx, broadcasterID, after, pageSize)
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

func (e *csvEncoder) begin() error { return e.w.Write(csvHeader) }

func (e *csvEncoder) record(r Record) error {
	return e.w.Write([]string{strconv.FormatInt(r.ID, 10), r.MessageID, r.SubscriptionID, r.Type, r.Version,
		r.BroadcasterID, r.UserID, csvSafe(r.UserLogin), csvSafe(r.UserName),
		r.OccurredAt.Format(time.RFC3339Nano), r.ReceivedAt.Format(time.RFC3339Nano), string(r.Event)})
}

func (e *csvEncoder) end() error {
	e.w.Flush()
	return e.w.Error()
}

// csvSafe defuses spreadsheet formula injection: display names come from strangers.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
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

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
)

// runCmd runs the program with args and returns what it wrote to stdout and stderr.
func runCmd(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var out, errOut lockedBuffer
	err = run(ctx, args, mapEnv(env), &out, &errOut)
	if ctx.Err() != nil {
		t.Fatalf("app %s did not finish", strings.Join(args, " "))
	}
	return out.String(), errOut.String(), err
}

// seeded is one event the export tests store and then expect back.
type seeded struct {
	ev      store.Event
	payload map[string]any
}

// seedEvents stores three events of the demo channel (a follow, a cheer whose display name and
// message start like spreadsheet formulas and whose message needs CSV quoting, a raid) and one of
// another channel.
// It returns the demo channel's events in the order they were stored (oldest first).
func seedEvents(t *testing.T, db storetest.DB) []seeded {
	t.Helper()
	st := storetest.Open(t, db)
	base := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	add := func(broadcaster, typ, userID, login, name string, at time.Time, payload map[string]any) seeded {
		raw, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		ev := store.Event{
			MessageID: eventsub.NewID(), SubscriptionID: eventsub.NewID(), Type: typ, Version: "1",
			BroadcasterID: broadcaster, UserID: userID, UserLogin: login, UserName: name,
			OccurredAt: at, ReceivedAt: at.Add(time.Second), Payload: string(raw),
		}
		if inserted, err := st.InsertEvent(context.Background(), &ev); err != nil || !inserted {
			t.Fatalf("store event: inserted=%v err=%v", inserted, err)
		}
		return seeded{ev: ev, payload: payload}
	}
	follow := add(demoBroadcaster, eventsub.ChannelFollow, "4000", "alpha_fan", "Alpha_Fan", base, map[string]any{
		"user_id": "4000", "user_login": "alpha_fan", "user_name": "Alpha_Fan", "broadcaster_user_id": demoBroadcaster,
		"followed_at": base.Format(time.RFC3339Nano),
	})
	add("42", eventsub.ChannelFollow, "5000", "other_channels_fan", "Other_Channels_Fan", base.Add(time.Minute), map[string]any{
		"user_id": "5000", "user_login": "other_channels_fan", "broadcaster_user_id": "42",
	})
	cheer := add(demoBroadcaster, eventsub.ChannelCheer, "6000", "formula_fan", "=HYPERLINK(\"http://evil\")", base.Add(2*time.Minute), map[string]any{
		"is_anonymous": false, "user_id": "6000", "user_login": "formula_fan", "bits": 100.0, "broadcaster_user_id": demoBroadcaster,
		"message": "+1 great stream, \"really\"\nsee you tomorrow",
	})
	raid := add(demoBroadcaster, eventsub.ChannelRaid, "7000", "raider_pal", "Raider_Pal", base.Add(3*time.Minute), map[string]any{
		"from_broadcaster_user_id": "7000", "from_broadcaster_user_login": "raider_pal", "to_broadcaster_user_id": demoBroadcaster, "viewers": 42.0,
	})
	return []seeded{follow, cheer, raid}
}

func TestExportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		stored := seedEvents(t, db)
		env := map[string]string{"DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL}
		out, _, err := runCmd(t, env, "export", "--broadcaster", demoBroadcaster, "--format", "csv")
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("the export is not valid CSV: %v\n%s", err, out)
		}
		wantHeader := []string{"id", "message_id", "subscription_id", "type", "version", "broadcaster_id",
			"user_id", "user_login", "user_name", "occurred_at", "received_at",
			"bits", "gifted", "months", "viewers", "points", "seconds", "level", "tier", "reward", "message", "event"}
		// the columns read from the event: a cheer's bits and message (formula-guarded), a raid's viewers
		readings := map[string]map[string]string{
			eventsub.ChannelFollow: {},
			eventsub.ChannelCheer:  {"bits": "100", "message": "'+1 great stream, \"really\"\nsee you tomorrow"},
			eventsub.ChannelRaid:   {"viewers": "42"},
		}
		if len(records) == 0 || !reflect.DeepEqual(records[0], wantHeader) {
			t.Fatalf("header = %q, want %q", records[0], wantHeader)
		}
		if got := len(records) - 1; got != len(stored) {
			t.Fatalf("%d records, want %d (the other channel's event must be left out):\n%s", got, len(stored), out)
		}
		col := map[string]int{}
		for i, name := range wantHeader {
			col[name] = i
		}
		for i, rec := range records[1:] {
			want := stored[len(stored)-1-i] // newest first
			if rec[col["id"]] != strconv.FormatInt(want.ev.ID, 10) || rec[col["message_id"]] != want.ev.MessageID {
				t.Errorf("record %d is id %s message %s, want id %d message %s (newest first)",
					i, rec[col["id"]], rec[col["message_id"]], want.ev.ID, want.ev.MessageID)
			}
			if rec[col["type"]] != want.ev.Type || rec[col["broadcaster_id"]] != demoBroadcaster || rec[col["user_login"]] != want.ev.UserLogin {
				t.Errorf("record %d = type %q broadcaster %q login %q, want %q %q %q", i,
					rec[col["type"]], rec[col["broadcaster_id"]], rec[col["user_login"]], want.ev.Type, demoBroadcaster, want.ev.UserLogin)
			}
			wantName := want.ev.UserName
			if strings.HasPrefix(wantName, "=") {
				wantName = "'" + wantName // a display name must not run as a spreadsheet formula
			}
			if rec[col["user_name"]] != wantName {
				t.Errorf("record %d user_name = %q, want %q", i, rec[col["user_name"]], wantName)
			}
			at, err := time.Parse(time.RFC3339Nano, rec[col["occurred_at"]])
			if err != nil || !at.Equal(want.ev.OccurredAt) {
				t.Errorf("record %d occurred_at = %q (%v), want %s", i, rec[col["occurred_at"]], err, want.ev.OccurredAt.Format(time.RFC3339Nano))
			}
			for _, name := range wantHeader[col["bits"]:col["event"]] {
				if got, wantCell := rec[col[name]], readings[want.ev.Type][name]; got != wantCell {
					t.Errorf("record %d (%s) %s = %q, want %q", i, rec[col["type"]], name, got, wantCell)
				}
			}
			var event map[string]any
			if err := json.Unmarshal([]byte(rec[col["event"]]), &event); err != nil || !reflect.DeepEqual(event, want.payload) {
				t.Errorf("record %d event = %s (%v), want %v", i, rec[col["event"]], err, want.payload)
			}
		}
	})
}

// --type exports one type only, as the dashboard's filter does, in either format.
func TestExportType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		stored := seedEvents(t, db)
		env := map[string]string{"DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL}
		out, _, err := runCmd(t, env, "export", "--broadcaster", demoBroadcaster, "--type", eventsub.ChannelCheer)
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(records) != 2 || records[1][0] != strconv.FormatInt(stored[1].ev.ID, 10) {
			t.Fatalf("csv export of cheers = %v (%v), want the header and the one cheer %d", records, err, stored[1].ev.ID)
		}
		out, _, err = runCmd(t, env, "export", "--broadcaster", demoBroadcaster, "--type", eventsub.ChannelRaid, "--format", "json")
		var recs []map[string]any
		if err != nil || json.Unmarshal([]byte(out), &recs) != nil || len(recs) != 1 || recs[0]["type"] != eventsub.ChannelRaid {
			t.Fatalf("json export of raids = %q, %v; want the one raid", out, err)
		}
	})
}

func TestExportJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		stored := seedEvents(t, db)
		env := map[string]string{"DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL}
		out, _, err := runCmd(t, env, "export", "--format", "json", "--broadcaster", demoBroadcaster)
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		var got []struct {
			ID         int64           `json:"id"`
			MessageID  string          `json:"message_id"`
			Type       string          `json:"type"`
			UserID     string          `json:"user_id"`
			UserLogin  string          `json:"user_login"`
			UserName   string          `json:"user_name"`
			OccurredAt time.Time       `json:"occurred_at"`
			Event      json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("the export is not a JSON array: %v\n%s", err, out)
		}
		if len(got) != len(stored) {
			t.Fatalf("%d records, want %d (the other channel's event must be left out):\n%s", len(got), len(stored), out)
		}
		for i, rec := range got {
			want := stored[len(stored)-1-i] // newest first
			if rec.ID != want.ev.ID || rec.MessageID != want.ev.MessageID || rec.Type != want.ev.Type {
				t.Errorf("record %d = id %d message %s type %s, want %d %s %s", i, rec.ID, rec.MessageID, rec.Type,
					want.ev.ID, want.ev.MessageID, want.ev.Type)
			}
			// JSON carries the names as they are: only CSV needs defusing for spreadsheets.
			if rec.UserID != want.ev.UserID || rec.UserLogin != want.ev.UserLogin || rec.UserName != want.ev.UserName {
				t.Errorf("record %d user = %q %q %q, want %q %q %q", i, rec.UserID, rec.UserLogin, rec.UserName,
					want.ev.UserID, want.ev.UserLogin, want.ev.UserName)
			}
			if !rec.OccurredAt.Equal(want.ev.OccurredAt) {
				t.Errorf("record %d occurred_at = %s, want %s", i, rec.OccurredAt, want.ev.OccurredAt)
			}
			var event map[string]any // the raw event object, not a string holding JSON
			if err := json.Unmarshal(rec.Event, &event); err != nil || !reflect.DeepEqual(event, want.payload) {
				t.Errorf("record %d event = %s (%v), want the object %v", i, rec.Event, err, want.payload)
			}
		}
	})
}

func TestExportEmptyChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		seedEvents(t, db)
		env := map[string]string{"DATA_DIR": db.DataDir, "DATABASE_URL": db.DatabaseURL}
		out, _, err := runCmd(t, env, "export", "--broadcaster", "999", "--format", "json")
		var got []json.RawMessage
		if err != nil || json.Unmarshal([]byte(out), &got) != nil || got == nil || len(got) != 0 {
			t.Errorf("json export of a channel without events = %q, %v; want an empty array", out, err)
		}
		out, _, err = runCmd(t, env, "export", "--broadcaster", "999")
		records, csvErr := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || csvErr != nil || len(records) != 1 || records[0][0] != "id" {
			t.Errorf("default (csv) export of a channel without events = %q, %v; want the header only", out, err)
		}
	})
}

func TestExportErrors(t *testing.T) {
	db := storetest.SQLite(t)
	seedEvents(t, db)
	env := map[string]string{"DATA_DIR": db.DataDir}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no broadcaster", env, []string{"export", "--format", "csv"}, "--broadcaster"},
		{"empty broadcaster", env, []string{"export", "--broadcaster", ""}, "--broadcaster"},
		{"bad format", env, []string{"export", "--broadcaster", demoBroadcaster, "--format", "xml"}, "--format"},
		{"unknown flag", env, []string{"export", "--broadcaster", demoBroadcaster, "--since", "yesterday"}, "since"},
		{"unknown type", env, []string{"export", "--broadcaster", demoBroadcaster, "--type", "channel.bits"}, "--type must be one of channel.follow,"},
		{"the app's own type", env, []string{"export", "--broadcaster", demoBroadcaster, "--type", eventsub.UserAuthorizationRevoke}, "--type"},
		{"bad database", map[string]string{"DATA_DIR": db.DataDir, "DATABASE_URL": "mysql://x"},
			[]string{"export", "--broadcaster", demoBroadcaster}, "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("app %s = %v, want an error mentioning %s", strings.Join(tt.args, " "), err, tt.want)
			}
			if out != "" {
				t.Errorf("a failed export wrote to stdout: %q", out)
			}
		})
	}
}

// TestTrigger sends signed test follows to a running app with the trigger command.
func TestTrigger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		app := startApp(t, db)
		secret := app.eventsubSecret(t)
		callback := app.URL + "/webhooks/twitch"

		out, _, err := runCmd(t, nil, "trigger", "follow", "--url", callback, "--secret", secret,
			"--broadcaster", demoBroadcaster, "--user", "cli_follower")
		if err != nil {
			t.Fatalf("trigger: %v\n%s", err, out)
		}
		lines := strings.Split(out, "\n")
		if lines[0] != "HTTP/1.1 204 No Content" {
			t.Errorf("trigger printed status %q, want HTTP/1.1 204 No Content", lines[0])
		}
		messageID, ok := strings.CutPrefix(lines[1], "message id: ")
		if !ok || messageID == "" {
			t.Fatalf("trigger did not print the message id:\n%s", out)
		}

		exported := exportJSON(t, app.Env, demoBroadcaster)
		if len(exported) != 1 || exported[0]["message_id"] != messageID || exported[0]["user_login"] != "cli_follower" ||
			exported[0]["type"] != eventsub.ChannelFollow {
			t.Errorf("stored events after trigger = %v, want the one follow by cli_follower with message id %s", exported, messageID)
		}
		if got := dashboardUsers(t, signIn(t, app.URL), app.URL); len(got) != 1 || got[0] != "cli_follower" {
			t.Errorf("dashboard after trigger = %q, want [cli_follower]", got)
		}

		// Another channel's follow goes to that channel.
		if _, _, err := runCmd(t, nil, "trigger", "follow", "--url", callback, "--secret", secret, "--broadcaster", "42"); err != nil {
			t.Fatalf("trigger for broadcaster 42: %v", err)
		}
		if n := len(exportJSON(t, app.Env, "42")); n != 1 {
			t.Errorf("broadcaster 42 has %d events after its trigger, want 1", n)
		}

		out, _, err = runCmd(t, nil, "trigger", "follow", "--url", callback, "--secret", "a-wrong-but-valid-secret",
			"--broadcaster", demoBroadcaster)
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("trigger with a wrong secret = %v, want an error naming 403", err)
		}
		if !strings.Contains(out, "403") {
			t.Errorf("trigger with a wrong secret printed %q, want the 403 status line", out)
		}
		if n := len(exportJSON(t, app.Env, demoBroadcaster)); n != 1 {
			t.Errorf("%d events stored after a refused trigger, want still 1", n)
		}
	})
}

func TestTriggerErrors(t *testing.T) {
	closed := "http://" + "127.0.0.1:" + strconv.Itoa(freePort(t)) + "/webhooks/twitch"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no secret", []string{"trigger", "follow", "--url", closed}, "--secret"},
		{"short secret", []string{"trigger", "follow", "--url", closed, "--secret", "short"}, "--secret"},
		{"no event type", []string{"trigger"}, "follow"},
		{"unknown event type", []string{"trigger", "subscribe", "--url", closed, "--secret", "s3cre7-s3cre7-s3cre7"}, "follow"},
		{"unknown flag", []string{"trigger", "follow", "--secret", "s3cre7-s3cre7-s3cre7", "--bits", "100"}, "bits"},
		{"nobody listening", []string{"trigger", "follow", "--url", closed, "--secret", "s3cre7-s3cre7-s3cre7"}, "trigger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("app %s = %v, want an error mentioning %s", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	out, _, err := runCmd(t, nil, "help")
	if err != nil || !strings.Contains(out, "app export") || !strings.Contains(out, "app trigger follow") ||
		!strings.Contains(out, "app load") || !strings.Contains(out, "app fanout") {
		t.Errorf("help = %q, %v; want the usage on stdout", out, err)
	}
	out, errOut, err := runCmd(t, nil, "frobnicate")
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("an unknown command = %v, want an error naming it", err)
	}
	if out != "" || !strings.Contains(errOut, "Usage:") {
		t.Errorf("an unknown command printed stdout %q, stderr %q; want the usage on stderr only", out, errOut)
	}
}

// exportJSON runs the export command as an operator would, next to a running app.
func exportJSON(t *testing.T, env map[string]string, broadcaster string) []map[string]any {
	t.Helper()
	out, _, err := runCmd(t, env, "export", "--broadcaster", broadcaster, "--format", "json")
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var recs []map[string]any
	if err := json.NewDecoder(bytes.NewReader([]byte(out))).Decode(&recs); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	return recs
}

package eventsub_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// The test vector from TWITCH.md, computed with openssl.
const (
	vecSecret    = "s3cre7-s3cre7-s3cre7"
	vecMessageID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
	vecTimestamp = "2023-07-19T10:11:12.634234626Z"
	vecBody      = `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},"created_at":"2019-11-16T10:11:12.634234626Z"},"event":{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","followed_at":"2020-07-15T18:16:11.17106713Z"}}`
	vecSignature = "sha256=1959ac251a84192361106b22a9058f60bfdce586daaa6c93cf80e3b27e2c2451"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return ts
}

// signedHeaders returns the three headers Verify reads, signed with secret over id+ts+body.
func signedHeaders(secret, id, ts string, body []byte) http.Header {
	h := http.Header{}
	h.Set(eventsub.HeaderMessageID, id)
	h.Set(eventsub.HeaderMessageTimestamp, ts)
	h.Set(eventsub.HeaderMessageSignature, eventsub.Signature(secret, id, ts, body))
	return h
}

func TestSignatureVector(t *testing.T) {
	if got := eventsub.Signature(vecSecret, vecMessageID, vecTimestamp, []byte(vecBody)); got != vecSignature {
		t.Fatalf("Signature = %s, want %s", got, vecSignature)
	}
}

func TestVerifyVector(t *testing.T) {
	sent := mustTime(t, vecTimestamp)
	h := http.Header{}
	// Lower-case names as they might arrive on the wire; Set canonicalises them like net/http does.
	h.Set(strings.ToLower(eventsub.HeaderMessageID), vecMessageID)
	h.Set(strings.ToLower(eventsub.HeaderMessageTimestamp), vecTimestamp)
	h.Set(strings.ToLower(eventsub.HeaderMessageSignature), vecSignature)
	for _, now := range []time.Time{sent, sent.Add(time.Second), sent.Add(9*time.Minute + 59*time.Second), sent.Add(-30 * time.Second)} {
		if err := eventsub.Verify(vecSecret, h, []byte(vecBody), now); err != nil {
			t.Errorf("Verify at %s: %v", now.Format(time.RFC3339Nano), err)
		}
	}
}

func TestVerify(t *testing.T) {
	const secret = "0123456789abcdef"
	const id = "msg-1"
	body := []byte(`{"subscription":{"id":"s","type":"channel.follow","version":"2"},"event":{}}`)
	now := mustTime(t, "2024-05-01T12:00:00.123456789Z")
	stamp := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339Nano) }
	sig := func(secret, ts string, body []byte) string { return eventsub.Signature(secret, id, ts, body) }

	changed := append([]byte(nil), body...)
	changed[len(changed)-2] = ' ' // one byte differs

	tests := []struct {
		name string
		id   string
		ts   string
		sig  string
		want error // nil means accepted
	}{
		{"current", id, stamp(0), sig(secret, stamp(0), body), nil},
		{"9 minutes old", id, stamp(-9 * time.Minute), sig(secret, stamp(-9*time.Minute), body), nil},
		{"exactly 10 minutes old", id, stamp(-10 * time.Minute), sig(secret, stamp(-10*time.Minute), body), nil},
		{"30 s in the future", id, stamp(30 * time.Second), sig(secret, stamp(30*time.Second), body), nil},
		{"timestamp without fraction", id, "2024-05-01T12:00:00Z", sig(secret, "2024-05-01T12:00:00Z", body), nil},
		{"upper-case hex", id, stamp(0), strings.ToUpper(sig(secret, stamp(0), body)), nil},

		{"missing id", "", stamp(0), sig(secret, stamp(0), body), eventsub.ErrMissingHeaders},
		{"missing timestamp", id, "", sig(secret, stamp(0), body), eventsub.ErrMissingHeaders},
		{"missing signature", id, stamp(0), "", eventsub.ErrMissingHeaders},

		{"garbage signature", id, stamp(0), "sha256=00", eventsub.ErrBadSignature},
		{"hex without prefix", id, stamp(0), strings.TrimPrefix(sig(secret, stamp(0), body), "sha256="), eventsub.ErrBadSignature},
		{"signature of other body", id, stamp(0), sig(secret, stamp(0), changed), eventsub.ErrBadSignature},
		{"wrong secret", id, stamp(0), sig("fedcba9876543210", stamp(0), body), eventsub.ErrBadSignature},
		{"signed for other id", "msg-2", stamp(0), sig(secret, stamp(0), body), eventsub.ErrBadSignature},
		{"signed for other timestamp", id, stamp(-time.Second), sig(secret, stamp(0), body), eventsub.ErrBadSignature},

		{"11 minutes old", id, stamp(-11 * time.Minute), sig(secret, stamp(-11*time.Minute), body), eventsub.ErrBadTimestamp},
		{"2 minutes in the future", id, stamp(2 * time.Minute), sig(secret, stamp(2*time.Minute), body), eventsub.ErrBadTimestamp},
		{"unparseable timestamp", id, "yesterday", sig(secret, "yesterday", body), eventsub.ErrBadTimestamp},
		{"unix seconds timestamp", id, "1714564800", sig(secret, "1714564800", body), eventsub.ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.id != "" {
				h.Set(eventsub.HeaderMessageID, tt.id)
			}
			if tt.ts != "" {
				h.Set(eventsub.HeaderMessageTimestamp, tt.ts)
			}
			if tt.sig != "" {
				h.Set(eventsub.HeaderMessageSignature, tt.sig)
			}
			err := eventsub.Verify(secret, h, body, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyEmptyHeader(t *testing.T) {
	if err := eventsub.Verify("0123456789", nil, []byte(`{}`), time.Now()); !errors.Is(err, eventsub.ErrMissingHeaders) {
		t.Fatalf("Verify(nil header): %v, want ErrMissingHeaders", err)
	}
}

func TestValidSecret(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"empty", "", false},
		{"9 chars", strings.Repeat("a", 9), false},
		{"10 chars", strings.Repeat("a", 10), true},
		{"100 chars", strings.Repeat("a", 100), true},
		{"101 chars", strings.Repeat("a", 101), false},
		{"punctuation", "s3cre7-s3cre7-s3cre7!~", true},
		{"test vector secret", vecSecret, true},
		{"non-ASCII", "sécret-sécret", false},
		{"non-ASCII that is 10 bytes", "ééééé", false},
		// The code accepts only visible ASCII (0x21-0x7e): spaces and control characters are refused,
		// which is stricter than Twitch's "ASCII" but avoids secrets mangled by trimming.
		{"inner space", "secret secret", false},
		{"leading space", " secretsecret", false},
		{"tab", "secret\tsecret", false},
		{"newline", "secretsecret\n", false},
		{"NUL", "secret\x00secret", false},
		{"DEL", "secret\x7fsecret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventsub.ValidSecret(tt.s); got != tt.want {
				t.Fatalf("ValidSecret(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

const (
	subJSON        = `{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},"created_at":"2019-11-16T10:11:12.634234626Z"}`
	pendingSubJSON = `{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"webhook_callback_verification_pending","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},"created_at":"2019-11-16T10:11:12.634234626Z"}`
	revokedSubJSON = `{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"authorization_revoked","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},"created_at":"2019-11-16T10:11:12.634234626Z"}`
)

func TestParseDropsNUL(t *testing.T) {
	body := `{"subscription":{"id":"f1c2\u0000","type":"channel.some_new\u0000thing","version":"\u00001","status":"enabled",` +
		`"condition":{"broadcaster_user_id":"13\u000037"}},` +
		`"event":{"user_id":"12\u000034","user_login":"cool\u0000_user","user_name":"\u0000Cool_User\u0000",` +
		`"kept":"a\\u0000b","quote":"\"\u0000\"","broadcaster_user_id":"1337"}}`
	m, err := eventsub.Parse(eventsub.TypeNotification, []byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s := m.Subscription
	if s.ID != "f1c2" || s.Type != "channel.some_newthing" || s.Version != "1" || s.Condition["broadcaster_user_id"] != "1337" {
		t.Errorf("subscription = %+v, want every NUL dropped", s)
	}
	if n := strings.Count(string(m.Event), `\u0000`); n != 1 { // kept's escaped backslash
		t.Errorf("raw event still carries a NUL: %s", m.Event)
	}
	var ev map[string]string
	if err := json.Unmarshal(m.Event, &ev); err != nil {
		t.Fatalf("raw event is no longer JSON: %v: %s", err, m.Event)
	}
	want := map[string]string{"user_id": "1234", "user_login": "cool_user", "user_name": "Cool_User",
		"kept": `a\u0000b`, "quote": `""`, "broadcaster_user_id": "1337"}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("event %s = %q, want %q", k, ev[k], v)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		body      string
		status    string
		challenge string
		event     bool
	}{
		{"notification", eventsub.TypeNotification, vecBody, "enabled", "", true},
		{"notification with spaces", eventsub.TypeNotification, `{"subscription": ` + subJSON + `, "event": { "user_id": "1" } }`, "enabled", "", true},
		{"verification", eventsub.TypeVerification, `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":` + pendingSubJSON + `}`, "webhook_callback_verification_pending", "pogchamp-kappa-360noscope-vohiyo", false},
		{"revocation", eventsub.TypeRevocation, `{"subscription":` + revokedSubJSON + `}`, "authorization_revoked", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := eventsub.Parse(tt.typ, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			s := m.Subscription
			if s.ID != "f1c2a387-161a-49f9-a165-0f21d7a4e1c4" || s.Type != eventsub.ChannelFollow || s.Version != "2" {
				t.Errorf("subscription = %+v", s)
			}
			if s.Status != tt.status {
				t.Errorf("Status = %q, want %q", s.Status, tt.status)
			}
			if s.Condition["broadcaster_user_id"] != "1337" || s.Transport.Method != "webhook" ||
				s.Transport.Callback != "https://example.com/webhooks/twitch" {
				t.Errorf("condition/transport = %v / %+v", s.Condition, s.Transport)
			}
			if want := mustTime(t, "2019-11-16T10:11:12.634234626Z"); !s.CreatedAt.Equal(want) {
				t.Errorf("CreatedAt = %s, want %s", s.CreatedAt, want)
			}
			if m.Challenge != tt.challenge {
				t.Errorf("Challenge = %q, want %q", m.Challenge, tt.challenge)
			}
			if got := len(m.Event) > 0; got != tt.event {
				t.Errorf("has event = %v, want %v (%s)", got, tt.event, m.Event)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	const (
		noID      = `{"type":"channel.follow","version":"2","status":"enabled","condition":{"broadcaster_user_id":"1337"}}`
		noType    = `{"id":"s1","version":"2","status":"enabled"}`
		noVersion = `{"id":"s1","type":"channel.follow","status":"enabled"}`
		event     = `{"user_id":"1"}`
	)
	tests := []struct {
		name string
		typ  string
		body string
	}{
		{"not JSON", eventsub.TypeNotification, `not json`},
		{"empty body", eventsub.TypeNotification, ``},
		{"truncated JSON", eventsub.TypeNotification, vecBody[:len(vecBody)-1]},
		{"JSON array", eventsub.TypeNotification, `[]`},
		{"JSON null", eventsub.TypeNotification, `null`},
		{"no subscription", eventsub.TypeNotification, `{"event":` + event + `}`},
		{"subscription not an object", eventsub.TypeNotification, `{"subscription":"x","event":` + event + `}`},
		{"bad created_at", eventsub.TypeNotification, `{"subscription":{"id":"s1","type":"channel.follow","version":"2","created_at":"soon"},"event":` + event + `}`},
		{"missing subscription id", eventsub.TypeNotification, `{"subscription":` + noID + `,"event":` + event + `}`},
		{"missing subscription type", eventsub.TypeNotification, `{"subscription":` + noType + `,"event":` + event + `}`},
		{"missing subscription version", eventsub.TypeNotification, `{"subscription":` + noVersion + `,"event":` + event + `}`},
		{"verification missing subscription id", eventsub.TypeVerification, `{"challenge":"c","subscription":` + noID + `}`},
		{"revocation missing subscription type", eventsub.TypeRevocation, `{"subscription":` + noType + `}`},
		{"notification without event", eventsub.TypeNotification, `{"subscription":` + subJSON + `}`},
		{"notification event null", eventsub.TypeNotification, `{"subscription":` + subJSON + `,"event":null}`},
		{"notification event array", eventsub.TypeNotification, `{"subscription":` + subJSON + `,"event":[` + event + `]}`},
		{"notification event string", eventsub.TypeNotification, `{"subscription":` + subJSON + `,"event":"{}"}`},
		{"notification event number", eventsub.TypeNotification, `{"subscription":` + subJSON + `,"event":42}`},
		{"verification without challenge", eventsub.TypeVerification, `{"subscription":` + pendingSubJSON + `}`},
		{"verification empty challenge", eventsub.TypeVerification, `{"challenge":"","subscription":` + pendingSubJSON + `}`},
		{"verification challenge not a string", eventsub.TypeVerification, `{"challenge":123,"subscription":` + pendingSubJSON + `}`},
		{"revocation without status", eventsub.TypeRevocation, `{"subscription":{"id":"s1","type":"channel.follow","version":"2"}}`},
		{"unknown message type", "notification_v2", vecBody},
		{"empty message type", "", vecBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := eventsub.Parse(tt.typ, []byte(tt.body))
			if !errors.Is(err, eventsub.ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want ErrMalformed", m, err)
			}
			if m != nil {
				t.Errorf("Parse returned a message with an error: %+v", m)
			}
		})
	}
}

func sub(typ string, condition map[string]string) eventsub.Subscription {
	return eventsub.Subscription{ID: "sub-1", Type: typ, Version: "1", Status: "enabled", Condition: condition}
}

func TestDescribe(t *testing.T) {
	bc := map[string]string{"broadcaster_user_id": "1337"}
	tests := []struct {
		name  string
		sub   eventsub.Subscription
		event string
		want  eventsub.Facts
	}{
		{
			name:  "channel.follow v2",
			sub:   eventsub.Subscription{ID: "s", Type: eventsub.ChannelFollow, Version: "2", Condition: map[string]string{"broadcaster_user_id": "1337", "moderator_user_id": "1337"}},
			event: `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","followed_at":"2020-07-15T18:16:11.17106713Z"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User", OccurredAt: time.Date(2020, 7, 15, 18, 16, 11, 171067130, time.UTC)},
		},
		{
			name:  "channel.follow with offset time is normalised to UTC",
			sub:   sub(eventsub.ChannelFollow, bc),
			event: `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","followed_at":"2020-07-15T20:16:11+02:00"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User", OccurredAt: time.Date(2020, 7, 15, 18, 16, 11, 0, time.UTC)},
		},
		{
			name:  "channel.subscribe",
			sub:   sub(eventsub.ChannelSubscribe, bc),
			event: `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","tier":"1000","is_gift":false}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User"},
		},
		{
			name:  "channel.subscription.gift",
			sub:   sub(eventsub.ChannelSubscriptionGift, bc),
			event: `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","total":2,"tier":"1000","cumulative_total":284,"is_anonymous":false}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User"},
		},
		{
			name:  "channel.subscription.gift anonymous",
			sub:   sub(eventsub.ChannelSubscriptionGift, bc),
			event: `{"user_id":null,"user_login":null,"user_name":null,"broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","total":2,"tier":"1000","cumulative_total":null,"is_anonymous":true}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "channel.cheer",
			sub:   sub(eventsub.ChannelCheer, bc),
			event: `{"is_anonymous":false,"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","message":"pogchamp","bits":1000}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User"},
		},
		{
			name:  "channel.cheer anonymous",
			sub:   sub(eventsub.ChannelCheer, bc),
			event: `{"is_anonymous":true,"user_id":null,"user_login":null,"user_name":null,"broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","message":"pogchamp","bits":1000}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "channel.raid into the streamer",
			sub:   sub(eventsub.ChannelRaid, map[string]string{"to_broadcaster_user_id": "1337"}),
			event: `{"from_broadcaster_user_id":"1234","from_broadcaster_user_login":"cool_user","from_broadcaster_user_name":"Cool_User","to_broadcaster_user_id":"1337","to_broadcaster_user_login":"cooler_user","to_broadcaster_user_name":"Cooler_User","viewers":9001}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User"},
		},
		{
			name:  "stream.online",
			sub:   sub(eventsub.StreamOnline, bc),
			event: `{"id":"9001","broadcaster_user_id":"1337","broadcaster_user_login":"cool_user","broadcaster_user_name":"Cool_User","type":"live","started_at":"2020-10-11T10:11:12.123Z"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", OccurredAt: time.Date(2020, 10, 11, 10, 11, 12, 123000000, time.UTC)},
		},
		{
			name:  "stream.offline",
			sub:   sub(eventsub.StreamOffline, bc),
			event: `{"broadcaster_user_id":"1337","broadcaster_user_login":"cool_user","broadcaster_user_name":"Cool_User"}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "channel points redemption",
			sub:   sub(eventsub.ChannelPointsRedemption, bc),
			event: `{"id":"17fa2df1-ad76-4804-bfa5-a40ef63efe63","broadcaster_user_id":"1337","broadcaster_user_login":"cool_user","broadcaster_user_name":"Cool_User","user_id":"9001","user_login":"cooler_user","user_name":"Cooler_User","user_input":"pogchamp","status":"unfulfilled","reward":{"id":"92af127c-7326-4483-a52b-b0da0be61c01","title":"title","cost":100,"prompt":"reward prompt"},"redeemed_at":"2020-07-15T17:16:03.17106713Z"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "9001", UserLogin: "cooler_user", UserName: "Cooler_User", OccurredAt: time.Date(2020, 7, 15, 17, 16, 3, 171067130, time.UTC)},
		},
		{
			name:  "user.authorization.revoke",
			sub:   sub(eventsub.UserAuthorizationRevoke, map[string]string{"client_id": "crq72vsaoijkc83xx42hz6i37"}),
			event: `{"client_id":"crq72vsaoijkc83xx42hz6i37","user_id":"1337","user_login":"cool_user","user_name":"Cool_User"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1337", UserLogin: "cool_user", UserName: "Cool_User"},
		},
		{
			name:  "user.authorization.revoke of a deleted user",
			sub:   sub(eventsub.UserAuthorizationRevoke, map[string]string{"client_id": "crq72vsaoijkc83xx42hz6i37"}),
			event: `{"client_id":"crq72vsaoijkc83xx42hz6i37","user_id":"1337","user_login":null,"user_name":null}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1337"},
		},
		{
			name:  "unknown type takes broadcaster and time from the event",
			sub:   sub("channel.goal.begin", map[string]string{"broadcaster_user_id": "1337"}),
			event: `{"id":"12345-cool-event","broadcaster_user_id":"1337","broadcaster_user_login":"cool_user","broadcaster_user_name":"Cool_User","type":"subscription","description":"Help me get partner!","current_amount":100,"target_amount":220,"started_at":"2020-07-15T17:16:03.17106713Z"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", OccurredAt: time.Date(2020, 7, 15, 17, 16, 3, 171067130, time.UTC)},
		},
		{
			name:  "unknown type prefers the event over the condition",
			sub:   sub("channel.goal.begin", map[string]string{"broadcaster_user_id": "42"}),
			event: `{"broadcaster_user_id":"1337"}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "unknown type with to_broadcaster in the event",
			sub:   sub("channel.raid.v2", nil),
			event: `{"to_broadcaster_user_id":"1337","from_broadcaster_user_id":"1234"}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "unknown type falls back to condition broadcaster_user_id",
			sub:   sub("channel.goal.begin", map[string]string{"broadcaster_user_id": "1337"}),
			event: `{"id":"12345-cool-event","current_amount":100}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "unknown type falls back to condition to_broadcaster_user_id",
			sub:   sub("channel.some_new_thing", map[string]string{"to_broadcaster_user_id": "1337"}),
			event: `{}`,
			want:  eventsub.Facts{BroadcasterID: "1337"},
		},
		{
			name:  "unknown type falls back to condition user_id",
			sub:   sub("user.update", map[string]string{"user_id": "1337"}),
			event: `{"user_id":"1337","user_login":"cool_user","user_name":"Cool_User","email":"user@email.com"}`,
			want:  eventsub.Facts{BroadcasterID: "1337", UserID: "1337", UserLogin: "cool_user", UserName: "Cool_User"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventsub.Describe(tt.sub, json.RawMessage(tt.event))
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if got.BroadcasterID != tt.want.BroadcasterID || got.UserID != tt.want.UserID ||
				got.UserLogin != tt.want.UserLogin || got.UserName != tt.want.UserName {
				t.Errorf("Describe = %+v, want %+v", got, tt.want)
			}
			if !got.OccurredAt.Equal(tt.want.OccurredAt) {
				t.Errorf("OccurredAt = %s, want %s", got.OccurredAt, tt.want.OccurredAt)
			}
			if !got.OccurredAt.IsZero() && got.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt location = %s, want UTC", got.OccurredAt.Location())
			}
		})
	}
}

func TestDescribeMalformed(t *testing.T) {
	bc := map[string]string{"broadcaster_user_id": "1337"}
	tests := []struct {
		name  string
		sub   eventsub.Subscription
		event string
	}{
		{"not JSON", sub(eventsub.ChannelFollow, bc), `nope`},
		{"empty event", sub(eventsub.ChannelFollow, bc), ``},
		{"event is an array", sub(eventsub.ChannelFollow, bc), `[]`},
		{"unknown type event is an array", sub("channel.hype_train.begin", bc), `[]`},
		{"field of the wrong type", sub(eventsub.ChannelFollow, bc), `{"user_id":1234,"broadcaster_user_id":"1337","followed_at":"2020-07-15T18:16:11Z"}`},
		{"event null for a known type", sub(eventsub.ChannelFollow, bc), `null`},

		{"follow without user", sub(eventsub.ChannelFollow, bc), `{"broadcaster_user_id":"1337","followed_at":"2020-07-15T18:16:11Z"}`},
		{"follow without broadcaster", sub(eventsub.ChannelFollow, bc), `{"user_id":"1234","followed_at":"2020-07-15T18:16:11Z"}`},
		{"follow without followed_at", sub(eventsub.ChannelFollow, bc), `{"user_id":"1234","broadcaster_user_id":"1337"}`},
		{"follow with bad followed_at", sub(eventsub.ChannelFollow, bc), `{"user_id":"1234","broadcaster_user_id":"1337","followed_at":"15/07/2020 18:16"}`},
		{"follow with date only", sub(eventsub.ChannelFollow, bc), `{"user_id":"1234","broadcaster_user_id":"1337","followed_at":"2020-07-15"}`},
		{"subscribe without broadcaster", sub(eventsub.ChannelSubscribe, bc), `{"user_id":"1234","tier":"1000"}`},
		{"gift without broadcaster", sub(eventsub.ChannelSubscriptionGift, bc), `{"user_id":null,"is_anonymous":true,"total":1}`},
		{"cheer without broadcaster", sub(eventsub.ChannelCheer, bc), `{"is_anonymous":true,"bits":100}`},
		{"raid without to_broadcaster", sub(eventsub.ChannelRaid, bc), `{"from_broadcaster_user_id":"1234","viewers":1}`},
		{"raid without from_broadcaster", sub(eventsub.ChannelRaid, bc), `{"to_broadcaster_user_id":"1337","viewers":1}`},
		{"raid with only broadcaster_user_id", sub(eventsub.ChannelRaid, bc), `{"broadcaster_user_id":"1337","user_id":"1234"}`},
		{"stream.online without started_at", sub(eventsub.StreamOnline, bc), `{"id":"9001","broadcaster_user_id":"1337","type":"live"}`},
		{"stream.online without broadcaster", sub(eventsub.StreamOnline, bc), `{"id":"9001","type":"live","started_at":"2020-10-11T10:11:12.123Z"}`},
		{"stream.online with bad started_at", sub(eventsub.StreamOnline, bc), `{"broadcaster_user_id":"1337","started_at":"yesterday"}`},
		{"stream.offline without broadcaster", sub(eventsub.StreamOffline, bc), `{}`},
		{"redemption without user", sub(eventsub.ChannelPointsRedemption, bc), `{"broadcaster_user_id":"1337","redeemed_at":"2020-07-15T17:16:03Z"}`},
		{"redemption without redeemed_at", sub(eventsub.ChannelPointsRedemption, bc), `{"broadcaster_user_id":"1337","user_id":"9001"}`},
		{"redemption without broadcaster", sub(eventsub.ChannelPointsRedemption, bc), `{"user_id":"9001","redeemed_at":"2020-07-15T17:16:03Z"}`},
		{"redemption with bad redeemed_at", sub(eventsub.ChannelPointsRedemption, bc), `{"broadcaster_user_id":"1337","user_id":"9001","redeemed_at":"1594833363"}`},
		{"authorization revoke without user", sub(eventsub.UserAuthorizationRevoke, map[string]string{"client_id": "c"}), `{"client_id":"c","user_id":null}`},
		// Stored, it would belong to no streamer: nobody could see or delete it.
		{"unknown type with no broadcaster anywhere", sub("channel.some_new_thing", nil), `{"whatever":1}`},
		{"unknown type with bad started_at", sub("channel.hype_train.begin", bc), `{"broadcaster_user_id":"1337","started_at":"not a time"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventsub.Describe(tt.sub, json.RawMessage(tt.event))
			if !errors.Is(err, eventsub.ErrMalformed) {
				t.Fatalf("Describe = %+v, %v; want ErrMalformed", got, err)
			}
			if got != (eventsub.Facts{}) {
				t.Errorf("Describe returned facts with an error: %+v", got)
			}
		})
	}
}

// TestDescribeVector runs the TWITCH.md test vector through Verify, Parse and Describe, the way the
// webhook handler does.
func TestDescribeVector(t *testing.T) {
	h := signedHeaders(vecSecret, vecMessageID, vecTimestamp, []byte(vecBody))
	if got := h.Get(eventsub.HeaderMessageSignature); got != vecSignature {
		t.Fatalf("signature = %s, want %s", got, vecSignature)
	}
	if err := eventsub.Verify(vecSecret, h, []byte(vecBody), mustTime(t, vecTimestamp).Add(time.Minute)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	m, err := eventsub.Parse(eventsub.TypeNotification, []byte(vecBody))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	f, err := eventsub.Describe(m.Subscription, m.Event)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	want := eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User",
		OccurredAt: mustTime(t, "2020-07-15T18:16:11.17106713Z")}
	if f != want {
		t.Fatalf("Describe = %+v, want %+v", f, want)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		id := eventsub.NewID()
		if !uuidRE.MatchString(id) {
			t.Fatalf("NewID() = %q, not a v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewFollow(t *testing.T) {
	const secret = "a-very-secret-secret"
	const callback = "https://tev.example.com/webhooks/twitch"
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*60*60))
	broadcaster := eventsub.Follower{ID: "1337", Login: "cooler_user", Name: "Cooler_User"}
	follower := eventsub.Follower{ID: "1234", Login: "cool_user", Name: "Cool_User"}

	out, err := eventsub.NewFollow(secret, callback, broadcaster, follower, now)
	if err != nil {
		t.Fatalf("NewFollow: %v", err)
	}

	headers := map[string]string{
		eventsub.HeaderMessageType:         eventsub.TypeNotification,
		eventsub.HeaderMessageRetry:        "0",
		eventsub.HeaderMessageTimestamp:    now.UTC().Format(time.RFC3339Nano),
		eventsub.HeaderSubscriptionType:    eventsub.ChannelFollow,
		eventsub.HeaderSubscriptionVersion: "2",
		"Content-Type":                     "application/json",
	}
	for k, want := range headers {
		if got := out.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if id := out.Header.Get(eventsub.HeaderMessageID); !uuidRE.MatchString(id) {
		t.Errorf("message id %q is not UUID-shaped", id)
	}
	sig := out.Header.Get(eventsub.HeaderMessageSignature)
	if !regexp.MustCompile(`^sha256=[0-9a-f]{64}$`).MatchString(sig) {
		t.Errorf("signature %q is not sha256= and lower-case hex", sig)
	}

	t.Run("verifies", func(t *testing.T) {
		for _, at := range []time.Time{now, now.Add(5 * time.Minute), now.Add(-30 * time.Second)} {
			if err := eventsub.Verify(secret, out.Header, out.Body, at); err != nil {
				t.Errorf("Verify at %s: %v", at, err)
			}
		}
		if err := eventsub.Verify("another-secret-entirely", out.Header, out.Body, now); !errors.Is(err, eventsub.ErrBadSignature) {
			t.Errorf("Verify with another secret: %v, want ErrBadSignature", err)
		}
		if err := eventsub.Verify(secret, out.Header, out.Body, now.Add(11*time.Minute)); !errors.Is(err, eventsub.ErrBadTimestamp) {
			t.Errorf("Verify 11 minutes later: %v, want ErrBadTimestamp", err)
		}
	})

	t.Run("parses and describes", func(t *testing.T) {
		m, err := eventsub.Parse(out.Header.Get(eventsub.HeaderMessageType), out.Body)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		s := m.Subscription
		if !uuidRE.MatchString(s.ID) || s.ID == out.Header.Get(eventsub.HeaderMessageID) {
			t.Errorf("subscription id %q: want a UUID distinct from the message id", s.ID)
		}
		if s.Type != eventsub.ChannelFollow || s.Version != "2" || s.Status != "enabled" {
			t.Errorf("subscription = %+v", s)
		}
		if s.Condition["broadcaster_user_id"] != "1337" || s.Condition["moderator_user_id"] != "1337" {
			t.Errorf("condition = %v", s.Condition)
		}
		if s.Transport.Method != "webhook" || s.Transport.Callback != callback || s.Transport.Secret != "" {
			t.Errorf("transport = %+v (the secret must never be in a message)", s.Transport)
		}
		if !s.CreatedAt.Before(now) {
			t.Errorf("CreatedAt %s is not before %s", s.CreatedAt, now)
		}
		if strings.Contains(string(out.Body), secret) {
			t.Errorf("body contains the secret: %s", out.Body)
		}

		f, err := eventsub.Describe(s, m.Event)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		want := eventsub.Facts{BroadcasterID: "1337", UserID: "1234", UserLogin: "cool_user", UserName: "Cool_User", OccurredAt: now.UTC()}
		if f != want {
			t.Errorf("Describe = %+v, want %+v", f, want)
		}

		var ev map[string]any
		if err := json.Unmarshal(m.Event, &ev); err != nil {
			t.Fatalf("event: %v", err)
		}
		if ev["broadcaster_user_login"] != "cooler_user" || ev["broadcaster_user_name"] != "Cooler_User" {
			t.Errorf("event broadcaster fields = %v", ev)
		}
	})

	t.Run("request", func(t *testing.T) {
		req, err := out.Request(callback)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		if req.Method != http.MethodPost || req.URL.String() != callback {
			t.Errorf("request = %s %s", req.Method, req.URL)
		}
		if req.ContentLength != int64(len(out.Body)) {
			t.Errorf("ContentLength = %d, want %d", req.ContentLength, len(out.Body))
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		if string(body) != string(out.Body) {
			t.Errorf("body = %s, want %s", body, out.Body)
		}
		for k := range out.Header {
			if got, want := req.Header.Get(k), out.Header.Get(k); got != want {
				t.Errorf("request header %s = %q, want %q", k, got, want)
			}
		}
		if err := eventsub.Verify(secret, req.Header, body, now); err != nil {
			t.Errorf("Verify request: %v", err)
		}
	})

	t.Run("bad url", func(t *testing.T) {
		if _, err := out.Request("http://bad host/\x7f"); err == nil {
			t.Error("Request with an invalid URL: want error")
		}
	})

	t.Run("fresh ids", func(t *testing.T) {
		again, err := eventsub.NewFollow(secret, callback, broadcaster, follower, now)
		if err != nil {
			t.Fatalf("NewFollow: %v", err)
		}
		if again.Header.Get(eventsub.HeaderMessageID) == out.Header.Get(eventsub.HeaderMessageID) {
			t.Error("two follows share a message id")
		}
	})
}

func TestSign(t *testing.T) {
	now := mustTime(t, vecTimestamp)
	s := eventsub.Subscription{ID: "s", Type: eventsub.ChannelFollow, Version: "2"}
	out := eventsub.Sign(vecSecret, eventsub.TypeNotification, vecMessageID, s, []byte(vecBody), now)
	if got := out.Header.Get(eventsub.HeaderMessageSignature); got != vecSignature {
		t.Errorf("signature = %s, want %s", got, vecSignature)
	}
	if got := out.Header.Get(eventsub.HeaderMessageTimestamp); got != vecTimestamp {
		t.Errorf("timestamp = %s, want %s", got, vecTimestamp)
	}
	if string(out.Body) != vecBody {
		t.Errorf("body changed")
	}
}

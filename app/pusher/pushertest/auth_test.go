package pushertest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func setQuery(r *http.Request, key, value string) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	q.Set(key, value)
	r.URL.RawQuery = q.Encode()
}

func replaceBody(r *http.Request, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
}

func TestRejected(t *testing.T) {
	const forged = `{"name":"evil","data":"x","channels":["chat"]}`
	tests := []struct {
		name   string
		url    func(f *Fake) string
		tamper func(*http.Request)
		clock  time.Duration // added to the fake's clock
		status int
		text   string
	}{
		{
			name: "modified signature",
			tamper: func(r *http.Request) {
				sig := r.URL.Query().Get("auth_signature")
				setQuery(r, "auth_signature", strings.Repeat("0", len(sig)))
			},
			status: http.StatusUnauthorized, text: "Invalid signature",
		},
		{
			name:   "modified body",
			tamper: func(r *http.Request) { replaceBody(r, forged) },
			status: http.StatusUnauthorized, text: "Invalid body_md5",
		},
		{
			name: "modified body with matching md5",
			tamper: func(r *http.Request) {
				replaceBody(r, forged)
				sum := md5.Sum([]byte(forged))
				setQuery(r, "body_md5", hex.EncodeToString(sum[:]))
			},
			status: http.StatusUnauthorized, text: "Invalid signature",
		},
		{
			name:   "modified timestamp",
			tamper: func(r *http.Request) { setQuery(r, "auth_timestamp", "1700000000") },
			status: http.StatusUnauthorized, text: "Timestamp expired",
		},
		{
			name:   "clock ahead by more than 600s",
			clock:  601 * time.Second,
			status: http.StatusUnauthorized, text: "Timestamp expired",
		},
		{
			name:   "clock behind by more than 600s",
			clock:  -601 * time.Second,
			status: http.StatusUnauthorized, text: "Timestamp expired",
		},
		{
			name:   "wrong auth_version",
			tamper: func(r *http.Request) { setQuery(r, "auth_version", "2.0") },
			status: http.StatusUnauthorized, text: "auth_version",
		},
		{
			name:   "wrong secret",
			url:    func(f *Fake) string { return strings.Replace(f.PusherURL(), ":"+f.Secret+"@", ":nope@", 1) },
			status: http.StatusUnauthorized, text: "Invalid signature",
		},
		{
			name:   "unknown key",
			url:    func(f *Fake) string { return strings.Replace(f.PusherURL(), f.Key+":", "other:", 1) },
			status: http.StatusUnauthorized, text: "Unknown auth_key",
		},
		{
			name:   "wrong app id",
			url:    func(f *Fake) string { return strings.TrimSuffix(f.PusherURL(), f.AppID) + "1" },
			status: http.StatusNotFound, text: "Unknown app",
		},
		{
			name:   "wrong content type",
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			status: http.StatusBadRequest, text: "Content-Type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(t)
			if tt.clock != 0 {
				f.setNow(func() time.Time { return time.Now().Add(tt.clock) })
			}
			pusherURL := f.PusherURL()
			if tt.url != nil {
				pusherURL = tt.url(f)
			}
			c, s := newClient(t, pusherURL, tt.tamper)
			if err := c.Trigger("chat", "message", "hello"); err == nil {
				t.Fatal("Trigger succeeded, want an error")
			}
			status, body := s.last()
			if status != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("answer = %d %q, want %d containing %q", status, body, tt.status, tt.text)
			}
			if n := len(f.Events()); n != 0 {
				t.Errorf("fake recorded %d events, want none", n)
			}
			if n := f.Requests(); n != 1 {
				t.Errorf("Requests() = %d, want 1", n)
			}
		})
	}
}

func TestClockSkewWithinLimit(t *testing.T) {
	f := New(t)
	f.setNow(func() time.Time { return time.Now().Add(590 * time.Second) })
	c, _ := newClient(t, f.PusherURL(), nil)
	if err := c.Trigger("chat", "message", "hello"); err != nil {
		t.Fatalf("Trigger with 590s skew: %v", err)
	}
}

// signedPost signs body the way pusher-http-go does, for requests the real
// client refuses to build. TestRejected and the fake_test.go tests show the real client and the fake
// agree on signing, so this does not merely test the fake against itself.
func signedPost(t *testing.T, f *Fake, endpoint, body string) (int, string) {
	t.Helper()
	path := "/apps/" + f.AppID + "/" + endpoint
	sum := md5.Sum([]byte(body))
	params := map[string]string{
		"auth_key":       f.Key,
		"auth_timestamp": fmt.Sprint(time.Now().Unix()),
		"auth_version":   "1.0",
		"body_md5":       hex.EncodeToString(sum[:]),
	}
	toSign := stringToSign("POST", path, params)
	mac := hmac.New(sha256.New, []byte(f.Secret))
	mac.Write([]byte(toSign))
	q := url.Values{"auth_signature": {hex.EncodeToString(mac.Sum(nil))}}
	for k, v := range params {
		q.Set(k, v)
	}
	resp, err := http.Post(f.URL+path+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

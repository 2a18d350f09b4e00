package config_test

import (
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/tokenbox"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDemoDefaultsKeepGeneratedSecrets(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Demo() || c.Port != 8080 || c.DatabaseURL != "" || c.DemoBroadcasterID != "1337" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.PublicURL.String() != "http://localhost:8080" || c.SecureCookies() {
		t.Fatalf("PublicURL = %s", c.PublicURL)
	}
	if len(c.EventSubSecret) < 10 || len(c.SessionSecret) < 32 {
		t.Fatal("secrets not generated")
	}
	again, err := config.Load(env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if again.EventSubSecret != c.EventSubSecret || again.SessionSecret != c.SessionSecret {
		t.Fatal("restart changed the generated secrets")
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	twitch := map[string]string{"TWITCH_CLIENT_ID": "id", "TWITCH_CLIENT_SECRET": "s", "TOKEN_KEY": tokenbox.NewKey(),
		"EVENTSUB_SECRET": "0123456789", "SESSION_SECRET": strings.Repeat("x", 32)}
	with := func(k, v string) map[string]string {
		m := map[string]string{"DATA_DIR": t.TempDir()}
		for k, v := range twitch {
			m[k] = v
		}
		m[k] = v
		return m
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{with("PORT", "http"), "PORT"},
		{with("PORT", "70000"), "PORT"},
		{with("DATABASE_URL", "mysql://x"), "DATABASE_URL"},
		{with("EVENTSUB_SECRET", "short"), "EVENTSUB_SECRET"},
		{with("EVENTSUB_SECRET", strings.Repeat("a", 101)), "EVENTSUB_SECRET"},
		{with("EVENTSUB_SECRET", ""), "EVENTSUB_SECRET"},
		{with("SESSION_SECRET", "short"), "SESSION_SECRET"},
		{with("PUBLIC_URL", "localhost:8080"), "PUBLIC_URL"},
		{with("TWITCH_API_URL", "ftp://x"), "TWITCH_API_URL"},
		{with("TWITCH_AUTH_URL", "/relative"), "TWITCH_AUTH_URL"},
		{with("EVENTSUB_TRANSPORT", "carrier-pigeon"), "EVENTSUB_TRANSPORT"},
		{with("TWITCH_EVENTSUB_WS_URL", "https://eventsub.example/ws"), "TWITCH_EVENTSUB_WS_URL"},
		{with("TWITCH_CLIENT_SECRET", ""), "TWITCH_CLIENT_SECRET"},
		{with("DEMO_BROADCASTER_ID", "abc"), "DEMO_BROADCASTER_ID"},
		{with("LOG_LEVEL", "loud"), "LOG_LEVEL"},
		{with("OVERLAY_MAX_AGE", "2"), "OVERLAY_MAX_AGE"},
		{with("OVERLAY_ALERT_DURATION", "-1s"), "OVERLAY_ALERT_DURATION"},
		{with("OVERLAY_FLOOD_FOLLOWS", "0"), "OVERLAY_FLOOD_FOLLOWS"},
		{with("OVERLAY_FLOOD_WINDOW", "soon"), "OVERLAY_FLOOD_WINDOW"},
		{with("TOKEN_KEY", ""), "TOKEN_KEY"},
		{with("TOKEN_KEY", "c2hvcnQ="), "TOKEN_KEY"},
		{with("METRICS_TOKEN", "short"), "METRICS_TOKEN"},
		{with("METRICS_TOKEN", "a token with spaces in it"), "METRICS_TOKEN"},
		{with("STREAMS_PER_SESSION", "0"), "STREAMS_PER_SESSION"},
		{with("STREAMS_PER_ADDRESS", "many"), "STREAMS_PER_ADDRESS"},
		{with("STREAMS_MAX", "-5"), "STREAMS_MAX"},
		{with("TRUSTED_PROXIES", "10.0.0.0/8,proxy.example.com"), "TRUSTED_PROXIES"},
		{with("TRUSTED_PROXIES", "10.0.0.0/33"), "TRUSTED_PROXIES"},
		{with("CLIENT_IP_HEADER", "Fly-Client-IP"), "CLIENT_IP_HEADER"},
	}
	for _, tc := range cases {
		_, err := config.Load(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.want, err, tc.want)
		}
	}
	c, err := config.Load(env(with("PUBLIC_URL", "https://events.example.com/")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo() || !c.SecureCookies() || c.PublicURL.String() != "https://events.example.com" || c.TokenBox == nil {
		t.Fatalf("twitch config: %+v", c)
	}
}

func TestPusherURL(t *testing.T) {
	for _, bad := range []string{
		"pusher.example.com",                            // not a URL
		"ftp://key:topsecret@pusher.example.com/apps/1", // not http(s)
		"https://pusher.example.com/apps/1",             // no key and secret
		"https://key@pusher.example.com/apps/1",         // no secret
		"https://key:topsecret@pusher.example.com/apps", // no app id
		"https://key:topsecret@pusher.example.com/apps/abc",
	} {
		_, err := config.Load(env(map[string]string{"DATA_DIR": t.TempDir(), "PUSHER_URL": bad}))
		if err == nil || !strings.Contains(err.Error(), "PUSHER_URL") {
			t.Errorf("PUSHER_URL=%s: err = %v, want one naming PUSHER_URL", bad, err)
		} else if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("PUSHER_URL=%s: the error repeats the secret: %v", bad, err)
		}
	}
	good := "https://key:topsecret@pusher.example.com:8443/apps/123"
	c, err := config.Load(env(map[string]string{"DATA_DIR": t.TempDir(), "PUSHER_URL": good}))
	if err != nil || c.PusherURL != good {
		t.Fatalf("PUSHER_URL=%s: %q, %v", good, c.PusherURL, err)
	}
}

func TestStreamLimits(t *testing.T) {
	c, err := config.Load(env(map[string]string{"DATA_DIR": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StreamsPerSession != 20 || c.StreamsPerAddress != 100 || c.StreamsMax != 0 {
		t.Fatalf("defaults: per session %d, per address %d, max %d; want 20, 100 and 0 (derived at start-up)",
			c.StreamsPerSession, c.StreamsPerAddress, c.StreamsMax)
	}
	if len(c.TrustedProxies) != 0 || c.ClientIPHeader != "" {
		t.Fatalf("proxies by default: %v %q, want none: the peer is the client", c.TrustedProxies, c.ClientIPHeader)
	}
	c, err = config.Load(env(map[string]string{"DATA_DIR": t.TempDir(), "STREAMS_PER_SESSION": "3",
		"STREAMS_PER_ADDRESS": "7", "STREAMS_MAX": "5000", "TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1,fdaa::/16 "}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StreamsPerSession != 3 || c.StreamsPerAddress != 7 || c.StreamsMax != 5000 {
		t.Fatalf("set: per session %d, per address %d, max %d", c.StreamsPerSession, c.StreamsPerAddress, c.StreamsMax)
	}
	if strings.Join(c.TrustedProxies, " ") != "10.0.0.0/8 127.0.0.1 fdaa::/16" || c.ClientIPHeader != "X-Forwarded-For" {
		t.Fatalf("proxies: %v %q, want the three and X-Forwarded-For", c.TrustedProxies, c.ClientIPHeader)
	}
	c, err = config.Load(env(map[string]string{"DATA_DIR": t.TempDir(), "TRUSTED_PROXIES": "172.16.0.0/12", "CLIENT_IP_HEADER": "Fly-Client-IP"}))
	if err != nil || c.ClientIPHeader != "Fly-Client-IP" {
		t.Fatalf("CLIENT_IP_HEADER: %q, %v", c.ClientIPHeader, err)
	}
}

func TestDefaultStreamsMax(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{
		{1024, 691}, {65536, 58752}, {1048576, 943488}, {256, 1}, {0, 1}, {^uint64(0), 1 << 20},
	} {
		if got := config.DefaultStreamsMax(tc.nofile); got != tc.want {
			t.Errorf("DefaultStreamsMax(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
}

func TestEventSubTransport(t *testing.T) {
	cases := []struct {
		transport, publicURL string
		want                 string
	}{
		{"", "http://localhost:8080", config.TransportWebSocket},
		{"auto", "https://localhost", config.TransportWebSocket},
		{"", "https://127.0.0.1", config.TransportWebSocket},
		{"", "https://192.168.1.20", config.TransportWebSocket},
		{"", "https://events.example.com:8443", config.TransportWebSocket},
		{"", "http://events.example.com", config.TransportWebSocket},
		{"", "https://events.example.com", config.TransportWebhook},
		{"", "https://events.example.com:443", config.TransportWebhook},
		{"webhook", "http://localhost:8080", config.TransportWebhook},
		{"websocket", "https://events.example.com", config.TransportWebSocket},
	}
	for _, tc := range cases {
		c, err := config.Load(env(map[string]string{"DATA_DIR": t.TempDir(), "EVENTSUB_TRANSPORT": tc.transport, "PUBLIC_URL": tc.publicURL}))
		if err != nil {
			t.Fatalf("%q %s: %v", tc.transport, tc.publicURL, err)
		}
		if c.EventSubTransport != tc.want || c.TransportReason == "" || c.WebSocket() != (tc.want == config.TransportWebSocket) {
			t.Errorf("EVENTSUB_TRANSPORT=%q PUBLIC_URL=%s: %q (%s), want %q", tc.transport, tc.publicURL, c.EventSubTransport, c.TransportReason, tc.want)
		}
		if c.EventSubWSURL.String() != config.DefaultEventSubWSURL {
			t.Errorf("TWITCH_EVENTSUB_WS_URL default %s", c.EventSubWSURL)
		}
	}
}

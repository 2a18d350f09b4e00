package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// EventSub transports.
const (
	TransportWebhook   = "webhook"
	TransportWebSocket = "websocket"
	TransportAuto      = "auto"
)

// DefaultEventSubWSURL is Twitch's EventSub WebSocket endpoint.
const DefaultEventSubWSURL = "wss://eventsub.wss.twitch.tv/ws"

// chooseTransport is the EventSub transport for EVENTSUB_TRANSPORT and PUBLIC_URL, and why.
// Twitch delivers webhooks only to HTTPS on port 443 at a public address; anywhere else (a
// streamer's own PC) only the WebSocket transport can work.
func chooseTransport(setting string, public *url.URL) (transport, reason string, err error) {
	switch setting {
	case TransportWebhook:
		return TransportWebhook, "EVENTSUB_TRANSPORT=webhook", nil
	case TransportWebSocket:
		return TransportWebSocket, "EVENTSUB_TRANSPORT=websocket", nil
	case "", TransportAuto:
	default:
		return "", "", fmt.Errorf("EVENTSUB_TRANSPORT must be webhook, websocket or auto, got %q", setting)
	}
	if public == nil {
		return TransportWebhook, "", nil // PUBLIC_URL is invalid; that error is reported
	}
	switch {
	case public.Scheme != "https":
		return TransportWebSocket, "PUBLIC_URL is not HTTPS, so Twitch cannot deliver webhooks to it", nil
	case public.Port() != "" && public.Port() != "443":
		return TransportWebSocket, "PUBLIC_URL is not on port 443, so Twitch cannot deliver webhooks to it", nil
	case privateHost(public.Hostname()):
		return TransportWebSocket, "PUBLIC_URL's host is local or private, so Twitch cannot reach it", nil
	}
	return TransportWebhook, "PUBLIC_URL is public HTTPS on port 443", nil
}

// privateHost reports whether host is loopback, private, link-local or a local name.
func privateHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".lan") || !strings.Contains(host, ".") && !strings.Contains(host, ":") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

func parseWSURL(errs *[]error, name, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		*errs = append(*errs, fmt.Errorf("%s must be an absolute ws(s) URL, got %q", name, raw))
		return nil
	}
	return u
}

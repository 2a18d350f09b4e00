package web

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLogged bounds every value a stranger controls (a header, a path) in a log line: without
// it one request could write a megabyte of log.
const maxLogged = 128

// clip is s cut to maxLogged bytes on a character boundary, saying how long it was.
func clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	cut := maxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// maskOverlay hides what follows an "overlay" segment of an unmatched path: the overlay token
// is a credential, and a mistyped or pasted-twice overlay URL may carry it anywhere after it.
func maskOverlay(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if strings.EqualFold(seg, "overlay") && i+1 < len(segs) {
			return strings.Join(segs[:i+1], "/") + "/…"
		}
	}
	return path
}

// refusalWindow is how often refused webhooks may write a line: strangers send them at will.
const refusalWindow = time.Minute

// refusals writes at most one warning per refusalWindow about refused webhooks, with the
// number refused since the last line.
type refusals struct {
	mu      sync.Mutex
	last    time.Time // of the last line written; zero: none yet
	skipped int       // refusals since that line that wrote none
}

// refusedKey marks a refused webhook in the gin context: its request line is left to note.
const refusedKey = "tev.webhook_refused"

func (r *refusals) note(log *slog.Logger, now time.Time, reason, messageID string) {
	r.mu.Lock()
	if !r.last.IsZero() && now.Sub(r.last) < refusalWindow {
		r.skipped++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	r.mu.Unlock()
	log.Warn("webhook refused", slog.String("reason", clip(reason)), slog.String("message_id", clip(messageID)),
		slog.Int("refused_since_last_line", skipped))
}

package eventsubws

import (
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	for n := range 20 {
		want := maxBackoff
		if n < 8 {
			want = min(minBackoff<<n, maxBackoff)
		}
		for range 50 {
			if d := backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if backoff(100) > 2*time.Minute {
		t.Fatal("backoff not capped")
	}
}

func TestCloseMeanings(t *testing.T) {
	for code := websocket.StatusCode(4000); code <= 4007; code++ {
		if closeMeaning(code) == "" {
			t.Errorf("close code %d has no meaning", code)
		}
	}
	if closeMeaning(websocket.StatusNormalClosure) != "" {
		t.Error("1000 is not Twitch's")
	}
}

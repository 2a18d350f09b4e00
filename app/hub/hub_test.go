package hub_test

import (
	"testing"

	"github.com/twitch-event-viewer/tev/app/hub"
)

func TestPublishReachesOnlyThatBroadcaster(t *testing.T) {
	h := hub.New(4)
	a1, a2, b := h.Subscribe("a"), h.Subscribe("a"), h.Subscribe("b")
	defer a1.Close()
	defer a2.Close()
	defer b.Close()
	h.Publish(hub.Message{BroadcasterID: "a", EventID: 1, HTML: "<li>1</li>"})
	for _, s := range []*hub.Subscription{a1, a2} {
		if m := <-s.C; m.EventID != 1 || m.HTML != "<li>1</li>" {
			t.Fatalf("got %+v", m)
		}
	}
	select {
	case m := <-b.C:
		t.Fatalf("broadcaster b received %+v", m)
	default:
	}
	if !h.Watched("a") || h.Watched("c") {
		t.Fatal("Watched is wrong")
	}
}

func TestSlowSubscriberIsDroppedWithoutBlocking(t *testing.T) {
	h := hub.New(2)
	slow := h.Subscribe("a")
	for i := range 5 { // more than the buffer; must not block
		h.Publish(hub.Message{BroadcasterID: "a", EventID: int64(i + 1)})
	}
	n := 0
	for range slow.C { // closed after the buffered messages
		n++
	}
	if n != 2 {
		t.Fatalf("slow subscriber got %d messages before being dropped, want 2", n)
	}
	slow.Close() // safe after a drop
	if h.Subscribers() != 0 || h.Watched("a") {
		t.Fatalf("dropped subscriber still registered")
	}
}

func TestCloseTwice(t *testing.T) {
	h := hub.New(1)
	s := h.Subscribe("a")
	s.Close()
	s.Close()
	if _, ok := <-s.C; ok {
		t.Fatal("channel open after Close")
	}
	h.Publish(hub.Message{BroadcasterID: "a"}) // no subscriber, no panic
}

func TestOverlaysCountsOnlyOverlayStreams(t *testing.T) {
	h := hub.New(4)
	dash, o1, o2 := h.Subscribe("a"), h.SubscribeOverlay("a"), h.SubscribeOverlay("a")
	other := h.SubscribeOverlay("b")
	defer dash.Close()
	defer other.Close()
	if n := h.Overlays("a"); n != 2 {
		t.Fatalf("Overlays(a) = %d, want 2", n)
	}
	o1.Close()
	o2.Close()
	if n := h.Overlays("a"); n != 0 {
		t.Fatalf("Overlays(a) after both closed = %d, want 0", n)
	}
}

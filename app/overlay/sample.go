package overlay

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// ErrNotAlert: the type is not one the overlay plays.
var ErrNotAlert = errors.New("overlay: not an alert type")

// Sample is an unstored event of typ in which viewer acts in broadcaster's channel at now: what
// a test alert and the settings preview play. It has no id, so it never moves a stream's cursor.
func Sample(typ string, broadcaster, viewer eventsub.Follower, now time.Time) (store.Event, error) {
	if k, ok := eventsub.KindOf(typ); !ok || k.Alert == eventsub.NoAlert {
		return store.Event{}, fmt.Errorf("%w: %q", ErrNotAlert, typ)
	}
	raw, err := eventsub.SampleEvent(typ, broadcaster, viewer, now)
	if err != nil {
		return store.Event{}, fmt.Errorf("overlay: sample %s: %w", typ, err)
	}
	payload, err := json.Marshal(raw)
	if err != nil {
		return store.Event{}, fmt.Errorf("overlay: sample %s: %w", typ, err)
	}
	return store.Event{Type: typ, BroadcasterID: broadcaster.ID, UserID: viewer.ID, UserLogin: viewer.Login,
		UserName: viewer.Name, OccurredAt: now, ReceivedAt: now, Payload: string(payload)}, nil
}

package doorbell

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// maxPayload bounds one notification's JSON. PostgreSQL refuses payloads of 8000 bytes or more;
// the rest is headroom.
const maxPayload = 7000

// batch is one notification: the sender and its signals, each kept as sent so that a receiver
// skips one it cannot read instead of the whole batch.
type batch struct {
	Instance string            `json:"i"`
	Signals  []json.RawMessage `json:"s"`
}

// batchOverhead is the JSON of a batch around its signals, commas included.
func batchOverhead(instance string, signals int) int {
	empty, _ := json.Marshal(batch{Instance: instance, Signals: []json.RawMessage{}})
	return len(empty) + max(signals-1, 0)
}

// notify sends sigs in as few notifications as fit under maxPayload, in order.
func (b *Bell) notify(ctx context.Context, sigs []Signal) error {
	ch, err := b.channelName(ctx)
	if err != nil {
		return fmt.Errorf("doorbell: %w", err)
	}
	payloads, err := pack(b.instance, sigs)
	if err != nil {
		return err
	}
	for _, p := range payloads {
		if err := b.st.Notify(ctx, ch, p); err != nil {
			return fmt.Errorf("doorbell: %w", err)
		}
	}
	return nil
}

// pack encodes sigs into payloads of at most maxPayload bytes.
func pack(instance string, sigs []Signal) ([]string, error) {
	var out []string
	cur := batch{Instance: instance}
	flush := func() error {
		if len(cur.Signals) == 0 {
			return nil
		}
		p, err := json.Marshal(cur)
		if err != nil {
			return fmt.Errorf("doorbell: encode: %w", err)
		}
		out = append(out, string(p))
		cur.Signals = nil
		return nil
	}
	size := 0 // of cur.Signals
	for _, s := range sigs {
		raw, err := encode(s, maxPayload-batchOverhead(instance, 1))
		if err != nil {
			return nil, err
		}
		if batchOverhead(instance, len(cur.Signals)+1)+size+len(raw) > maxPayload {
			if err := flush(); err != nil {
				return nil, err
			}
			size = 0
		}
		cur.Signals = append(cur.Signals, raw)
		size += len(raw)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// encode is s's JSON in at most limit bytes. A test alert's event too big to travel (its payload
// is a few hundred bytes; only an absurd user name or message gets here) loses its raw payload
// first, then the event itself: receivers treat a test alert without an event as nothing to
// play, and one without a payload plays with the type's default wording (amounts left out).
func encode(s Signal, limit int) (json.RawMessage, error) {
	raw, err := json.Marshal(s)
	if err == nil && len(raw) > limit && s.Overlay.Test != nil {
		ev := *s.Overlay.Test
		ev.Payload = "{}"
		s.Overlay.Test = &ev
		if raw, err = json.Marshal(s); err == nil && len(raw) > limit {
			s.Overlay.Test = nil
			raw, err = json.Marshal(s)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("doorbell: encode %s signal: %w", s.Kind, err)
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("doorbell: %s signal of %d bytes does not fit a notification", s.Kind, len(raw))
	}
	return raw, nil
}

// decode reads a notification; from is its sender's instance id.
func decode(payload string) (from string, sigs []Signal, err error) {
	var bt batch
	if err := json.Unmarshal([]byte(payload), &bt); err != nil {
		return "", nil, fmt.Errorf("doorbell: decode notification: %w", err)
	}
	for _, raw := range bt.Signals {
		var s Signal
		if e := json.Unmarshal(raw, &s); e != nil {
			err = fmt.Errorf("doorbell: decode signal: %w", e)
			continue
		}
		sigs = append(sigs, s)
	}
	return bt.Instance, sigs, err
}

// channelName is the NOTIFY channel of the store's schema, looked up once.
func (b *Bell) channelName(ctx context.Context) (string, error) {
	b.mu.Lock()
	ch := b.channel
	b.mu.Unlock()
	if ch != "" {
		return ch, nil
	}
	schema, err := b.st.CurrentSchema(ctx)
	if err != nil {
		return "", err
	}
	ch = channelFor(schema)
	b.mu.Lock()
	b.channel = ch
	b.mu.Unlock()
	return ch, nil
}

// channelFor names the channel of a schema: the instances of one deployment share it, another
// deployment on the same database (another schema) never hears them. Channel names are
// identifiers, at most 63 bytes: a long schema name is hashed.
func channelFor(schema string) string {
	const prefix = "tev_doorbell_"
	if len(prefix)+len(schema) <= 63 {
		return prefix + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return prefix + hex.EncodeToString(sum[:16])
}

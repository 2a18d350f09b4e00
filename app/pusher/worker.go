package pusher

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	api "github.com/pusher/pusher-http-go/v5"

	"github.com/twitch-event-viewer/tev/app/store"
)

// BatchSize is the most events Pusher takes in one batch call.
const BatchSize = 10

// Defaults of WorkerOptions.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultPoll       = time.Second
	// lease is how long a claimed entry is hidden from other publishers: far longer than one
	// request, so only a publisher that died lets it go.
	lease = 2 * time.Minute
)

// Outbox is the part of the store the worker uses.
type Outbox interface {
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.Outboxed, error)
	DoneOutbox(ctx context.Context, eventIDs []int64) error
	FailOutbox(ctx context.Context, entries []store.OutboxEntry, now time.Time, reason string, backoff func(int) time.Duration) error
	OutboxWake() <-chan struct{}
}

// WorkerOptions tune the worker; zero values take the defaults.
type WorkerOptions struct {
	MinBackoff time.Duration // wait after the first failure, doubling after each further one
	MaxBackoff time.Duration
	Poll       time.Duration // how often the outbox is checked without a wake-up (other instances, retries)
}

// Worker publishes the outbox: claimed entries in batches, deleted only once Pusher accepted them.
type Worker struct {
	outbox Outbox
	client *Client
	log    *slog.Logger
	opts   WorkerOptions
}

// NewWorker makes a worker publishing outbox through client.
func NewWorker(outbox Outbox, client *Client, log *slog.Logger, opts WorkerOptions) *Worker {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	return &Worker{outbox: outbox, client: client, log: log, opts: opts}
}

// Run publishes until ctx ends: at once after a new event, and at every poll.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	for {
		w.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-w.outbox.OutboxWake():
		case <-t.C:
		}
	}
}

// drain publishes batch after batch while full batches are due.
func (w *Worker) drain(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := w.PublishDue(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("pusher: publishing failed, will retry", "err", err)
			}
			return
		}
		if n < BatchSize {
			return
		}
	}
}

// PublishDue claims up to one batch of due entries and publishes it in one call. It reports how
// many entries it handled; on failure they are backed off and the error returned.
func (w *Worker) PublishDue(ctx context.Context) (int, error) {
	claimed, err := w.outbox.ClaimOutbox(ctx, time.Now(), BatchSize, lease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	var (
		batch   []api.Event
		entries []store.OutboxEntry
		ids     []int64
	)
	for _, c := range claimed {
		ids = append(ids, c.EventID)
		data, err := Data(c.Event)
		ch := Channel(c.Event.BroadcasterID)
		if err != nil || !channelName.MatchString(ch) {
			// Pusher would refuse it forever, and with it the whole batch: dropped, said once.
			w.log.Error("pusher: event cannot be published, dropped", "event_id", c.EventID, "channel", ch, "err", err)
			continue
		}
		batch = append(batch, api.Event{Channel: ch, Name: c.Event.Type, Data: data})
		entries = append(entries, c.OutboxEntry)
	}
	if len(batch) > 0 {
		if _, err := w.client.api.TriggerBatch(batch); err != nil {
			reason := describe(err)
			// The attempt is recorded even when ctx just ended, so a restart backs off too.
			if ferr := w.outbox.FailOutbox(context.WithoutCancel(ctx), entries, time.Now(), reason, w.backoff); ferr != nil {
				return 0, errors.Join(errors.New(reason), ferr)
			}
			return 0, errors.New(reason)
		}
	}
	// Published: deleted even when ctx just ended, or a restart would publish them again.
	if err := w.outbox.DoneOutbox(context.WithoutCancel(ctx), ids); err != nil {
		return 0, err
	}
	return len(claimed), nil
}

// backoff is the wait after a given number of failed attempts: MinBackoff doubling to MaxBackoff.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.opts.MinBackoff
	for i := 1; i < attempts && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxBackoff)
}

// describe is the error as it may be logged and shown: a transport error's URL carries the app
// key and a signature, so only its cause is kept; long answers are cut.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// Kept as valid UTF-8 without NULs: PostgreSQL stores nothing else as TEXT.
	s := []rune(strings.ReplaceAll(strings.ToValidUTF8(err.Error(), "?"), "\x00", ""))
	if len(s) > 300 {
		s = append(s[:300], '…')
	}
	return "pusher: " + string(s)
}

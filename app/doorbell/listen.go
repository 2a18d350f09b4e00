package doorbell

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// appName is the LISTEN connection's application_name, as pg_stat_activity shows it.
	appName = "tev-doorbell"
	// pingEvery is how long the connection may stay quiet before it is checked: a connection
	// that died without a word (a NAT dropped it, the server vanished) is noticed this late.
	pingEvery = 30 * time.Second
	// opTimeout bounds connecting, LISTEN and each ping.
	opTimeout = 10 * time.Second
	// Reconnecting waits minBackoff after a failure, doubling up to maxBackoff; a connection
	// that lived longer than maxBackoff starts the next round at minBackoff again.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run receives the other instances' signals until ctx ends, and then returns nil. On PostgreSQL
// it holds a connection of its own that LISTENs on the channel, made again after any failure;
// each time it is made (the first time too) a Resync is rung locally, since signals sent while
// it was down are lost. On SQLite it only waits for ctx.
func (b *Bell) Run(ctx context.Context) error {
	if b.st == nil {
		<-ctx.Done()
		return nil
	}
	delay := minBackoff
	connects := 0
	for {
		var up time.Time
		err := b.listen(ctx, func() {
			up = time.Now()
			if connects++; connects > 1 {
				b.met.DoorbellReconnect()
				b.log.Info("doorbell: listening again")
			}
			b.dispatch([]Signal{{Kind: Resync}})
		})
		if ctx.Err() != nil {
			return nil
		}
		if !up.IsZero() && time.Since(up) > maxBackoff {
			delay = minBackoff
		}
		b.log.Warn("doorbell: LISTEN connection lost; other instances' signals wait for it", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, maxBackoff)
	}
}

// listen connects, LISTENs, calls connected and hands every notification to the handlers
// until the connection fails or ctx ends.
func (b *Bell) listen(ctx context.Context, connected func()) error {
	conn, listenSQL, err := b.connect(ctx)
	if err != nil {
		return err
	}
	defer func() {
		b.pid.Store(0)
		closeConn(conn)
	}()
	b.pid.Store(conn.PgConn().PID())
	connected()
	for {
		wctx, cancel := context.WithTimeout(ctx, b.pingEvery)
		n, err := conn.WaitForNotification(wctx)
		quiet := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && quiet && !conn.IsClosed():
			// The ping repeats the LISTEN (a no-op for the server), so that pg_stat_activity
			// keeps showing which channel this connection serves.
			pctx, cancel := context.WithTimeout(ctx, opTimeout)
			_, err = conn.Exec(pctx, listenSQL)
			cancel()
			if err != nil {
				return fmt.Errorf("doorbell: ping: %w", err)
			}
		case err != nil:
			return fmt.Errorf("doorbell: wait for notification: %w", err)
		default:
			b.receive(n.Payload)
		}
	}
}

// connect opens the LISTEN connection; listenSQL is its LISTEN statement.
func (b *Bell) connect(ctx context.Context) (conn *pgx.Conn, listenSQL string, err error) {
	cfg, err := pgx.ParseConfig(b.st.DatabaseURL())
	if err != nil {
		return nil, "", fmt.Errorf("doorbell: database URL: %w", err)
	}
	cfg.RuntimeParams["application_name"] = appName
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ch, err := b.channelName(octx)
	if err != nil {
		return nil, "", fmt.Errorf("doorbell: %w", err)
	}
	conn, err = pgx.ConnectConfig(octx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("doorbell: connect: %w", err)
	}
	listenSQL = "LISTEN " + pgx.Identifier{ch}.Sanitize()
	if _, err := conn.Exec(octx, listenSQL); err != nil {
		closeConn(conn)
		return nil, "", fmt.Errorf("doorbell: %s: %w", listenSQL, err)
	}
	return conn, listenSQL, nil
}

// receive dispatches another instance's notification; this bell's own were dispatched when rung.
func (b *Bell) receive(payload string) {
	from, sigs, err := decode(payload)
	if from == b.instance {
		return
	}
	if err != nil {
		b.log.Warn("doorbell: unreadable signal skipped", "err", err)
	}
	b.dispatch(sigs)
}

// closeConn says goodbye to the server, briefly: the connection may be dead.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

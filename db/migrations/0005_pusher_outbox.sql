-- Events waiting to be published to Pusher, written in the same transaction as the event, so a
-- stored event is published even when the app stops before Pusher answers. A row is deleted once
-- Pusher accepted it; until then next_attempt_at is when a publisher may take it (again): a
-- publisher moves it forward while it holds the row, and backs it off after a failure.
CREATE TABLE pusher_outbox (
    event_id        BIGINT      PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT        NOT NULL DEFAULT ''
);

CREATE INDEX pusher_outbox_due_idx ON pusher_outbox (next_attempt_at, event_id);

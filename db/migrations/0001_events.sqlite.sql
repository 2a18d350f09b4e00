-- SQLite: AUTOINCREMENT so an id is never reused after deletions (viewers resume by id).
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT        NOT NULL UNIQUE,
    subscription_id TEXT        NOT NULL,
    type            TEXT        NOT NULL,
    version         TEXT        NOT NULL,
    broadcaster_id  TEXT        NOT NULL,
    user_id         TEXT        NOT NULL DEFAULT '',
    user_login      TEXT        NOT NULL DEFAULT '',
    user_name       TEXT        NOT NULL DEFAULT '',
    occurred_at     TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    payload         TEXT        NOT NULL
);

-- The dashboard, the stream catch-up and export all read one broadcaster's events by id.
CREATE INDEX events_broadcaster_id_idx ON events (broadcaster_id, id);

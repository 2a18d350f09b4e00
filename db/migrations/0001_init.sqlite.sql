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

CREATE TABLE eventsub_subscriptions (
    id             TEXT        PRIMARY KEY,
    type           TEXT        NOT NULL,
    version        TEXT        NOT NULL,
    broadcaster_id TEXT        NOT NULL DEFAULT '',
    condition      TEXT        NOT NULL DEFAULT '{}',
    status         TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash     TEXT        PRIMARY KEY,
    broadcaster_id TEXT        NOT NULL,
    login          TEXT        NOT NULL,
    display_name   TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

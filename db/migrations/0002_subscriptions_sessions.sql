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

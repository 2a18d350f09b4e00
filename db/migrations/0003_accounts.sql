-- Streamers who signed in with Twitch. Tokens are sealed by the app (AES-GCM, TOKEN_KEY) before
-- they reach this table.
CREATE TABLE accounts (
    broadcaster_id    TEXT        PRIMARY KEY,
    login             TEXT        NOT NULL,
    display_name      TEXT        NOT NULL,
    profile_image_url TEXT        NOT NULL DEFAULT '',
    access_token      TEXT        NOT NULL DEFAULT '',
    refresh_token     TEXT        NOT NULL DEFAULT '',
    token_expires_at  TIMESTAMPTZ NULL,
    scopes            TEXT        NOT NULL DEFAULT '',
    status            TEXT        NOT NULL DEFAULT 'ok',
    status_reason     TEXT        NOT NULL DEFAULT '',
    history_cursor    TEXT        NOT NULL DEFAULT '',
    history_complete  BOOLEAN     NOT NULL DEFAULT FALSE,
    validated_at      TIMESTAMPTZ NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- Where an event came from: a webhook, or the follower history fetched from Helix.
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook';

-- The same real-world event reached us twice by different roads (a follow both backfilled and
-- delivered live): one row. NULL for events that have no such identity; NULLs never collide.
ALTER TABLE events ADD COLUMN dedupe_key TEXT NULL;
CREATE UNIQUE INDEX events_dedupe_key_idx ON events (broadcaster_id, dedupe_key);

-- Subscriptions the app manages: when Twitch last told us something, and what went wrong.
ALTER TABLE eventsub_subscriptions ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE eventsub_subscriptions ADD COLUMN created_at TIMESTAMPTZ NULL;

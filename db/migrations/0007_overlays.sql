-- Each streamer's OBS overlay. The secret URL's token is never stored, only its SHA-256: a
-- leaked database does not leak working overlay URLs. Rotating replaces the hash.
CREATE TABLE overlays (
    broadcaster_id TEXT        PRIMARY KEY,
    token_hash     TEXT        NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL,
    -- Safe mode: follow alerts off (a follow bot is at work); follows are still stored and listed.
    safe_mode      BOOLEAN     NOT NULL DEFAULT FALSE
);

-- Each instance's open streams per broadcaster and kind ("dashboard", "overlay"), so that the
-- overlay panel counts the streams of every instance sharing the database. An instance rewrites
-- its rows when its counts change, bumps updated_at while it runs and deletes its rows when it
-- stops; rows of an instance that died stop counting once updated_at is older than the TTL.
CREATE TABLE stream_presence (
    instance       TEXT        NOT NULL,
    broadcaster_id TEXT        NOT NULL,
    kind           TEXT        NOT NULL,
    viewers        INTEGER     NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance, broadcaster_id, kind)
);

CREATE INDEX stream_presence_broadcaster_idx ON stream_presence (broadcaster_id, kind);

-- The event types each streamer chose to receive. No row: the type's default (follows on,
-- the rest off), so streamers who never chose keep what they had.
CREATE TABLE event_types (
    broadcaster_id TEXT        NOT NULL,
    type           TEXT        NOT NULL,
    enabled        BOOLEAN     NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (broadcaster_id, type)
);

-- Events kept (and exported) but not shown as rows of their own: the subs of a gift, which
-- the gift's own event tells as one row.
ALTER TABLE events ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- How each alert type looks and sounds (image, sound, volume, layout, colours, font size, tiers
-- by amount), as JSON; '' the defaults.
ALTER TABLE overlay_alerts ADD COLUMN style TEXT NOT NULL DEFAULT '';

-- Images and sounds a streamer uploaded for their alerts. The id is random: the overlay page (which
-- has no session) loads /media/{id}, and an id names one upload's bytes forever.
CREATE TABLE overlay_media (
    id             TEXT        PRIMARY KEY,
    broadcaster_id TEXT        NOT NULL,
    content_type   TEXT        NOT NULL, -- sniffed from the bytes, never taken from the upload
    sha256         TEXT        NOT NULL, -- hex, the ETag
    data           BYTEA       NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX overlay_media_broadcaster ON overlay_media (broadcaster_id);

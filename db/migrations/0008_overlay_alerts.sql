-- Each streamer's alert settings per event type. No row: the type's defaults (on, the
-- dashboard's wording, OVERLAY_ALERT_DURATION).
CREATE TABLE overlay_alerts (
    broadcaster_id   TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    enabled          BOOLEAN NOT NULL,
    template         TEXT    NOT NULL DEFAULT '', -- '' the dashboard's wording
    duration_seconds INTEGER NOT NULL DEFAULT 0,  -- 0 the default duration
    PRIMARY KEY (broadcaster_id, type)
);

-- The streamer's own CSS for the overlay page, set as a <style> element's text.
ALTER TABLE overlays ADD COLUMN custom_css TEXT NOT NULL DEFAULT '';

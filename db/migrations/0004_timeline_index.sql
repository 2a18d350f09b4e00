-- The dashboard and export list a broadcaster's events by when they happened (follower history
-- fetched later still sorts by its follow time); id breaks ties and keeps paging stable.
CREATE INDEX events_broadcaster_timeline_idx ON events (broadcaster_id, occurred_at, id);

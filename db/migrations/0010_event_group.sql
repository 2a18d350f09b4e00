-- Messages that tell one thing as it changes (a hype train's begin, progress and end) share a
-- group key: all are kept (and exported), the newest of the group is the one row shown.
ALTER TABLE events ADD COLUMN group_key TEXT;

CREATE INDEX events_group_idx ON events (broadcaster_id, group_key) WHERE group_key IS NOT NULL;

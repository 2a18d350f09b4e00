-- The overlay's rules for heavy traffic, off by default (0 / FALSE). queue_max: at most this many
-- alerts wait, the oldest waiting is dropped (and counted) past it. queue_busy_seconds: while
-- others wait, an alert shows at most this long. queue_combine: waiting alerts of one type
-- without a viewer's message play as one ("5 new subscribers").
ALTER TABLE overlays ADD COLUMN queue_max INTEGER NOT NULL DEFAULT 0;
ALTER TABLE overlays ADD COLUMN queue_busy_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE overlays ADD COLUMN queue_combine BOOLEAN NOT NULL DEFAULT FALSE;

-- What each open overlay page last reported about its queue, so that a dashboard on any instance
-- shows it. A page reports each change (at most about once a second) and every few seconds
-- besides; a row not updated for the TTL is a page that closed, and is left out and deleted.
CREATE TABLE overlay_queue_state (
    broadcaster_id TEXT        NOT NULL,
    page_id        TEXT        NOT NULL, -- random, per page load
    paused         BOOLEAN     NOT NULL,
    waiting        INTEGER     NOT NULL, -- alerts waiting, the one on screen not counted
    behind_ms      BIGINT      NOT NULL, -- the waiting alerts' time on screen, summed
    dropped        INTEGER     NOT NULL, -- alerts dropped by queue_max since the page loaded
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (broadcaster_id, page_id)
);

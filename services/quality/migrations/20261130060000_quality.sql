-- Quality's timeline: every order-related event it heard, one row per (order, event). An
-- event about two orders (a rebooked copy names its original) is a row on each. The inbox
-- makes a delivery apply once; the key makes a second delivery of the same event (a
-- producer publishing it twice under the same id) a no-op as well.
CREATE TABLE timeline (
    order_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- When it happened in business time (the event's own time when it carries one).
    at BIGINT NOT NULL,
    -- Who did it: an account id, or the context that decided it (matching).
    actor TEXT,
    summary TEXT NOT NULL,
    -- The event's data as published (JSON).
    data TEXT NOT NULL,
    PRIMARY KEY (order_id, event_id)
);

-- Each order's file, folded from its timeline rows alone (never from anything else), so a
-- projection rebuilt from the streams equals the live one. The columns are what managers
-- search by; `file` is the whole file (JSON).
CREATE TABLE order_files (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    client_id TEXT,
    worker_id TEXT,
    service_type_id TEXT,
    scheduled_at BIGINT,
    file TEXT NOT NULL
);
CREATE INDEX order_files_by_client ON order_files (client_id, order_id);
CREATE INDEX order_files_by_worker ON order_files (worker_id, order_id);
CREATE INDEX order_files_by_status ON order_files (status, order_id);
CREATE INDEX order_files_by_scheduled ON order_files (scheduled_at);

-- The review queue: failed and canceled orders enter by themselves, completed ones when a
-- random sample draws them. An order enters once, so a sample never draws it again.
CREATE TABLE queue (
    order_id TEXT PRIMARY KEY,
    -- failed | canceled | sampled
    reason TEXT NOT NULL,
    draw_id TEXT,
    entered_at BIGINT NOT NULL
);
CREATE INDEX queue_by_entered ON queue (entered_at, order_id);

-- Random samples of completed orders, kept for audit: who drew, when, the seed and how
-- many orders were candidates, so the draw can be repeated by hand and checked.
CREATE TABLE draws (
    id TEXT PRIMARY KEY,
    drawn_by TEXT NOT NULL,
    drawn_at BIGINT NOT NULL,
    seed BIGINT NOT NULL,
    size BIGINT NOT NULL,
    candidates BIGINT NOT NULL
);
CREATE TABLE draw_orders (
    draw_id TEXT NOT NULL REFERENCES draws (id),
    position BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (draw_id, position)
);

-- One review per order; its text lives in revisions, appended, never changed.
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The latest revision's number (1 for a new review).
    revision BIGINT NOT NULL
);
CREATE UNIQUE INDEX reviews_by_order ON reviews (order_id);
CREATE TABLE review_revisions (
    review_id TEXT NOT NULL REFERENCES reviews (id),
    revision BIGINT NOT NULL,
    author TEXT NOT NULL,
    written_at BIGINT NOT NULL,
    what_happened TEXT NOT NULL,
    client_contacted INTEGER NOT NULL,
    client_contact TEXT NOT NULL,
    findings TEXT NOT NULL,
    verdict TEXT NOT NULL,
    PRIMARY KEY (review_id, revision)
);

-- The register of hypotheses for the business, tagged, linked to the reviews that support
-- them.
CREATE TABLE hypotheses (
    id TEXT PRIMARY KEY,
    statement TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE hypothesis_tags (
    hypothesis_id TEXT NOT NULL REFERENCES hypotheses (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (hypothesis_id, tag)
);
CREATE INDEX hypothesis_tags_by_tag ON hypothesis_tags (tag);
CREATE TABLE review_hypotheses (
    review_id TEXT NOT NULL REFERENCES reviews (id),
    hypothesis_id TEXT NOT NULL REFERENCES hypotheses (id),
    linked_by TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (review_id, hypothesis_id)
);
CREATE INDEX review_hypotheses_by_hypothesis ON review_hypotheses (hypothesis_id);

-- A worker's skill adjusted in Matching from a review: one per (review, skill). `pending`
-- while Matching is being called (the row claims the adjustment, so two managers do not
-- both call), `done` with Matching's audit entry after.
CREATE TABLE adjustments (
    review_id TEXT NOT NULL REFERENCES reviews (id),
    skill TEXT NOT NULL,
    delta BIGINT NOT NULL,
    worker_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    matching_adjustment_id TEXT,
    level_from BIGINT,
    level_to BIGINT,
    adjusted_by TEXT NOT NULL,
    adjusted_at BIGINT NOT NULL,
    PRIMARY KEY (review_id, skill)
);

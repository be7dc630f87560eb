-- Rebooked orders: the original, and the workers who must not be picked (JSON array of ids).
ALTER TABLE reference_samples ADD COLUMN excluded_workers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE reference_samples ADD COLUMN rebook_of TEXT;
-- JSON: total, best possible total, runners-up and the one-line summary of the decision.
ALTER TABLE reference_samples ADD COLUMN details TEXT;
-- When the order left the bookings (completed, canceled, failed).
ALTER TABLE reference_samples ADD COLUMN closed_at BIGINT;

-- How each normal sample's jobs ended, one row per order (so a redelivery changes nothing).
CREATE TABLE sample_results (
    order_id TEXT PRIMARY KEY,
    worker_id TEXT NOT NULL,
    -- completed | no_show
    outcome TEXT NOT NULL,
    service_type_name TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX sample_results_by_worker ON sample_results (worker_id, recorded_at);

-- Audit of every change to a normal sample's skill levels: who, when, from, to, why.
CREATE TABLE sample_adjustments (
    id TEXT PRIMARY KEY,
    worker_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    -- NULL: the skill was not there before / was removed.
    from_level BIGINT,
    to_level BIGINT,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    -- A caller's Idempotency-Key: a retried adjustment is applied once.
    idempotency_key TEXT
);
CREATE INDEX sample_adjustments_by_worker ON sample_adjustments (worker_id, at);
CREATE UNIQUE INDEX sample_adjustments_idempotency ON sample_adjustments (worker_id, idempotency_key);

-- Every change to normal samples or their bookings, in commit order (written under the
-- matching lock), so each replica's in-memory roster reloads only what changed.
CREATE TABLE roster_changes (
    seq BIGINT PRIMARY KEY,
    worker_id TEXT NOT NULL,
    at BIGINT NOT NULL
);

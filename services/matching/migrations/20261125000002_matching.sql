-- Normal samples: the workers Matching can assign.
CREATE TABLE normal_samples (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    available INTEGER NOT NULL,
    -- JSON object: skill -> level 0..100.
    skills TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Reference samples: orders to match, pending until a worker is assigned.
CREATE TABLE reference_samples (
    order_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    worker_id TEXT,
    price BIGINT,
    assignment_version BIGINT NOT NULL,
    -- JSON: every step's scores for the chosen worker.
    explanation TEXT,
    fallback INTEGER NOT NULL,
    candidates BIGINT NOT NULL,
    -- The order.requested envelope, so a later match keeps its correlation and trace.
    cause TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    assigned_at BIGINT
);
CREATE INDEX reference_samples_pending ON reference_samples (status, requested_at);
CREATE INDEX reference_samples_by_worker ON reference_samples (worker_id, scheduled_at);

CREATE TABLE service_types (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    skill TEXT NOT NULL,
    price BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    service_type_id TEXT NOT NULL REFERENCES service_types (id),
    description TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    status TEXT NOT NULL,
    worker_id TEXT,
    price BIGINT,
    -- The newest Matching assignment applied (its aggregate_version); older ones are stale.
    assignment_version BIGINT NOT NULL,
    -- This order's own aggregate version: one more for every event it publishes.
    version BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    activated_at BIGINT,
    -- The client's Idempotency-Key, so a retried request returns the first order.
    idempotency_key TEXT
);
CREATE UNIQUE INDEX orders_idempotency ON orders (client_id, idempotency_key);
CREATE INDEX orders_by_client ON orders (client_id, requested_at);
CREATE INDEX orders_by_status ON orders (status);

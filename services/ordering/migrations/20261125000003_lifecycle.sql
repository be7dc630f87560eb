-- The whole lifecycle: check-in, completion, cancel, failure, rebook, history.
ALTER TABLE service_types ADD COLUMN retired_at BIGINT;

-- What the client ordered, kept on the order: catalog edits do not rewrite old orders.
ALTER TABLE orders ADD COLUMN service_type_name TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN skill TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN approximate_price BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN checked_in_at BIGINT;
ALTER TABLE orders ADD COLUMN completed_at BIGINT;
ALTER TABLE orders ADD COLUMN canceled_at BIGINT;
ALTER TABLE orders ADD COLUMN failed_at BIGINT;
ALTER TABLE orders ADD COLUMN check_in_photo TEXT;
ALTER TABLE orders ADD COLUMN report_photo TEXT;
ALTER TABLE orders ADD COLUMN reason TEXT;
ALTER TABLE orders ADD COLUMN rebook_of TEXT;
ALTER TABLE orders ADD COLUMN rebooked_as TEXT;
-- JSON array of worker ids Matching must not send.
ALTER TABLE orders ADD COLUMN excluded_workers TEXT NOT NULL DEFAULT '[]';

UPDATE orders SET
    service_type_name = (SELECT t.name FROM service_types t WHERE t.id = orders.service_type_id),
    skill = (SELECT t.skill FROM service_types t WHERE t.id = orders.service_type_id),
    approximate_price = (SELECT t.price FROM service_types t WHERE t.id = orders.service_type_id);

CREATE INDEX orders_by_worker ON orders (worker_id, status, scheduled_at);
-- The no-show sweep: open orders by scheduled time.
CREATE INDEX orders_due ON orders (status, scheduled_at);

-- Every status change: what it became, when, by whom, why.
CREATE TABLE order_history (
    order_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT,
    note TEXT,
    PRIMARY KEY (order_id, version)
);

-- People Ordering mails (clients) or names (workers), kept from IAM's account events.
CREATE TABLE people (
    account_id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL
);

-- Idempotency keys of requests that create something or move money: the first request's
-- hash and response, stored in the transaction of its effect (see messaging::idempotency).
-- A row is inserted as a placeholder (status 0) when a request claims its key and gets its
-- response before that transaction commits, so a committed row always has one.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Every message the platform sends: stored first, delivered by the deliverer with retries.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    -- Who submitted it (a service account or an admin) and their idempotency key.
    sender TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    -- JSON object of the variables it was rendered with.
    variables TEXT NOT NULL,
    -- Rendered at submission, so a retry sends exactly the same message.
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    -- queued | sent | dead
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE UNIQUE INDEX messages_idempotency ON messages (sender, idempotency_key);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
CREATE INDEX messages_by_recipient ON messages (recipient, created_at);

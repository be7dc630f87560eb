-- The accounts IAM announces (iam.account.created / iam.account.changed), by e-mail: when a
-- candidate who already has an account is hired, the worker id is that account's id, so
-- one person keeps one identity across contexts.
CREATE TABLE people (
    account_id TEXT PRIMARY KEY,
    -- Normalized (trimmed, lower case), as IAM stores it and as applications keep it.
    email TEXT NOT NULL,
    -- The account's aggregate version: an older event delivered late changes nothing.
    version BIGINT NOT NULL
);
CREATE INDEX people_by_email ON people (email);

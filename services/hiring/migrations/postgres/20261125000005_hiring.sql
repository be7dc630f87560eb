-- Tests managers write: multiple-choice questions with an answer key, measuring one
-- characteristic (a skill), with a pass mark.
CREATE TABLE tests (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    characteristic TEXT NOT NULL,
    -- Percent of questions to answer right to pass.
    pass_mark BIGINT NOT NULL,
    -- JSON array of {text, choices: [..], answer: index}.
    questions TEXT NOT NULL,
    retired_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    age BIGINT NOT NULL,
    breed TEXT NOT NULL,
    coat_colour TEXT NOT NULL,
    email TEXT NOT NULL,
    -- The candidate's photo (PNG, JPEG or WebP, checked by content) and its media type.
    photo BYTEA NOT NULL,
    photo_type TEXT NOT NULL,
    -- open | accepted | declined
    status TEXT NOT NULL,
    -- The e-mail while the application is open (NULL after): one open application per address.
    open_email TEXT UNIQUE,
    decline_reason TEXT,
    worker_id TEXT,
    -- SHA-256 of the private link's token for taking the assigned tests; its expiry.
    link_hash TEXT UNIQUE,
    link_expires_at BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX applications_by_status ON applications (status, created_at);

-- The tests assigned to a candidate, and how each went.
CREATE TABLE assignments (
    application_id TEXT NOT NULL REFERENCES applications (id),
    test_id TEXT NOT NULL REFERENCES tests (id),
    assigned_at BIGINT NOT NULL,
    taken_at BIGINT,
    -- Percent right.
    score BIGINT,
    passed INTEGER,
    PRIMARY KEY (application_id, test_id)
);

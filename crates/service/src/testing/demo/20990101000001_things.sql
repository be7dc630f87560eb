-- The demo service of the test kit's own tests (never shipped: only `cargo test` reads it).
CREATE TABLE things (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

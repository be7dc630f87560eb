-- Bets: one bet per order, managers' stakes (pending until Billing answers), and the
-- payouts a settlement decided (paid once Billing booked them). Money in minor units,
-- times in unix microseconds.
CREATE TABLE bets (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE,
    opened_by TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    -- The manager's cut-off for stakes (NULL: none).
    stakes_close_at BIGINT,
    -- 1 once stakes were seen to close (the order left active / in progress).
    stakes_closed INTEGER NOT NULL DEFAULT 0,
    -- open, settling, settled
    state TEXT NOT NULL,
    outcome TEXT,
    closed_by TEXT,
    closed_at BIGINT,
    settled_at BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX bets_by_state ON bets (state, opened_at);

CREATE TABLE stakes (
    id TEXT PRIMARY KEY,
    bet_id TEXT NOT NULL REFERENCES bets (id),
    manager_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    amount BIGINT NOT NULL,
    -- pending, confirmed, refused
    status TEXT NOT NULL,
    -- Billing's reason when it refused the charge.
    refusal TEXT,
    placed_at BIGINT NOT NULL,
    resolved_at BIGINT,
    -- The manager's Idempotency-Key and the hash of what it was sent with.
    request_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    UNIQUE (manager_id, request_key)
);
CREATE INDEX stakes_by_bet ON stakes (bet_id, placed_at);
CREATE INDEX stakes_by_status ON stakes (status, placed_at);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    bet_id TEXT NOT NULL REFERENCES bets (id),
    -- The winning stake paid; NULL: the unwon pool to the developers' fund.
    stake_id TEXT REFERENCES stakes (id),
    manager_id TEXT,
    amount BIGINT NOT NULL,
    paid_at BIGINT
);
CREATE INDEX payouts_by_bet ON payouts (bet_id);

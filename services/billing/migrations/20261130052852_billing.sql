-- Billing's payment accounts: one per client, worker and manager (opened from IAM's and
-- Hiring's events, or when money first moves for them) and the company's own accounts
-- (seeded below). `id` is the ledger account id: `<kind>:<holder id>` for a person,
-- the kind alone for a company account.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    -- client | worker | manager | revenue | worker_earnings | penalties | awards |
    -- bet_pool | developers_fund | bank_collections | bank_payouts
    kind TEXT NOT NULL,
    -- The person's account id in IAM (a worker's is the worker id); NULL for the company.
    holder_id TEXT,
    -- What IAM or Hiring last told of the holder (for statements and mails); empty until
    -- then. `holder_version` is the IAM account's aggregate version they come from, so an
    -- older announcement heard late does not overwrite a newer one.
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    holder_version BIGINT NOT NULL,
    opened_at BIGINT NOT NULL
);
CREATE INDEX accounts_by_holder ON accounts (holder_id);

-- The ledger, append-only: the database refuses UPDATE and DELETE on both tables (the
-- triggers of the next migration). An entry's id is derived from its cause (an order and
-- the kind of entry, an award, a bet and a manager, a cycle's period and an account), so
-- the same cause can never move money twice: the second insert finds the id taken.
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    -- client_charge | worker_earning | worker_penalty | award | bet_stake | bet_winning |
    -- bet_unwon | collection | payout | ... (domain::ledger::EntryKind)
    kind TEXT NOT NULL,
    -- Why, for people: "order ... activated: price 100 less 5 % loyalty discount".
    reason TEXT NOT NULL,
    -- Who moved the money: an account id, or "billing" for what the service did itself
    -- on another context's event.
    actor TEXT NOT NULL,
    -- The cause: its kind (order | award | bet | cycle) and id, and the event heard, if any.
    cause_kind TEXT NOT NULL,
    cause_id TEXT NOT NULL,
    cause_event_id TEXT,
    -- Business time of the booking (unix microseconds): which week and month it belongs to.
    booked_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_cause ON ledger_entries (cause_kind, cause_id);
CREATE INDEX ledger_entries_by_time ON ledger_entries (booked_at);

-- An entry's postings: positive amounts debit an account, negative ones credit it, and an
-- entry's postings sum to zero (checked before they are written). A balance is the sum of
-- an account's postings, never stored.
CREATE TABLE ledger_postings (
    entry_id TEXT NOT NULL REFERENCES ledger_entries (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL,
    -- The entry's booking time, copied so a period's sums need no join.
    booked_at BIGINT NOT NULL,
    PRIMARY KEY (entry_id, account_id)
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account_id, booked_at);

-- The company's accounts exist from the start.
INSERT INTO accounts (id, kind, holder_id, name, email, holder_version, opened_at) VALUES
    ('revenue', 'revenue', NULL, 'Revenue from clients', '', 0, 0),
    ('worker_earnings', 'worker_earnings', NULL, 'Workers'' earnings', '', 0, 0),
    ('penalties', 'penalties', NULL, 'Penalties charged to workers', '', 0, 0),
    ('awards', 'awards', NULL, 'Awards granted to workers', '', 0, 0),
    ('bet_pool', 'bet_pool', NULL, 'Stakes held for open bets', '', 0, 0),
    ('developers_fund', 'developers_fund', NULL, 'Developers'' fund', '', 0, 0),
    ('bank_collections', 'bank_collections', NULL, 'Bank: collected from clients', '', 0, 0),
    ('bank_payouts', 'bank_payouts', NULL, 'Bank: paid out', '', 0, 0);

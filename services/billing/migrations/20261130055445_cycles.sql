-- The billing cycles: where each person is paid from or to at the bank, the runs of the
-- weekly and monthly cycles, and their invoices.

-- What a person gave MCF to be charged or paid through the bank ("Gold Hat"): a client's
-- payment method token, a worker's account number (PUT /me/bank).
CREATE TABLE bank_details (
    holder_id TEXT PRIMARY KEY,
    payment_method TEXT,
    payout_account TEXT,
    updated_at BIGINT NOT NULL
);

-- One row per cycle and period, inserted in the transaction that issues the period's
-- invoices: the primary key makes each period run once, whatever the replicas racing for it
-- or the restarts in between. `kind` is week | month.
CREATE TABLE cycle_runs (
    kind TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    invoices BIGINT NOT NULL,
    ran_at BIGINT NOT NULL,
    PRIMARY KEY (kind, period_key)
);

-- An invoice per account and period (`id` = `<period key>:<ledger account>`). `kind` is
-- collection (a client's week) | payout (a worker's month); `status` is issued | paid |
-- failed | carried_over | settled (domain::invoice). Amounts in minor units, as the holder
-- sees them: what the client owes, what MCF owes the worker.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    holder_id TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    carried_in BIGINT NOT NULL,
    total BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    -- When the bank is asked (again); NULL once nothing is left to ask.
    next_attempt_at BIGINT,
    -- 1 when the last attempt's answer was lost: the next one reads the bank's statement.
    in_doubt INTEGER NOT NULL,
    last_error TEXT,
    bank_operation TEXT,
    issued_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE INDEX invoices_due ON invoices (next_attempt_at);
CREATE INDEX invoices_by_holder ON invoices (holder_id, period_start);
CREATE INDEX invoices_by_account ON invoices (account_id, period_start);

-- The ledger entries an invoice covers; an entry is invoiced once (its primary key), so an
-- entry booked late (an event heard after its period ran) goes into the next invoice.
CREATE TABLE invoice_lines (
    entry_id TEXT PRIMARY KEY REFERENCES ledger_entries (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    amount BIGINT NOT NULL
);
CREATE INDEX invoice_lines_by_invoice ON invoice_lines (invoice_id);

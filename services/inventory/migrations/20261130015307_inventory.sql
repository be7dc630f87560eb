-- Consumables kept in stock. How many are on hand is never stored: it is the sum of the
-- consumable's stock moves.
CREATE TABLE consumables (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    -- Below this many on hand the consumable is low.
    low_stock_threshold BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- When its latest stock move was made. A move updates it first, which on PostgreSQL
    -- also locks the row until commit: two kits taking the same consumable wait for each
    -- other instead of both reading the same sum (SQLite serializes writers anyway).
    last_move_at BIGINT
);
CREATE UNIQUE INDEX consumables_name ON consumables (name);

-- The stock ledger, append-only (never updated, never deleted): receipts add (positive
-- quantity), issued kits take (negative).
CREATE TABLE stock_moves (
    id TEXT PRIMARY KEY,
    consumable_id TEXT NOT NULL REFERENCES consumables (id),
    quantity BIGINT NOT NULL,
    -- receipt | issue
    kind TEXT NOT NULL,
    -- The kit an issue was for.
    kit_id TEXT,
    -- Who made the move (account id).
    actor TEXT NOT NULL,
    moved_at BIGINT NOT NULL
);
CREATE INDEX stock_moves_by_consumable ON stock_moves (consumable_id, moved_at);

-- A bill of materials per service type (Ordering's ids): what one order of it needs. A
-- bill with no lines is a service type known to need nothing.
CREATE TABLE boms (
    service_type_id TEXT PRIMARY KEY,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE bom_lines (
    service_type_id TEXT NOT NULL REFERENCES boms (service_type_id),
    consumable_id TEXT NOT NULL REFERENCES consumables (id),
    quantity BIGINT NOT NULL,
    PRIMARY KEY (service_type_id, consumable_id)
);

-- One supply kit per active order, its lines copied from the bill when it was assembled.
CREATE TABLE kits (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    service_type_id TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    -- to_assemble | issued
    state TEXT NOT NULL,
    -- The kit's aggregate version: 1 assembled, 2 issued.
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    issued_at BIGINT,
    issued_by TEXT
);
CREATE UNIQUE INDEX kits_order ON kits (order_id);
CREATE INDEX kits_by_state ON kits (state, scheduled_at);
CREATE TABLE kit_lines (
    kit_id TEXT NOT NULL REFERENCES kits (id),
    consumable_id TEXT NOT NULL REFERENCES consumables (id),
    -- The consumable's name when the kit was assembled.
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (kit_id, consumable_id)
);

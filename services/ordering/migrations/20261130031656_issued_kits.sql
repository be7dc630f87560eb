-- The supply kits Inventory announced issued (inventory.kit.issued), one per order: the
-- worker may check in only once his order's kit was handed out, and an active order whose
-- kit was not issued by its scheduled time fails (kit_not_ready, not the worker's fault).
CREATE TABLE issued_kits (
    order_id TEXT PRIMARY KEY,
    kit_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL
);

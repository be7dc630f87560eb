-- The fortune cookie of each kit, ordered from the contractor (one per kit, its
-- Idempotency-Key the kit id). A new kit's cookie is to be ordered: the column's default.
-- Kits issued before cookies were ordered need none ('none'); those still open get theirs.
-- none | to_order | ordered | arrived | failed
ALTER TABLE kits ADD COLUMN cookie_state TEXT NOT NULL DEFAULT 'to_order';
-- The contractor's id of the cookie, once it took the order.
ALTER TABLE kits ADD COLUMN cookie_id TEXT;
-- Why the order failed (failed only), shown on the kit.
ALTER TABLE kits ADD COLUMN cookie_failure TEXT;
-- How many times it was ordered (staff re-order failed ones).
ALTER TABLE kits ADD COLUMN cookie_orders BIGINT NOT NULL DEFAULT 1;
ALTER TABLE kits ADD COLUMN cookie_ordered_at BIGINT;
ALTER TABLE kits ADD COLUMN cookie_arrived_at BIGINT;
-- While ordered: when to ask the contractor if its callback has not come.
ALTER TABLE kits ADD COLUMN cookie_check_at BIGINT;
UPDATE kits SET cookie_state = 'none' WHERE state = 'issued';
-- The cookie job's two questions: kits whose cookie is to be ordered, and ordered cookies
-- due to be asked about.
CREATE INDEX kits_by_cookie ON kits (cookie_state, cookie_check_at);

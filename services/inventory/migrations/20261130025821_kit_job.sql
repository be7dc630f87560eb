-- The order's facts a kit keeps for its job acceptance form, as Ordering announced them
-- when the order became active. NULL for kits assembled before they were kept (those have
-- no form): client_id is set exactly when the others are.
ALTER TABLE kits ADD COLUMN client_id TEXT;
ALTER TABLE kits ADD COLUMN client_name TEXT;
ALTER TABLE kits ADD COLUMN worker_id TEXT;
ALTER TABLE kits ADD COLUMN worker_name TEXT;
ALTER TABLE kits ADD COLUMN service_type_name TEXT;
ALTER TABLE kits ADD COLUMN description TEXT;
ALTER TABLE kits ADD COLUMN duration_minutes BIGINT;

-- A decision reloads the booked worker's bookings (`store::roster::load_one`). Through
-- `reference_samples_by_worker` each of the worker's orders cost a read of its wide row (the
-- explanation and the cause envelope), so a decision slowed down with every order the worker
-- ever had (2 ms of a decision's time after 60 orders each). This index covers the query.
CREATE INDEX reference_samples_bookings
    ON reference_samples (worker_id, status, scheduled_at, ends_at, order_id);
DROP INDEX reference_samples_by_worker;

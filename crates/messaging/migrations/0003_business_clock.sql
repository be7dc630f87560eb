-- Where an adjustable business clock was moved to (service::clock::save), so a process
-- restarted on this database resumes it; one row. Every service's database has it, as it
-- has the outbox: whichever services a process runs, it reads their offsets when it starts.
CREATE TABLE business_clock (
    id BIGINT PRIMARY KEY,
    offset_micros BIGINT NOT NULL
);

-- Failed-job triage (crates/engine/src/console/triage.rs): the queue stamps every failure with a
-- fingerprint (job kind + error kind + the error message with ids, numbers and quoted values stripped;
-- crates/queue/src/fingerprint.rs) so failures group by cause in SQL, and keeps TikTok's request_id and
-- the call's endpoint per attempt (`details`, JSON). Timestamps are Unix milliseconds.
-- Version 0006 (0005 belongs to the order list's indexes).

-- The fingerprint of the job's latest failure; NULL while the job never failed. Admin transitions
-- (retry, discard, cancel by a person) leave it alone, so a job stays in its group while staff work on it.
ALTER TABLE jobs ADD COLUMN error_fingerprint TEXT;
-- When the job's latest failure happened, and since when it has been failing with this fingerprint.
ALTER TABLE jobs ADD COLUMN last_error_at INTEGER;
ALTER TABLE jobs ADD COLUMN error_since INTEGER;
-- Structured facts of a failed attempt (e.g. {"request_id", "endpoint", "http_status", "code"}).
ALTER TABLE job_attempts ADD COLUMN details TEXT CHECK (details IS NULL OR json_valid(details));

-- Triage reads only jobs that failed: both indexes are partial, so the claim/complete path of jobs that
-- never fail does not maintain them (no column of theirs changes on a state transition).
CREATE INDEX jobs_error_fingerprint ON jobs (error_fingerprint, id) WHERE error_fingerprint IS NOT NULL;
CREATE INDEX jobs_failed_id ON jobs (id) WHERE error_fingerprint IS NOT NULL;
-- One-time data fixes done by Rust code after a migration (normalization is not SQL): jobs that
-- failed before this migration get their fingerprint from `Queue::backfill_fingerprints`, which records
-- its name here when done.
CREATE TABLE queue_backfills (
    name    TEXT PRIMARY KEY NOT NULL,
    done_at INTEGER NOT NULL
);

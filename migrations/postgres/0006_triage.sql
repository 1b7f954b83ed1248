-- Failed-job triage: error fingerprints on jobs, structured attempt details. Same shape as
-- migrations/sqlite/0006_triage.sql (see there for why each column and index exists).

ALTER TABLE jobs ADD COLUMN error_fingerprint TEXT;
ALTER TABLE jobs ADD COLUMN last_error_at BIGINT;
ALTER TABLE jobs ADD COLUMN error_since BIGINT;
ALTER TABLE job_attempts ADD COLUMN details JSONB;

CREATE INDEX jobs_error_fingerprint ON jobs (error_fingerprint, id) WHERE error_fingerprint IS NOT NULL;
CREATE INDEX jobs_failed_id ON jobs (id) WHERE error_fingerprint IS NOT NULL;
CREATE TABLE queue_backfills (
    name    TEXT PRIMARY KEY NOT NULL,
    done_at BIGINT NOT NULL
);

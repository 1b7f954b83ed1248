-- Durable job queue (crates/queue). States and who moves a job out of each: docs/job-states.md.
-- Timestamps are Unix milliseconds. Finalized states: completed, cancelled, discarded.

CREATE TABLE queues (
    name       TEXT PRIMARY KEY NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    updated_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id                 INTEGER PRIMARY KEY,
    queue              TEXT NOT NULL CHECK (length(queue) BETWEEN 1 AND 128),
    kind               TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    args               TEXT NOT NULL CHECK (json_valid(args)),
    original_args      TEXT CHECK (original_args IS NULL OR json_valid(original_args)),
    state              TEXT NOT NULL CHECK (state IN ('available', 'scheduled', 'running', 'retryable',
                                                      'completed', 'cancelled', 'discarded')),
    priority           INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN -32768 AND 32767),
    attempt            INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts       INTEGER NOT NULL CHECK (max_attempts >= 1),
    scheduled_at       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    attempted_at       INTEGER,
    finalized_at       INTEGER,
    lease_token        INTEGER,
    lease_expires_at   INTEGER,
    attempted_by       TEXT,
    unique_key         TEXT,
    snoozes            INTEGER NOT NULL DEFAULT 0 CHECK (snoozes >= 0),
    last_error_kind    TEXT,
    last_error_message TEXT,
    -- A lease exists exactly while the job runs; a finalized job carries its finalization time.
    CHECK ((state = 'running') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK ((state IN ('completed', 'cancelled', 'discarded')) = (finalized_at IS NOT NULL))
);

-- Claim: the next available jobs of one queue in priority order.
CREATE INDEX jobs_claim ON jobs (queue, priority, scheduled_at, id) WHERE state = 'available';
-- Promotion of due scheduled/retryable jobs.
CREATE INDEX jobs_due ON jobs (scheduled_at) WHERE state IN ('scheduled', 'retryable');
-- Rescuer: expired leases.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- Cleaner: completed jobs past retention.
CREATE INDEX jobs_finalized ON jobs (state, finalized_at) WHERE finalized_at IS NOT NULL;
-- No general (state, ...) index on purpose: every transition would pay for maintaining it, and
-- each state already has a partial index above (finalized states: jobs_finalized).
-- No second unfinished job with the same unique key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('completed', 'cancelled', 'discarded');

-- Attempts that did not complete: failures, lease expiries (rescues), interruptions, snoozes, cancels.
-- A successful attempt is recorded on the job row itself (attempt, attempted_at, finalized_at).
CREATE TABLE job_attempts (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('failed', 'lost', 'interrupted', 'snoozed', 'cancelled')),
    error_kind  TEXT,
    message     TEXT,
    retryable   INTEGER NOT NULL CHECK (retryable IN (0, 1)),
    worker      TEXT
);
CREATE INDEX job_attempts_job ON job_attempts (job_id, id);

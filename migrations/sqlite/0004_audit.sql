-- Audit trail of what people did through the console (crates/engine/src/store/audit.rs): retries and
-- discards of jobs, shop removals. Append-only; never updated. `at` is Unix MILLISECONDS.
-- `action` has no CHECK list on purpose: the set grows with the console, and widening a CHECK in SQLite
-- means rebuilding the table; the engine's `AuditAction` is the one place the names are defined.

CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    -- Who: the OS user of the process, or `--actor`.
    actor     TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 256),
    action    TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    -- How many jobs the action changed (the job ids are in audit_event_jobs).
    job_count INTEGER NOT NULL CHECK (job_count >= 0),
    reason    TEXT CHECK (reason IS NULL OR length(reason) <= 4096),
    -- Action-specific facts (e.g. the shop a removal was about), JSON.
    details   TEXT CHECK (details IS NULL OR json_valid(details))
);
CREATE INDEX audit_events_at ON audit_events (at, id);

-- Jobs an audit event touched. No foreign key to jobs: the trail outlives the cleaner.
CREATE TABLE audit_event_jobs (
    audit_id INTEGER NOT NULL REFERENCES audit_events (id) ON DELETE CASCADE,
    job_id   INTEGER NOT NULL,
    PRIMARY KEY (audit_id, job_id)
);
CREATE INDEX audit_event_jobs_job ON audit_event_jobs (job_id, audit_id);

//! Durable job queue: one state machine over SQLite and PostgreSQL (see docs/job-states.md).

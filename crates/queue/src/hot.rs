//! The hot statements, hand-written per dialect: claim (promote due jobs + lease a batch),
//! group-committed completion, and heartbeats. Every write is guarded by the expected state and,
//! for running jobs, the lease token (fencing): a worker that lost its lease changes nothing.

use serde_json::Value;

use crate::db::{Db, DbTx};
use crate::error::{QueueError, Result};
use crate::model::{Job, JobRow, JobState, job_columns};

/// A lease on one running job: the claim's fencing token. Every later write about this attempt
/// must present it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub id: i64,
    pub token: i64,
}

const SQLITE_PROMOTE: &str = "UPDATE jobs SET state = 'available' \
     WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= ?";

// SQLite claims in two single-message statements instead of one `UPDATE ... RETURNING`: sqlx
// sends every returned row from its SQLite thread to the task separately, and those ~2 context
// switches per job were the claim's main cost. Inside `BEGIN IMMEDIATE` nothing else can write
// between the select and the update, so the update leases exactly the selected rows.
//
// ?1 = queue, ?2 = limit. The job as [`ClaimedRow`] (the columns the claim does not set).
const SQLITE_CLAIM_SELECT: &str = "SELECT json_group_array(json_array(id, queue, kind, json(args), \
       json(original_args), priority, attempt, max_attempts, scheduled_at, created_at, unique_key, \
       snoozes, last_error_kind, last_error_message)) \
     FROM (SELECT * FROM jobs WHERE state = 'available' AND queue = ?1 \
       AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused = 1) \
       ORDER BY priority, scheduled_at, id LIMIT ?2)";

// ?1 token, ?2 expires, ?3 now, ?4 worker, ?5 JSON array of the selected ids.
const SQLITE_CLAIM_UPDATE: &str = "UPDATE jobs SET state = 'running', attempt = attempt + 1, \
     lease_token = ?1, lease_expires_at = ?2, attempted_at = ?3, attempted_by = ?4 \
     WHERE id IN (SELECT value FROM json_each(?5)) AND +state = 'available'";

/// One job of [`SQLITE_CLAIM_SELECT`], positional as `json_array` writes it.
#[derive(serde::Deserialize)]
struct ClaimedRow(
    i64,
    String,
    String,
    Value,
    Option<Value>,
    i16,
    i32,
    i32,
    i64,
    i64,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
);

const PG_PROMOTE: &str = "WITH due AS MATERIALIZED (SELECT id FROM jobs \
       WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= $1 FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET state = 'available' \
     WHERE state IN ('scheduled', 'retryable') AND id IN (SELECT id FROM due)";

// The candidates live in a MATERIALIZED CTE: as a plain `IN (subquery ... LIMIT .. SKIP LOCKED)`
// PostgreSQL may evaluate the subquery more than once and lease more than LIMIT rows.
const PG_CLAIM: &str = concat!(
    "WITH c AS MATERIALIZED (SELECT id FROM jobs WHERE state = 'available' AND queue = $5 \
       AND NOT EXISTS (SELECT 1 FROM queues WHERE name = $5 AND paused) \
       ORDER BY priority, scheduled_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = $1, lease_expires_at = $2, \
     attempted_at = $3, attempted_by = $4 \
     WHERE state = 'available' AND id IN (SELECT id FROM c) \
     RETURNING ",
    job_columns!()
);

/// Bulk enqueue on SQLite: `?1` = now, `?2` = JSON array of
/// `[queue, kind, args, state, priority, max_attempts, scheduled_at]` rows. `json_each` walks the
/// array in order, so ids ascend in input order.
pub(crate) const SQLITE_BULK_INSERT: &str = "INSERT INTO jobs (queue, kind, args, state, priority, \
     attempt, max_attempts, scheduled_at, created_at, snoozes) \
     SELECT value ->> 0, value ->> 1, value -> 2, value ->> 3, value ->> 4, 0, value ->> 5, \
     value ->> 6, ?1, 0 FROM json_each(?2) RETURNING id";

/// What one claim asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimSpec<'a> {
    pub queue: &'a str,
    pub limit: u32,
    pub worker: &'a str,
    pub now: i64,
    pub lease_ms: i64,
}

impl ClaimSpec<'_> {
    /// Random, never 0: a stale token from an earlier claim can never match a later one
    /// (2^-63 chance per pair), and it needs no coordination between processes.
    fn token() -> i64 {
        fastrand::i64(1..i64::MAX)
    }

    fn expires(&self) -> i64 {
        self.now.saturating_add(self.lease_ms)
    }
}

/// Promote due scheduled/retryable jobs, then lease up to `limit` available jobs of `queue` in
/// priority order (all with one fresh fencing token). Returns them sorted (priority, scheduled_at, id).
pub(crate) async fn claim(db: &Db, spec: ClaimSpec<'_>) -> Result<Vec<Job>> {
    match db {
        Db::Sqlite { .. } => {
            let mut tx = db.begin().await?;
            let jobs = claim_in(&mut tx, spec).await?;
            tx.commit().await?;
            Ok(jobs)
        }
        Db::Postgres(pool) => {
            // Two autocommit statements: a transaction around them would only add round trips.
            sqlx::query(PG_PROMOTE).bind(spec.now).execute(pool).await?;
            let rows = sqlx::query_as::<_, JobRow>(PG_CLAIM)
                .bind(ClaimSpec::token())
                .bind(spec.expires())
                .bind(spec.now)
                .bind(spec.worker)
                .bind(spec.queue)
                .bind(i64::from(spec.limit))
                .fetch_all(pool)
                .await?;
            sorted_jobs(rows)
        }
    }
}

/// [`claim`] inside the caller's transaction (the pool folds it into the group commit of the
/// previous batch's results). The leases hold only once the caller commits.
pub(crate) async fn claim_in(tx: &mut DbTx, spec: ClaimSpec<'_>) -> Result<Vec<Job>> {
    let rows = match tx {
        DbTx::Sqlite(tx) => {
            sqlx::query(SQLITE_PROMOTE)
                .bind(spec.now)
                .execute(&mut **tx)
                .await?;
            let batch: String = sqlx::query_scalar(SQLITE_CLAIM_SELECT)
                .bind(spec.queue)
                .bind(i64::from(spec.limit))
                .fetch_one(&mut **tx)
                .await?;
            let rows: Vec<ClaimedRow> =
                serde_json::from_str(&batch).map_err(|source| QueueError::DecodeBatch {
                    what: "claimed jobs",
                    source,
                })?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let token = ClaimSpec::token();
            let ids = json_ids(rows.iter().map(|r| r.0));
            let changed = sqlx::query(SQLITE_CLAIM_UPDATE)
                .bind(token)
                .bind(spec.expires())
                .bind(spec.now)
                .bind(spec.worker)
                .bind(ids)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if changed != rows.len() as u64 {
                return Err(QueueError::BatchMismatch {
                    what: "claim",
                    expected: rows.len(),
                    changed,
                });
            }
            let jobs = rows.into_iter().map(|r| Job {
                id: r.0,
                queue: r.1,
                kind: r.2,
                args: r.3,
                original_args: r.4,
                state: JobState::Running,
                priority: r.5,
                attempt: r.6 + 1,
                max_attempts: r.7,
                scheduled_at: r.8,
                created_at: r.9,
                attempted_at: Some(spec.now),
                finalized_at: None,
                lease_token: Some(token),
                lease_expires_at: Some(spec.expires()),
                attempted_by: Some(spec.worker.to_owned()),
                unique_key: r.10,
                snoozes: r.11,
                last_error_kind: r.12,
                last_error_message: r.13,
            });
            return Ok(sorted(jobs.collect()));
        }
        DbTx::Postgres(tx) => {
            sqlx::query(PG_PROMOTE)
                .bind(spec.now)
                .execute(&mut **tx)
                .await?;
            sqlx::query_as::<_, JobRow>(PG_CLAIM)
                .bind(ClaimSpec::token())
                .bind(spec.expires())
                .bind(spec.now)
                .bind(spec.worker)
                .bind(spec.queue)
                .bind(i64::from(spec.limit))
                .fetch_all(&mut **tx)
                .await?
        }
    };
    sorted_jobs(rows)
}

fn sorted_jobs(rows: Vec<JobRow>) -> Result<Vec<Job>> {
    let jobs = rows
        .into_iter()
        .map(Job::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(sorted(jobs))
}

/// Claim order: RETURNING (and an aggregate's input) order is unspecified in both databases.
fn sorted(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (j.priority, j.scheduled_at, j.id));
    jobs
}

/// `[id, ...]` for SQLite's json_each.
fn json_ids(ids: impl Iterator<Item = i64>) -> String {
    let mut s = String::from("[");
    for (i, id) in ids.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

/// `[[id, token], ...]` for SQLite's json_each (one bound parameter for the whole batch).
fn pairs_json(leases: &[Lease]) -> String {
    let mut s = String::with_capacity(leases.len() * 32 + 2);
    s.push('[');
    for (i, l) in leases.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('[');
        s.push_str(&l.id.to_string());
        s.push(',');
        s.push_str(&l.token.to_string());
        s.push(']');
    }
    s.push(']');
    s
}

// SQLite statements: the unary `+` keeps the planner from driving these through a state index
// (a scan of every running/available job); rows are found by rowid from the batch instead.
//
// Completion, like the claim, avoids a row per job: one select returns the ids whose lease is
// still held as one JSON array, then the update changes exactly those (the write lock is held).
const SQLITE_HELD: &str = "SELECT json_group_array(jobs.id) \
     FROM (SELECT value ->> 0 AS cid, value ->> 1 AS ctok FROM json_each(?)) AS c \
     CROSS JOIN jobs ON jobs.id = c.cid AND +jobs.state = 'running' AND +jobs.lease_token = c.ctok";

const SQLITE_COMPLETE: &str = "UPDATE jobs SET state = 'completed', finalized_at = ?, lease_token = NULL, \
     lease_expires_at = NULL \
     FROM (SELECT value ->> 0 AS cid, value ->> 1 AS ctok FROM json_each(?)) AS c \
     WHERE jobs.id = c.cid AND +jobs.state = 'running' AND +jobs.lease_token = c.ctok";

const PG_COMPLETE: &str = "UPDATE jobs SET state = 'completed', finalized_at = $1, lease_token = NULL, \
     lease_expires_at = NULL \
     FROM unnest($2::bigint[], $3::bigint[]) AS c(cid, ctok) \
     WHERE jobs.id = c.cid AND jobs.state = 'running' AND jobs.lease_token = c.ctok \
     RETURNING jobs.id";

/// Mark every leased job completed in the caller's transaction; returns the ids actually
/// completed (the others had lost their lease and are left untouched).
pub(crate) async fn complete_in(tx: &mut DbTx, leases: &[Lease], now: i64) -> Result<Vec<i64>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let ids = match tx {
        DbTx::Sqlite(tx) => {
            let pairs = pairs_json(leases);
            let held: String = sqlx::query_scalar(SQLITE_HELD)
                .bind(&pairs)
                .fetch_one(&mut **tx)
                .await?;
            let held: Vec<i64> =
                serde_json::from_str(&held).map_err(|source| QueueError::DecodeBatch {
                    what: "held leases",
                    source,
                })?;
            if held.is_empty() {
                return Ok(held);
            }
            let changed = sqlx::query(SQLITE_COMPLETE)
                .bind(now)
                .bind(pairs)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if changed != held.len() as u64 {
                return Err(QueueError::BatchMismatch {
                    what: "completion",
                    expected: held.len(),
                    changed,
                });
            }
            held
        }
        DbTx::Postgres(tx) => {
            let idv: Vec<i64> = leases.iter().map(|l| l.id).collect();
            let toks: Vec<i64> = leases.iter().map(|l| l.token).collect();
            sqlx::query_scalar::<_, i64>(PG_COMPLETE)
                .bind(now)
                .bind(idv)
                .bind(toks)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    Ok(ids)
}

const SQLITE_HEARTBEAT: &str = "UPDATE jobs SET lease_expires_at = ? \
     FROM (SELECT value ->> 0 AS cid, value ->> 1 AS ctok FROM json_each(?)) AS c \
     WHERE jobs.id = c.cid AND +jobs.state = 'running' AND +jobs.lease_token = c.ctok \
     RETURNING jobs.id";

const PG_HEARTBEAT: &str = "UPDATE jobs SET lease_expires_at = $1 \
     FROM unnest($2::bigint[], $3::bigint[]) AS c(cid, ctok) \
     WHERE jobs.id = c.cid AND jobs.state = 'running' AND jobs.lease_token = c.ctok \
     RETURNING jobs.id";

/// Extend the leases of running jobs to `expires_at` in one statement; returns the ids still
/// held (a missing id means that lease was lost: rescued, cancelled or discarded meanwhile).
pub(crate) async fn heartbeat(db: &Db, leases: &[Lease], expires_at: i64) -> Result<Vec<i64>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let ids = match db {
        Db::Sqlite { writer, .. } => {
            sqlx::query_scalar::<_, i64>(SQLITE_HEARTBEAT)
                .bind(expires_at)
                .bind(pairs_json(leases))
                .fetch_all(writer)
                .await?
        }
        Db::Postgres(pool) => {
            let idv: Vec<i64> = leases.iter().map(|l| l.id).collect();
            let toks: Vec<i64> = leases.iter().map(|l| l.token).collect();
            sqlx::query_scalar::<_, i64>(PG_HEARTBEAT)
                .bind(expires_at)
                .bind(idv)
                .bind(toks)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(ids)
}

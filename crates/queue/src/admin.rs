//! Admin operations: cancel, retry (optionally with edited args, keeping the originals), discard,
//! pause/resume a queue, and the cleaner. Each reads the job in a write transaction and applies a
//! transition guarded by the state it saw (and the lease token, for a running job). The `*_tx`
//! variants run in the caller's transaction, so an engine can commit the change together with its own
//! rows (the triage audit event); the `*_many_tx` variants do a batch and report what they skipped.

use std::time::Duration;

use sea_query::{Expr, ExprTrait, Func, OnConflict, Query};
use serde_json::Value;

use crate::clock::duration_ms;
use crate::db::DbTx;
use crate::error::{QueueError, Result};
use crate::finish::{AttemptRecord, record_attempt};
use crate::model::{AttemptOutcome, JOB_COLUMN_NAMES, Job, JobRow, JobState};
use crate::queue::Queue;

const CLEAN_BATCH: u64 = 5000;

async fn load(tx: &mut DbTx, id: i64) -> Result<Job> {
    let stmt = Query::select()
        .columns(JOB_COLUMN_NAMES)
        .from("jobs")
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    let row: Option<JobRow> = tx.fetch_optional(&stmt).await?;
    row.ok_or(QueueError::NotFound(id))?.try_into()
}

/// An UPDATE guarded by the state (and lease token) the caller observed.
fn guarded(job: &Job) -> sea_query::UpdateStatement {
    let mut stmt = Query::update();
    stmt.table("jobs")
        .and_where(Expr::col("id").eq(job.id))
        .and_where(Expr::col("state").eq(job.state.as_str()));
    if let Some(tok) = job.lease_token {
        stmt.and_where(Expr::col("lease_token").eq(tok));
    }
    stmt
}

/// What a batch admin transition did: the jobs it changed and the ones it left alone, with why.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Changed jobs, in the order asked.
    pub changed: Vec<i64>,
    /// Jobs not changed: not found, in a state the action cannot leave, or (retry) their unique key
    /// is held by another unfinished job.
    pub skipped: Vec<(i64, QueueError)>,
}

/// Which admin finalization.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finalize {
    pub(crate) to: JobState,
    pub(crate) action: &'static str,
    pub(crate) error_kind: &'static str,
}

const CANCEL: Finalize = Finalize {
    to: JobState::Cancelled,
    action: "cancel",
    error_kind: "cancelled_by_admin",
};
const DISCARD: Finalize = Finalize {
    to: JobState::Discarded,
    action: "discard",
    error_kind: "discarded_by_admin",
};

impl Queue {
    /// Stop a job that has not finished (`available`, `scheduled`, `retryable` or `running`).
    /// A running job's lease is revoked: its worker's result will be refused and its heartbeat
    /// tells the handler to stop.
    pub async fn cancel(&self, id: i64, reason: &str) -> Result<Job> {
        let mut tx = self.inner.db.begin().await?;
        let job = self.cancel_tx(&mut tx, id, reason).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Move an unfinished job to the dead-letter state `discarded` (kept for triage).
    pub async fn discard(&self, id: i64, reason: &str) -> Result<Job> {
        let mut tx = self.inner.db.begin().await?;
        let job = self.discard_tx(&mut tx, id, reason).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// [`Queue::cancel`] inside the caller's transaction (e.g. with the audit event that records it):
    /// the change exists only if the caller commits.
    pub async fn cancel_tx(&self, tx: &mut DbTx, id: i64, reason: &str) -> Result<Job> {
        self.check_tx(tx)?;
        self.finalize_in(tx, id, CANCEL, reason, self.now_ms())
            .await
    }

    /// [`Queue::discard`] inside the caller's transaction.
    pub async fn discard_tx(&self, tx: &mut DbTx, id: i64, reason: &str) -> Result<Job> {
        self.check_tx(tx)?;
        self.finalize_in(tx, id, DISCARD, reason, self.now_ms())
            .await
    }

    /// Cancel many jobs inside the caller's transaction; jobs that cannot be cancelled are reported in
    /// `skipped`, not fatal. A database error fails the whole call (roll the transaction back).
    pub async fn cancel_many_tx(
        &self,
        tx: &mut DbTx,
        ids: &[i64],
        reason: &str,
    ) -> Result<BatchOutcome> {
        self.finalize_many(tx, ids, CANCEL, reason).await
    }

    /// Discard many jobs inside the caller's transaction (see [`Queue::cancel_many_tx`]).
    pub async fn discard_many_tx(
        &self,
        tx: &mut DbTx,
        ids: &[i64],
        reason: &str,
    ) -> Result<BatchOutcome> {
        self.finalize_many(tx, ids, DISCARD, reason).await
    }

    fn check_tx(&self, tx: &DbTx) -> Result<()> {
        if tx.backend() != self.inner.db.backend() {
            return Err(QueueError::BackendMismatch {
                queue: self.inner.db.backend().name(),
                tx: tx.backend().name(),
            });
        }
        Ok(())
    }

    async fn finalize_many(
        &self,
        tx: &mut DbTx,
        ids: &[i64],
        f: Finalize,
        reason: &str,
    ) -> Result<BatchOutcome> {
        self.check_tx(tx)?;
        self.finalize_batch(tx, ids, f, reason).await
    }

    pub(crate) async fn finalize_in(
        &self,
        tx: &mut DbTx,
        id: i64,
        f: Finalize,
        reason: &str,
        now: i64,
    ) -> Result<Job> {
        let job = load(tx, id).await?;
        if job.state.is_finalized() {
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action: f.action,
            });
        }
        let mut stmt = guarded(&job);
        stmt.value("state", f.to.as_str())
            .value("finalized_at", now)
            .value("lease_token", Expr::val(Option::<i64>::None))
            .value("lease_expires_at", Expr::val(Option::<i64>::None))
            .value("last_error_kind", f.error_kind)
            .value("last_error_message", reason);
        if tx.exec(&stmt).await? != 1 {
            // On SQLite unreachable inside the write transaction; on PostgreSQL a worker finished the
            // job between our read and this guarded write.
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action: f.action,
            });
        }
        if job.state == JobState::Running {
            let outcome = if f.to == JobState::Cancelled {
                AttemptOutcome::Cancelled
            } else {
                AttemptOutcome::Failed
            };
            record_attempt(
                tx,
                AttemptRecord {
                    job_id: id,
                    attempt: job.attempt,
                    started_at: job.attempted_at.unwrap_or(now),
                    finished_at: now,
                    outcome,
                    error_kind: Some(f.error_kind),
                    message: Some(reason),
                    retryable: false,
                    worker: job.attempted_by.as_deref(),
                    details: None,
                },
            )
            .await?;
        }
        load(tx, id).await
    }

    /// Run a job again now: from `completed`, `cancelled`, `discarded`, `retryable` or
    /// `scheduled`. With `new_args`, the args are replaced and the first original args are kept
    /// in `original_args`. A job out of attempts gets one more.
    pub async fn retry(&self, id: i64, new_args: Option<Value>) -> Result<Job> {
        let mut tx = self.inner.db.begin().await?;
        let job = self.retry_tx(&mut tx, id, new_args).await?;
        tx.commit().await?;
        self.wake();
        Ok(job)
    }

    /// [`Queue::retry`] inside the caller's transaction. Call [`Queue::wake`] after the commit. A
    /// unique key held by another unfinished job is found before the write (`UniqueConflict`), so the
    /// caller's transaction stays usable on PostgreSQL too.
    pub async fn retry_tx(&self, tx: &mut DbTx, id: i64, new_args: Option<Value>) -> Result<Job> {
        self.check_tx(tx)?;
        self.retry_in(tx, id, new_args, self.now_ms()).await
    }

    /// Retry many jobs inside the caller's transaction (args unchanged); jobs that cannot be retried
    /// are reported in `skipped`. Two jobs of the batch with the same unique key: the first is retried,
    /// the second skipped. Call [`Queue::wake`] after the commit.
    pub async fn retry_many_tx(&self, tx: &mut DbTx, ids: &[i64]) -> Result<BatchOutcome> {
        self.check_tx(tx)?;
        self.retry_batch(tx, ids).await
    }

    async fn retry_in(
        &self,
        tx: &mut DbTx,
        id: i64,
        new_args: Option<Value>,
        now: i64,
    ) -> Result<Job> {
        let job = load(tx, id).await?;
        if matches!(job.state, JobState::Available | JobState::Running) {
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action: "retry",
            });
        }
        // A finalized job's unique key may have been taken by a newer job meanwhile. Checking first
        // (instead of letting the unique index refuse the UPDATE) keeps a PostgreSQL transaction
        // usable for the rest of a batch; the index still guards against a concurrent insert.
        if job.state.is_finalized()
            && let Some(key) = &job.unique_key
        {
            let holder = Query::select()
                .column("id")
                .from("jobs")
                .and_where(Expr::col("unique_key").eq(key.as_str()))
                .and_where(Expr::col("state").is_not_in(["completed", "cancelled", "discarded"]))
                .and_where(Expr::col("id").ne(id))
                .limit(1)
                .to_owned();
            if tx.fetch_optional::<(i64,), _>(&holder).await?.is_some() {
                return Err(QueueError::UniqueConflict(key.clone()));
            }
        }
        let mut stmt = guarded(&job);
        stmt.value("state", JobState::Available.as_str())
            .value("scheduled_at", now)
            .value("finalized_at", Expr::val(Option::<i64>::None))
            .value("max_attempts", Ord::max(job.max_attempts, job.attempt + 1));
        if let Some(args) = new_args {
            stmt.value(
                "original_args",
                Func::coalesce([Expr::col("original_args"), Expr::col("args")]),
            )
            .value("args", Expr::val(args));
        }
        match tx.exec(&stmt).await {
            Ok(1) => {}
            Ok(_) => {
                return Err(QueueError::InvalidTransition {
                    id,
                    state: job.state,
                    action: "retry",
                });
            }
            Err(QueueError::Database(e)) if QueueError::is_unique_violation(&e) => {
                return Err(QueueError::UniqueConflict(
                    job.unique_key.clone().unwrap_or_default(),
                ));
            }
            Err(e) => return Err(e),
        }
        load(tx, id).await
    }

    /// Stop claiming from `queue` (jobs keep arriving; running jobs finish).
    pub async fn pause(&self, queue: &str) -> Result<()> {
        self.set_paused(queue, true).await
    }

    /// Resume claiming from `queue`.
    pub async fn resume(&self, queue: &str) -> Result<()> {
        self.set_paused(queue, false).await?;
        self.wake();
        Ok(())
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let stmt = Query::insert()
            .into_table("queues")
            .columns(["name", "paused", "updated_at"])
            .values([
                Expr::val(queue),
                Expr::val(paused),
                Expr::val(self.now_ms()),
            ])?
            .on_conflict(
                OnConflict::column("name")
                    .update_columns(["paused", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        let mut tx = self.inner.db.begin().await?;
        tx.exec(&stmt).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `queue` is paused.
    pub async fn is_paused(&self, queue: &str) -> Result<bool> {
        let stmt = Query::select()
            .column("paused")
            .from("queues")
            .and_where(Expr::col("name").eq(queue))
            .to_owned();
        let row: Option<(bool,)> = self.inner.db.read_optional(&stmt).await?;
        Ok(row.is_some_and(|r| r.0))
    }

    /// Delete completed jobs finalized more than `retention` ago (with their attempts), in
    /// batches so the SQLite writer is never held for long. Returns how many were deleted.
    pub async fn clean_completed(&self, retention: Duration) -> Result<u64> {
        let cutoff = self.now_ms().saturating_sub(duration_ms(retention));
        let mut total = 0;
        loop {
            let ids = Query::select()
                .column("id")
                .from("jobs")
                .and_where(Expr::col("state").eq(JobState::Completed.as_str()))
                .and_where(Expr::col("finalized_at").lt(cutoff))
                .limit(CLEAN_BATCH)
                .to_owned();
            let stmt = Query::delete()
                .from_table("jobs")
                .and_where(Expr::col("id").in_subquery(ids))
                .to_owned();
            let mut tx = self.inner.db.begin().await?;
            let n = tx.exec(&stmt).await?;
            tx.commit().await?;
            total += n;
            if n < CLEAN_BATCH {
                break;
            }
        }
        Ok(total)
    }
}

/// The name `backfill_fingerprints` records in `queue_backfills` when done.
const FINGERPRINT_BACKFILL: &str = "error_fingerprints";

impl Queue {
    /// Fingerprint jobs that failed before migration 0006 (once per database; a no-op afterwards).
    /// Each job's latest failed or lost attempt gives the error (a person's discard reason is not a
    /// failure); jobs without one are not failures and keep no fingerprint. Returns how many were
    /// stamped.
    pub async fn backfill_fingerprints(&self) -> Result<u64> {
        let done = Query::select()
            .column("name")
            .from("queue_backfills")
            .and_where(Expr::col("name").eq(FINGERPRINT_BACKFILL))
            .to_owned();
        if self
            .inner
            .db
            .read_optional::<(String,), _>(&done)
            .await?
            .is_some()
        {
            return Ok(0);
        }
        let mut after = 0i64;
        let mut stamped = 0;
        loop {
            // The latest failed/lost attempt of each job of the page, via a correlated subquery.
            let latest = |col: &str| {
                Expr::cust(format!(
                    "(SELECT a.{col} FROM job_attempts a WHERE a.job_id = jobs.id AND a.outcome IN ('failed', 'lost') \
                     AND (a.error_kind IS NULL OR a.error_kind NOT IN ('discarded_by_admin', 'cancelled_by_admin')) \
                     ORDER BY a.id DESC LIMIT 1)"
                ))
            };
            let page = Query::select()
                .column("id")
                .column("kind")
                .expr_as(latest("error_kind"), "last_error_kind")
                .expr_as(latest("message"), "last_error_message")
                .expr_as(latest("finished_at"), "at")
                .from("jobs")
                .and_where(Expr::col("error_fingerprint").is_null())
                .and_where(Expr::col("last_error_message").is_not_null())
                .and_where(Expr::col("id").gt(after))
                .order_by("id", sea_query::Order::Asc)
                .limit(1000)
                .to_owned();
            let rows: Vec<(i64, String, Option<String>, Option<String>, Option<i64>)> =
                self.inner.db.read_all(&page).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let mut tx = self.inner.db.begin().await?;
            for (id, kind, error_kind, message, at) in rows.iter().cloned() {
                let (Some(message), Some(at)) = (message, at) else {
                    continue;
                };
                let mut stmt = Query::update();
                stmt.table("jobs")
                    .and_where(Expr::col("id").eq(id))
                    .and_where(Expr::col("error_fingerprint").is_null());
                crate::finish::stamp_failure(
                    &mut stmt,
                    &kind,
                    error_kind.as_deref().unwrap_or(""),
                    &message,
                    at,
                );
                stamped += tx.exec(&stmt).await?;
            }
            tx.commit().await?;
        }
        let mark = Query::insert()
            .into_table("queue_backfills")
            .columns(["name", "done_at"])
            .values([Expr::val(FINGERPRINT_BACKFILL), Expr::val(self.now_ms())])?
            .on_conflict(OnConflict::column("name").do_nothing().to_owned())
            .to_owned();
        let mut tx = self.inner.db.begin().await?;
        tx.exec(&mark).await?;
        tx.commit().await?;
        Ok(stamped)
    }
}

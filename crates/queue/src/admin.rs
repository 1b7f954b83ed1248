//! Admin operations: cancel, retry (optionally with edited args, keeping the originals), discard,
//! pause/resume a queue, and the cleaner. Each reads the job in a write transaction and applies a
//! transition guarded by the state it saw (and the lease token, for a running job).

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

impl Queue {
    /// Stop a job that has not finished (`available`, `scheduled`, `retryable` or `running`).
    /// A running job's lease is revoked: its worker's result will be refused and its heartbeat
    /// tells the handler to stop.
    pub async fn cancel(&self, id: i64, reason: &str) -> Result<Job> {
        self.finalize_by_admin(
            id,
            JobState::Cancelled,
            "cancel",
            "cancelled_by_admin",
            reason,
        )
        .await
    }

    /// Move an unfinished job to the dead-letter state `discarded` (kept for triage).
    pub async fn discard(&self, id: i64, reason: &str) -> Result<Job> {
        self.finalize_by_admin(
            id,
            JobState::Discarded,
            "discard",
            "discarded_by_admin",
            reason,
        )
        .await
    }

    async fn finalize_by_admin(
        &self,
        id: i64,
        to: JobState,
        action: &'static str,
        error_kind: &str,
        reason: &str,
    ) -> Result<Job> {
        let now = self.now_ms();
        let mut tx = self.inner.db.begin().await?;
        let job = load(&mut tx, id).await?;
        if job.state.is_finalized() {
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action,
            });
        }
        let mut stmt = guarded(&job);
        stmt.value("state", to.as_str())
            .value("finalized_at", now)
            .value("lease_token", Expr::val(Option::<i64>::None))
            .value("lease_expires_at", Expr::val(Option::<i64>::None))
            .value("last_error_kind", error_kind)
            .value("last_error_message", reason);
        if tx.exec(&stmt).await? != 1 {
            // Unreachable inside the write transaction unless the schema's guards disagree.
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action,
            });
        }
        if job.state == JobState::Running {
            let outcome = if to == JobState::Cancelled {
                AttemptOutcome::Cancelled
            } else {
                AttemptOutcome::Failed
            };
            record_attempt(
                &mut tx,
                AttemptRecord {
                    job_id: id,
                    attempt: job.attempt,
                    started_at: job.attempted_at.unwrap_or(now),
                    finished_at: now,
                    outcome,
                    error_kind: Some(error_kind),
                    message: Some(reason),
                    retryable: false,
                    worker: job.attempted_by.as_deref(),
                },
            )
            .await?;
        }
        let out = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Run a job again now: from `completed`, `cancelled`, `discarded`, `retryable` or
    /// `scheduled`. With `new_args`, the args are replaced and the first original args are kept
    /// in `original_args`. A job out of attempts gets one more.
    pub async fn retry(&self, id: i64, new_args: Option<Value>) -> Result<Job> {
        let now = self.now_ms();
        let mut tx = self.inner.db.begin().await?;
        let job = load(&mut tx, id).await?;
        if matches!(job.state, JobState::Available | JobState::Running) {
            return Err(QueueError::InvalidTransition {
                id,
                state: job.state,
                action: "retry",
            });
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
        let out = load(&mut tx, id).await?;
        tx.commit().await?;
        self.wake();
        Ok(out)
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

//! Ending attempts: group-committed finishes (complete / fail / snooze / cancel), the rescuer for
//! expired leases and crashed processes, and interruption at shutdown. Every statement is guarded
//! by `state = 'running' AND lease_token = <token>`, so a stale worker changes nothing.

use std::time::Duration;

use sea_query::{Expr, ExprTrait, Func, Query};
use serde_json::Value;

use crate::clock::duration_ms;
use crate::db::DbTx;
use crate::error::Result;
use crate::fingerprint::fingerprint;
use crate::hot::{self, Lease};
use crate::model::{AttemptOutcome, JobState};
use crate::queue::{FinishReport, Queue};

/// Why a handler's attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// A short machine-readable kind (`timeout`, `http_429`, `invalid_args`, `panic`, ...).
    pub kind: String,
    pub message: String,
    /// False: no point retrying (the job goes straight to `discarded`).
    pub retryable: bool,
    /// Structured facts for triage, stored with the attempt (e.g. TikTok's `request_id`, the endpoint).
    pub details: Option<Value>,
}

impl JobError {
    pub fn retryable(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            retryable: true,
            details: None,
        }
    }
    pub fn permanent(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            retryable: false,
            details: None,
        }
    }

    /// The same error with structured details (kept per attempt, shown in triage).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for JobError {}

/// What to do with a leased job.
#[derive(Debug, Clone, PartialEq)]
pub enum FinishAction {
    Complete,
    Fail(JobError),
    /// Run again after this delay without spending the attempt.
    Snooze(Duration),
    /// Stop for good (`cancelled`), with a reason.
    Cancel(String),
}

/// One finished attempt, as the pool's writer loop batches them.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub lease: Lease,
    pub kind: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub started_at: i64,
    pub worker: String,
    pub action: FinishAction,
}

/// A job row that the rescuer or shutdown looks at.
#[derive(Debug, sqlx::FromRow)]
struct RunningRow {
    id: i64,
    kind: String,
    attempt: i32,
    max_attempts: i32,
    lease_token: i64,
    attempted_at: Option<i64>,
    attempted_by: Option<String>,
}

/// Fields of a `job_attempts` row.
pub(crate) struct AttemptRecord<'a> {
    pub job_id: i64,
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: AttemptOutcome,
    pub error_kind: Option<&'a str>,
    pub message: Option<&'a str>,
    pub retryable: bool,
    pub worker: Option<&'a str>,
    pub details: Option<&'a Value>,
}

pub(crate) async fn record_attempt(tx: &mut DbTx, a: AttemptRecord<'_>) -> Result<()> {
    let stmt = Query::insert()
        .into_table("job_attempts")
        .columns([
            "job_id",
            "attempt",
            "started_at",
            "finished_at",
            "outcome",
            "error_kind",
            "message",
            "retryable",
            "worker",
            "details",
        ])
        .values([
            Expr::val(a.job_id),
            Expr::val(a.attempt),
            Expr::val(a.started_at),
            Expr::val(a.finished_at),
            Expr::val(a.outcome.as_str()),
            Expr::val(a.error_kind.map(str::to_owned)),
            Expr::val(a.message.map(str::to_owned)),
            Expr::val(a.retryable),
            Expr::val(a.worker.map(str::to_owned)),
            Expr::val(a.details.cloned()),
        ])?
        .to_owned();
    tx.exec(&stmt).await?;
    Ok(())
}

/// An UPDATE of one running job guarded by its lease.
fn guarded_update(lease: Lease) -> sea_query::UpdateStatement {
    Query::update()
        .table("jobs")
        .value("lease_token", Expr::val(Option::<i64>::None))
        .value("lease_expires_at", Expr::val(Option::<i64>::None))
        .and_where(Expr::col("id").eq(lease.id))
        .and_where(Expr::col("state").eq(JobState::Running.as_str()))
        .and_where(Expr::col("lease_token").eq(lease.token))
        .to_owned()
}

/// Stamp a failure on the row `stmt` updates: the fingerprint of (job kind, error kind, message), when
/// it happened, and since when the job has failed this way (kept while the fingerprint stays the same).
pub(crate) fn stamp_failure(
    stmt: &mut sea_query::UpdateStatement,
    job_kind: &str,
    error_kind: &str,
    message: &str,
    now: i64,
) {
    let fp = fingerprint(job_kind, error_kind, message);
    let since = Expr::case(
        Expr::col("error_fingerprint").eq(fp.as_str()),
        Func::coalesce([Expr::col("error_since"), Expr::val(now)]),
    )
    .finally(Expr::val(now));
    stmt.value("error_since", since)
        .value("error_fingerprint", fp)
        .value("last_error_at", now);
}

impl Queue {
    /// The state and run time after a failed attempt: retry with backoff, or dead-letter.
    fn after_failure(
        &self,
        kind: &str,
        attempt: i32,
        max_attempts: i32,
        retryable: bool,
        now: i64,
    ) -> (JobState, i64) {
        if retryable && attempt < max_attempts {
            let delay = self.inner.policies.for_kind(kind).delay_ms(attempt);
            (JobState::Retryable, now.saturating_add(delay))
        } else {
            (JobState::Discarded, now)
        }
    }

    /// Apply a batch of finished attempts in one transaction (group commit): all completions in
    /// one statement, the rest one guarded statement each. Leases no longer held are refused
    /// (reported in `lease_lost`), never applied.
    pub async fn finish(&self, batch: &[Finished]) -> Result<FinishReport> {
        if batch.is_empty() {
            return Ok(FinishReport::default());
        }
        let mut tx = self.inner.db.begin().await?;
        let applied = self.finish_in(&mut tx, batch, self.now_ms()).await?;
        tx.commit().await?;
        Ok(FinishReport::new(batch, applied))
    }

    /// The statements of [`Queue::finish`] inside the caller's transaction; returns the ids
    /// applied (they count only once the caller commits).
    pub(crate) async fn finish_in(
        &self,
        tx: &mut DbTx,
        batch: &[Finished],
        now: i64,
    ) -> Result<Vec<i64>> {
        let completes: Vec<Lease> = batch
            .iter()
            .filter(|f| f.action == FinishAction::Complete)
            .map(|f| f.lease)
            .collect();
        let mut applied = hot::complete_in(tx, &completes, now).await?;
        for f in batch.iter().filter(|f| f.action != FinishAction::Complete) {
            if self.finish_other(tx, f, now).await? {
                applied.push(f.lease.id);
            }
        }
        Ok(applied)
    }

    async fn finish_other(&self, tx: &mut DbTx, f: &Finished, now: i64) -> Result<bool> {
        let mut stmt = guarded_update(f.lease);
        let (outcome, kind, message, retryable): (AttemptOutcome, &str, String, bool) =
            match &f.action {
                FinishAction::Complete => return Ok(false),
                FinishAction::Fail(err) => {
                    let (state, at) =
                        self.after_failure(&f.kind, f.attempt, f.max_attempts, err.retryable, now);
                    stmt.value("state", state.as_str())
                        .value("last_error_kind", err.kind.as_str())
                        .value("last_error_message", err.message.as_str());
                    stamp_failure(&mut stmt, &f.kind, &err.kind, &err.message, now);
                    if state == JobState::Discarded {
                        stmt.value("finalized_at", now);
                    } else {
                        stmt.value("scheduled_at", at);
                    }
                    (
                        AttemptOutcome::Failed,
                        err.kind.as_str(),
                        err.message.clone(),
                        err.retryable,
                    )
                }
                FinishAction::Snooze(d) => {
                    // Woken while it ran (wake.rs moved `scheduled_at` past `attempted_at`): what
                    // it waited on changed after it looked, so it runs again now.
                    let woken = Expr::col("scheduled_at").gt(Expr::col("attempted_at"));
                    let at = Expr::case(woken, now).finally(now.saturating_add(duration_ms(*d)));
                    stmt.value("state", JobState::Scheduled.as_str())
                        .value("scheduled_at", at)
                        .value("attempt", Expr::col("attempt").sub(1))
                        .value("snoozes", Expr::col("snoozes").add(1));
                    (
                        AttemptOutcome::Snoozed,
                        "snoozed",
                        format!("snoozed for {} ms", duration_ms(*d)),
                        true,
                    )
                }
                FinishAction::Cancel(reason) => {
                    stmt.value("state", JobState::Cancelled.as_str())
                        .value("finalized_at", now)
                        .value("last_error_kind", "cancelled")
                        .value("last_error_message", reason.as_str());
                    (
                        AttemptOutcome::Cancelled,
                        "cancelled",
                        reason.clone(),
                        false,
                    )
                }
            };
        if tx.exec(&stmt).await? == 0 {
            return Ok(false);
        }
        record_attempt(
            tx,
            AttemptRecord {
                job_id: f.lease.id,
                attempt: f.attempt,
                started_at: f.started_at,
                finished_at: now,
                outcome,
                error_kind: Some(kind),
                message: Some(&message),
                retryable,
                worker: Some(&f.worker),
                details: match &f.action {
                    FinishAction::Fail(err) => err.details.as_ref(),
                    _ => None,
                },
            },
        )
        .await?;
        Ok(true)
    }

    /// Return jobs whose lease expired to `retryable` (or `discarded` when out of attempts),
    /// recording a `lost` attempt with error kind `lease_expired`. Returns how many were rescued.
    pub async fn rescue_expired(&self) -> Result<u64> {
        let now = self.now_ms();
        let cond = Expr::col("lease_expires_at").lt(now);
        self.rescue_where(
            cond,
            "lease_expired",
            "lease expired without a heartbeat",
            now,
        )
        .await
    }

    /// Rescue every job left `running` by worker identity `node_id` (call at start-up: a previous
    /// process with this identity died holding them). Error kind `worker_restarted`.
    pub async fn rescue_worker(&self, node_id: &str) -> Result<u64> {
        let now = self.now_ms();
        let cond = Expr::col("attempted_by").eq(node_id);
        self.rescue_where(
            cond,
            "worker_restarted",
            "the worker holding the job restarted",
            now,
        )
        .await
    }

    async fn rescue_where(
        &self,
        cond: Expr,
        error_kind: &str,
        message: &str,
        now: i64,
    ) -> Result<u64> {
        let mut total = 0;
        loop {
            let mut tx = self.inner.db.begin().await?;
            let select = Query::select()
                .columns([
                    "id",
                    "kind",
                    "attempt",
                    "max_attempts",
                    "lease_token",
                    "attempted_at",
                    "attempted_by",
                ])
                .from("jobs")
                .and_where(Expr::col("state").eq(JobState::Running.as_str()))
                .and_where(cond.clone())
                .limit(500)
                .to_owned();
            let rows: Vec<RunningRow> = tx.fetch_all(&select).await?;
            let n = rows.len();
            for r in rows {
                let lease = Lease {
                    id: r.id,
                    token: r.lease_token,
                };
                let (state, at) = self.after_failure(&r.kind, r.attempt, r.max_attempts, true, now);
                let mut stmt = guarded_update(lease);
                stmt.value("state", state.as_str())
                    .value("last_error_kind", error_kind)
                    .value("last_error_message", message);
                stamp_failure(&mut stmt, &r.kind, error_kind, message, now);
                if state == JobState::Discarded {
                    stmt.value("finalized_at", now);
                } else {
                    stmt.value("scheduled_at", at);
                }
                if tx.exec(&stmt).await? == 1 {
                    total += 1;
                    record_attempt(
                        &mut tx,
                        AttemptRecord {
                            job_id: r.id,
                            attempt: r.attempt,
                            started_at: r.attempted_at.unwrap_or(now),
                            finished_at: now,
                            outcome: AttemptOutcome::Lost,
                            error_kind: Some(error_kind),
                            message: Some(message),
                            retryable: true,
                            worker: r.attempted_by.as_deref(),
                            details: None,
                        },
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            if n < 500 {
                break;
            }
        }
        if total > 0 {
            tracing::info!(rescued = total, error_kind, "rescued running jobs");
            self.wake();
        }
        Ok(total)
    }

    /// Return leased jobs to `available` without spending their attempt (graceful shutdown),
    /// recording an `interrupted` attempt. Returns the ids actually returned.
    pub async fn interrupt(&self, leases: &[(Lease, i32, i64)], worker: &str) -> Result<Vec<i64>> {
        let now = self.now_ms();
        let mut done = Vec::new();
        let mut tx = self.inner.db.begin().await?;
        for &(lease, attempt, started_at) in leases {
            let mut stmt = guarded_update(lease);
            stmt.value("state", JobState::Available.as_str())
                .value("attempt", Expr::col("attempt").sub(1));
            if tx.exec(&stmt).await? == 1 {
                record_attempt(
                    &mut tx,
                    AttemptRecord {
                        job_id: lease.id,
                        attempt,
                        started_at,
                        finished_at: now,
                        outcome: AttemptOutcome::Interrupted,
                        error_kind: Some("shutdown"),
                        message: Some("worker shut down before the job finished"),
                        retryable: true,
                        worker: Some(worker),
                        details: None,
                    },
                )
                .await?;
                done.push(lease.id);
            }
        }
        tx.commit().await?;
        if !done.is_empty() {
            self.wake();
        }
        Ok(done)
    }
}

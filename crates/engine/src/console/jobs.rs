//! The CLI's job commands: list, show (args, original args, every attempt, audit history), retry one or
//! all failed jobs, discard one. Every retry and discard is recorded in the audit trail in the same
//! transaction as the change (the queue's `retry_tx` / `retry_many_tx` / `discard_tx`), so the change
//! and its record commit together. The console's triage screen has its own richer API (triage.rs).
//!
//! "Failed" for `retry_all_failed` means: every `retryable` job (it failed and waits out its back-off:
//! retrying runs it now) and every `discarded` job except those a person discarded on purpose
//! (`discarded_by_admin`; retry those one by one). `cancelled` jobs are not failures and are left alone.

use creatorflow_queue::{Attempt, Job, JobFilter, JobState, QueueError};
use serde::{Deserialize, Serialize};

use super::Console;
use crate::error::EngineError;
use crate::store::{AuditAction, AuditEvent, NewAuditEvent};

/// The queue's error kind of a job a person discarded (crates/queue/src/admin.rs).
const DISCARDED_BY_ADMIN: &str = "discarded_by_admin";

/// Which jobs to list (ascending by id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    /// Any of these states (empty: all).
    pub states: Vec<JobState>,
    pub kind: Option<String>,
    pub queue: Option<String>,
    /// Keyset: jobs with a larger id.
    pub after_id: Option<i64>,
    /// 1–1000, default 100.
    pub limit: Option<u64>,
}

/// One job with everything triage needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobDetail {
    /// `args` as it runs now and `original_args` when a retry edited them.
    pub job: Job,
    /// Every attempt that did not complete, oldest first (error kind, message, worker).
    pub attempts: Vec<Attempt>,
    /// Retries and discards people made, oldest first.
    pub audit: Vec<AuditEvent>,
}

/// A job `retry_all_failed` could not retry, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryOutcome {
    pub id: i64,
    pub kind: &'static str,
    pub error: String,
}

/// What `retry_all_failed` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryAllReport {
    pub retried: Vec<i64>,
    pub skipped: Vec<RetryOutcome>,
    /// The audit event recording `retried` (None when nothing was retried).
    pub audit_id: Option<i64>,
}

pub(crate) fn check_actor(actor: &str) -> Result<(), EngineError> {
    let n = actor.chars().count();
    // A blank name would record an action nobody can be asked about.
    if n == 0 || n > 256 || actor.trim().is_empty() {
        return Err(EngineError::InvalidInput {
            field: "actor",
            value: actor.chars().take(64).collect(),
            reason: "must be 1 to 256 characters, not all spaces".into(),
        });
    }
    Ok(())
}

impl Console {
    /// Jobs matching `q`, ascending by id.
    pub async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Job>, EngineError> {
        let filter = JobFilter {
            states: q.states.clone(),
            kind: q.kind.clone(),
            queue: q.queue.clone(),
            after_id: q.after_id,
            limit: q.limit,
        };
        self.queue.list(&filter).await.map_err(|e| self.db_error(e))
    }

    /// One job with its attempts and audit history.
    pub async fn show_job(&self, id: i64) -> Result<JobDetail, EngineError> {
        let job = self.queue.get(id).await.map_err(job_error)?;
        let attempts = self.queue.attempts(id).await.map_err(|e| self.db_error(e))?;
        let audit = self.store.audit_for_job(id).await?;
        Ok(JobDetail { job, attempts, audit })
    }

    /// Runs a job again now (from retryable, scheduled, discarded, cancelled or completed) and records
    /// it. A job out of attempts gets one more.
    pub async fn retry_job(&self, id: i64, actor: &str) -> Result<Job, EngineError> {
        check_actor(actor)?;
        let mut tx = self.store.begin().await?;
        let job = match self.queue.retry_tx(&mut tx, id, None).await {
            Ok(job) => job,
            Err(e) => {
                tx.rollback().await.map_err(|e| self.db_error(e))?;
                return Err(job_error(e));
            }
        };
        self.audit_in(&mut tx, actor, AuditAction::JobRetry, vec![id], None).await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        self.queue.wake();
        Ok(job)
    }

    /// Retries every failed job (see the module docs for which), optionally of one kind, and records
    /// them in one audit event. Jobs that cannot be retried (their unique key is held by a newer job,
    /// they changed state meanwhile) are reported, not fatal.
    pub async fn retry_all_failed(&self, kind: Option<&str>, actor: &str) -> Result<RetryAllReport, EngineError> {
        check_actor(actor)?;
        let mut filter = JobFilter {
            states: vec![JobState::Retryable, JobState::Discarded],
            kind: kind.map(str::to_owned),
            limit: Some(1000),
            ..JobFilter::default()
        };
        let mut ids = Vec::new();
        loop {
            let page = self.queue.list(&filter).await.map_err(|e| self.db_error(e))?;
            let Some(last) = page.last() else { break };
            filter.after_id = Some(last.id);
            ids.extend(
                page.iter()
                    .filter(|j| !(j.state == JobState::Discarded && j.last_error_kind.as_deref() == Some(DISCARDED_BY_ADMIN)))
                    .map(|j| j.id),
            );
        }
        if ids.is_empty() {
            return Ok(RetryAllReport { retried: Vec::new(), skipped: Vec::new(), audit_id: None });
        }
        // One transaction: every retry and the audit event recording them commit together.
        let mut tx = self.store.begin().await?;
        let out = self.queue.retry_many_tx(&mut tx, &ids).await.map_err(|e| self.db_error(e))?;
        let skipped = out
            .skipped
            .into_iter()
            .map(|(id, e)| {
                let err = EngineError::Job(e);
                RetryOutcome { id, kind: err.kind(), error: err.to_string() }
            })
            .collect();
        let audit_id = if out.changed.is_empty() {
            None
        } else {
            Some(self.audit_in(&mut tx, actor, AuditAction::JobRetry, out.changed.clone(), Some("--all-failed".into())).await?)
        };
        tx.commit().await.map_err(|e| self.db_error(e))?;
        self.queue.wake();
        Ok(RetryAllReport { retried: out.changed, skipped, audit_id })
    }

    /// Moves an unfinished job to the dead-letter state `discarded` with a reason, and records it.
    pub async fn discard_job(&self, id: i64, reason: &str, actor: &str) -> Result<Job, EngineError> {
        check_actor(actor)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 4096 {
            return Err(EngineError::InvalidInput {
                field: "reason",
                value: reason.chars().take(64).collect(),
                reason: "say why the job is discarded (1 to 4096 characters)".into(),
            });
        }
        let mut tx = self.store.begin().await?;
        let job = match self.queue.discard_tx(&mut tx, id, reason).await {
            Ok(job) => job,
            Err(e) => {
                tx.rollback().await.map_err(|e| self.db_error(e))?;
                return Err(job_error(e));
            }
        };
        self.audit_in(&mut tx, actor, AuditAction::JobDiscard, vec![id], Some(reason.to_owned())).await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(job)
    }

    /// Append an audit event inside the action's transaction.
    async fn audit_in(
        &self,
        tx: &mut creatorflow_queue::DbTx,
        actor: &str,
        action: AuditAction,
        job_ids: Vec<i64>,
        reason: Option<String>,
    ) -> Result<i64, EngineError> {
        Ok(self.store.append_audit(tx, &NewAuditEvent { actor: actor.to_owned(), action, job_ids, reason, details: None }).await?)
    }
}

fn job_error(e: QueueError) -> EngineError {
    EngineError::Job(e)
}

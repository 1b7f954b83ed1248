//! Failed-job triage, the acting half: retry now, edit-and-retry (the original args are kept), discard
//! with a reason, cancel; bulk actions on a list of ids or on everything matching a [`TriageFilter`],
//! and the audit log.
//!
//! Every action writes its audit event (who, when, what, how many) in the same transaction as the
//! state change, through the queue's `*_tx` transitions: the change and its record commit together or
//! not at all. A bulk action takes the count its preview showed and re-reads the matching set inside
//! its transaction; when the set changed size it refuses (`count_changed`) and changes nothing, so
//! staff never act on more (or other) jobs than they saw.

use creatorflow_queue::{BatchOutcome, JobState};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use ts_rs::TS;

use super::Console;
use super::triage::{AuditEntry, StateCount, TriageFilter, TriageJob, filtered, read_all, tx_read_all};
use crate::error::EngineError;
use crate::store::{AuditAction, AuditEvent, NewAuditEvent};

/// Most jobs one bulk action may change: bounds how long it holds SQLite's one writer.
pub const MAX_BULK: usize = 50_000;
/// Largest edited args accepted (bytes of JSON).
const MAX_ARGS_BYTES: usize = 64 * 1024;
/// Job ids an audit entry lists.
const AUDIT_IDS_SHOWN: usize = 100;

/// What to do with jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TriageAction {
    /// Run again now (from retryable, scheduled, discarded, cancelled or completed).
    Retry,
    /// Dead-letter (from any unfinished state), with a reason.
    Discard,
    /// Stop for good (from any unfinished state).
    Cancel,
}

impl TriageAction {
    fn audit(self) -> AuditAction {
        match self {
            TriageAction::Retry => AuditAction::JobRetry,
            TriageAction::Discard => AuditAction::JobDiscard,
            TriageAction::Cancel => AuditAction::JobCancel,
        }
    }

    /// Whether a job in `state` can take this action.
    fn applies_to(self, state: JobState) -> bool {
        match self {
            TriageAction::Retry => !matches!(state, JobState::Available | JobState::Running),
            TriageAction::Discard | TriageAction::Cancel => !state.is_finalized(),
        }
    }
}

/// Which jobs a bulk action is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum JobSelection {
    /// These jobs (e.g. the rows a person ticked).
    Ids { ids: Vec<i64> },
    /// Every failed job matching the filter.
    Filter { filter: TriageFilter },
}

/// A bulk preview request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BulkPreviewRequest {
    pub selection: JobSelection,
    pub action: TriageAction,
}

/// What a bulk action would touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkPreview {
    /// Jobs selected: pass it as `expected_count` to act.
    pub count: i64,
    /// Of those, how many the action applies to (the others will be skipped, e.g. running jobs for a retry).
    pub actionable: i64,
    pub states: Vec<StateCount>,
}

/// A bulk action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BulkRequest {
    pub selection: JobSelection,
    pub action: TriageAction,
    /// The preview's `count`: the action refuses when the selection changed size since.
    pub expected_count: i64,
    /// Required to discard; recorded for cancel (a default names the console).
    pub reason: Option<String>,
}

/// A job an action left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SkippedJob {
    pub id: i64,
    pub reason: String,
}

/// What a bulk action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkReport {
    pub action: TriageAction,
    /// Jobs selected (equal to the expected count).
    pub matched: i64,
    pub changed: Vec<i64>,
    pub skipped: Vec<SkippedJob>,
    /// The audit event recording the action.
    pub audit_id: i64,
}

/// Retry one job now, optionally with edited args (the original args are kept on the job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RetryRequest {
    pub id: i64,
    /// New args (a JSON object); `None` retries with the current args.
    #[ts(type = "unknown")]
    pub args: Option<Value>,
}

/// Discard or cancel one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JobActionRequest {
    pub id: i64,
    /// Required to discard.
    pub reason: Option<String>,
}

/// What a single-job action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ActionResult {
    pub job: TriageJob,
    pub audit_id: i64,
}

/// Which audit events (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AuditQuery {
    /// Only events of this action (every name: [`AuditAction`]; the TypeScript binding lists them).
    pub action: Option<AuditAction>,
    pub actor: Option<String>,
    /// Events that touched this job.
    pub job_id: Option<i64>,
    /// Events with a smaller id (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<u32>,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

/// The actor to record. The face says who acts (the desktop: the OS user; the web console: the
/// client), never the request body, so a caller cannot sign an action with someone else's name.
fn actor_of(actor: &str) -> Result<String, EngineError> {
    let a = actor.trim();
    super::jobs::check_actor(a)?;
    Ok(a.to_owned())
}

/// The reason to record: required to discard, defaulted for cancel and retry.
fn reason_of(action: TriageAction, reason: &Option<String>) -> Result<Option<String>, EngineError> {
    let r = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if r.is_some_and(|r| r.chars().count() > 4096) {
        return Err(EngineError::InvalidInput { field: "reason", value: r.unwrap_or_default().chars().take(64).collect(), reason: "at most 4096 characters".into() });
    }
    match (action, r) {
        (TriageAction::Discard, None) => Err(EngineError::InvalidInput {
            field: "reason",
            value: String::new(),
            reason: "say why the jobs are discarded (1 to 4096 characters)".into(),
        }),
        (TriageAction::Cancel, None) => Ok(Some("cancelled from the triage console".into())),
        (_, r) => Ok(r.map(str::to_owned)),
    }
}

fn skipped(out: &BatchOutcome) -> Vec<SkippedJob> {
    out.skipped.iter().map(|(id, e)| SkippedJob { id: *id, reason: e.to_string() }).collect()
}

impl Console {
    /// The jobs of a selection with their states, read inside `tx` when given (the bulk action) or on
    /// the read side (the preview). Ascending by id.
    async fn selected(&self, tx: Option<&mut creatorflow_queue::DbTx>, sel: &JobSelection) -> Result<Vec<(i64, String)>, EngineError> {
        let b = self.queue.db().backend();
        let stmt = match sel {
            JobSelection::Ids { ids } => {
                if ids.is_empty() || ids.len() > MAX_BULK {
                    return Err(EngineError::InvalidInput {
                        field: "ids",
                        value: ids.len().to_string(),
                        reason: format!("select 1 to {MAX_BULK} jobs"),
                    });
                }
                Query::select()
                    .columns(["id", "state"])
                    .from("jobs")
                    .and_where(Expr::col("id").is_in(ids.iter().copied()))
                    .order_by("id", Order::Asc)
                    .to_owned()
            }
            JobSelection::Filter { filter } => {
                filter.validate()?;
                filtered(b, filter)
                    .expr_as(Expr::col(("j", "id")), "id")
                    .expr_as(Expr::col(("j", "state")), "state")
                    .order_by(("j", "id"), Order::Asc)
                    .to_owned()
            }
        };
        Ok(match tx {
            Some(tx) => tx_read_all(tx, &stmt).await?,
            None => read_all(self.queue.db(), &stmt).await?,
        })
    }

    /// How many jobs a bulk action would select, and how many of them it applies to.
    pub async fn triage_preview(&self, req: &BulkPreviewRequest) -> Result<BulkPreview, EngineError> {
        let rows = self.selected(None, &req.selection).await?;
        let mut states: BTreeMap<JobState, i64> = BTreeMap::new();
        for (_, s) in &rows {
            *states.entry(s.parse().map_err(EngineError::Job)?).or_insert(0) += 1;
        }
        let actionable = states.iter().filter(|(s, _)| req.action.applies_to(**s)).map(|(_, n)| n).sum();
        Ok(BulkPreview {
            count: rows.len() as i64,
            actionable,
            states: states.into_iter().map(|(state, count)| StateCount { state, count }).collect(),
        })
    }

    /// Act on every selected job in one transaction with its audit event. Refuses with
    /// `count_changed` (and changes nothing) when the selection no longer has `expected_count` jobs.
    pub async fn triage_bulk(&self, req: &BulkRequest, actor: &str) -> Result<BulkReport, EngineError> {
        let actor = actor_of(actor)?;
        let reason = reason_of(req.action, &req.reason)?;
        let mut tx = self.store.begin().await?;
        let rows = self.selected(Some(&mut tx), &req.selection).await?;
        if rows.len() as i64 != req.expected_count {
            tx.rollback().await.map_err(|e| self.db_error(e))?;
            return Err(EngineError::CountChanged { expected: req.expected_count, actual: rows.len() as i64 });
        }
        if rows.len() > MAX_BULK {
            tx.rollback().await.map_err(|e| self.db_error(e))?;
            return Err(EngineError::InvalidInput {
                field: "selection",
                value: rows.len().to_string(),
                reason: format!("a bulk action changes at most {MAX_BULK} jobs: narrow the filter"),
            });
        }
        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let r = reason.as_deref().unwrap_or_default();
        let out = match req.action {
            TriageAction::Retry => self.queue.retry_many_tx(&mut tx, &ids).await,
            TriageAction::Discard => self.queue.discard_many_tx(&mut tx, &ids, r).await,
            TriageAction::Cancel => self.queue.cancel_many_tx(&mut tx, &ids, r).await,
        }
        .map_err(|e| self.db_error(e))?;
        let selection = serde_json::to_value(&req.selection).unwrap_or(Value::Null);
        let details = json!({"selection": selection, "matched": ids.len(), "skipped": out.skipped.len()});
        let audit_id = self
            .store
            .append_audit(
                &mut tx,
                &NewAuditEvent { actor, action: req.action.audit(), job_ids: out.changed.clone(), reason, details: Some(details) },
            )
            .await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        if req.action == TriageAction::Retry {
            self.queue.wake();
        }
        Ok(BulkReport { action: req.action, matched: ids.len() as i64, skipped: skipped(&out), changed: out.changed, audit_id })
    }

    /// Retry one job now; with `args`, edit-and-retry (the job keeps its first original args).
    pub async fn triage_retry(&self, req: &RetryRequest, actor: &str) -> Result<ActionResult, EngineError> {
        let actor = actor_of(actor)?;
        if let Some(args) = &req.args {
            let size = serde_json::to_string(args).map(|s| s.len()).unwrap_or(usize::MAX);
            if !args.is_object() || size > MAX_ARGS_BYTES {
                return Err(EngineError::InvalidInput {
                    field: "args",
                    value: args.to_string().chars().take(64).collect(),
                    reason: format!("must be a JSON object of at most {MAX_ARGS_BYTES} bytes"),
                });
            }
        }
        let mut tx = self.store.begin().await?;
        let before = self.queue.get(req.id).await.map_err(EngineError::Job)?;
        self.queue.retry_tx(&mut tx, req.id, req.args.clone()).await.map_err(EngineError::Job)?;
        let details = req.args.as_ref().map(|new| json!({"edited_args": {"from": before.args, "to": new}}));
        let audit_id = self
            .store
            .append_audit(&mut tx, &NewAuditEvent { actor, action: AuditAction::JobRetry, job_ids: vec![req.id], reason: None, details })
            .await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        self.queue.wake();
        Ok(ActionResult { job: self.triage_job(req.id).await?.job, audit_id })
    }

    /// Discard one unfinished job with a reason.
    pub async fn triage_discard(&self, req: &JobActionRequest, actor: &str) -> Result<ActionResult, EngineError> {
        self.finalize_one(TriageAction::Discard, req, actor).await
    }

    /// Cancel one unfinished job.
    pub async fn triage_cancel(&self, req: &JobActionRequest, actor: &str) -> Result<ActionResult, EngineError> {
        self.finalize_one(TriageAction::Cancel, req, actor).await
    }

    async fn finalize_one(&self, action: TriageAction, req: &JobActionRequest, actor: &str) -> Result<ActionResult, EngineError> {
        let actor = actor_of(actor)?;
        let reason = reason_of(action, &req.reason)?;
        let r = reason.as_deref().unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let changed = match action {
            TriageAction::Discard => self.queue.discard_tx(&mut tx, req.id, r).await,
            _ => self.queue.cancel_tx(&mut tx, req.id, r).await,
        };
        if let Err(e) = changed {
            tx.rollback().await.map_err(|e| self.db_error(e))?;
            return Err(EngineError::Job(e));
        }
        let audit_id = self
            .store
            .append_audit(&mut tx, &NewAuditEvent { actor, action: action.audit(), job_ids: vec![req.id], reason, details: None })
            .await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(ActionResult { job: self.triage_job(req.id).await?.job, audit_id })
    }

    /// The audit log, newest first, filtered by action, actor or job.
    pub async fn audit_log(&self, q: &AuditQuery) -> Result<AuditPage, EngineError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 500);
        let mut stmt = Query::select()
            .columns([("e", "id"), ("e", "at"), ("e", "actor"), ("e", "action"), ("e", "job_count"), ("e", "reason"), ("e", "details")])
            .from_as("audit_events", "e")
            .order_by(("e", "id"), Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        if let Some(a) = q.action {
            stmt.and_where(Expr::col(("e", "action")).eq(a.as_str()));
        }
        if let Some(a) = q.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            stmt.and_where(Expr::col(("e", "actor")).eq(a));
        }
        if let Some(job) = q.job_id {
            let touched = Query::select().column("audit_id").from("audit_event_jobs").and_where(Expr::col("job_id").eq(job)).to_owned();
            stmt.and_where(Expr::col(("e", "id")).in_subquery(touched));
        }
        if let Some(before) = q.before {
            stmt.and_where(Expr::col(("e", "id")).lt(before));
        }
        let mut events: Vec<AuditEvent> = read_all(self.queue.db(), &stmt).await?;
        let next_before = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { events: self.audit_entries(events).await?, next_before })
    }

    /// Audit events with (the first 100 of) their job ids.
    pub(crate) async fn audit_entries(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditEntry>, EngineError> {
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let stmt = Query::select()
                .column("job_id")
                .from("audit_event_jobs")
                .and_where(Expr::col("audit_id").eq(e.id))
                .order_by("job_id", Order::Asc)
                .limit(AUDIT_IDS_SHOWN as u64)
                .to_owned();
            let ids: Vec<(i64,)> = read_all(self.queue.db(), &stmt).await?;
            out.push(AuditEntry {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                job_count: e.job_count,
                reason: e.reason,
                job_ids: ids.into_iter().map(|r| r.0).collect(),
                details: e.details,
            });
        }
        Ok(out)
    }
}

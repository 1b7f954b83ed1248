//! Data types of the queue: states, jobs as stored, new jobs, attempts and counts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::error::QueueError;

/// The seven job states (River's names). See docs/job-states.md for who moves a job out of each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Available,
    Scheduled,
    Running,
    Retryable,
    Completed,
    Cancelled,
    Discarded,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 7] = [
        JobState::Available,
        JobState::Scheduled,
        JobState::Running,
        JobState::Retryable,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Discarded,
    ];

    /// The TEXT stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Available => "available",
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Retryable => "retryable",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Discarded => "discarded",
        }
    }

    /// Completed, cancelled and discarded jobs are finished: no worker will touch them again.
    pub fn is_finalized(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Cancelled | JobState::Discarded
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = QueueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| QueueError::UnknownState(s.to_owned()))
    }
}

/// A job to enqueue. Build with [`NewJob::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    pub args: Value,
    /// Lower runs sooner.
    pub priority: i16,
    /// Run no earlier than this delay from now (None = now).
    pub delay: Option<Duration>,
    /// Run no earlier than this Unix-ms time (overrides `delay`).
    pub run_at_ms: Option<i64>,
    /// None: the kind's retry policy decides.
    pub max_attempts: Option<i32>,
    /// No second unfinished job with the same key may exist.
    pub unique_key: Option<String>,
}

/// The default queue name.
pub const DEFAULT_QUEUE: &str = "default";

impl NewJob {
    /// A job of `kind` with typed `args`, on the default queue.
    pub fn new<A: Serialize>(kind: impl Into<String>, args: &A) -> Result<Self, QueueError> {
        let kind = kind.into();
        let args = serde_json::to_value(args).map_err(|source| QueueError::EncodeArgs {
            kind: kind.clone(),
            source,
        })?;
        Ok(Self::from_value(kind, args))
    }

    /// A job of `kind` with raw JSON args.
    pub fn from_value(kind: impl Into<String>, args: Value) -> Self {
        Self {
            queue: DEFAULT_QUEUE.to_owned(),
            kind: kind.into(),
            args,
            priority: 0,
            delay: None,
            run_at_ms: None,
            max_attempts: None,
            unique_key: None,
        }
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    pub fn run_at_ms(mut self, at: i64) -> Self {
        self.run_at_ms = Some(at);
        self
    }
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = Some(n);
        self
    }
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// Result of an insert: a new job, or the id of the unfinished job already holding the unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Inserted {
    New(i64),
    Duplicate(i64),
}

impl Inserted {
    /// The job id either way.
    pub fn id(self) -> i64 {
        match self {
            Inserted::New(id) | Inserted::Duplicate(id) => id,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub args: Value,
    pub original_args: Option<Value>,
    pub state: JobState,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub scheduled_at: i64,
    pub created_at: i64,
    pub attempted_at: Option<i64>,
    pub finalized_at: Option<i64>,
    pub lease_token: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub attempted_by: Option<String>,
    pub unique_key: Option<String>,
    pub snoozes: i32,
    pub last_error_kind: Option<String>,
    pub last_error_message: Option<String>,
}

/// Column list matching [`JobRow`], shared by every hand-written statement (a macro so it can be
/// `concat!`ed into `&'static str` SQL).
macro_rules! job_columns {
    () => {
        "id, queue, kind, args, original_args, state, priority, attempt, max_attempts, scheduled_at, \
         created_at, attempted_at, finalized_at, lease_token, lease_expires_at, attempted_by, \
         unique_key, snoozes, last_error_kind, last_error_message"
    };
}
pub(crate) use job_columns;

/// The same column list for sea-query selects.
pub(crate) const JOB_COLUMN_NAMES: [&str; 20] = [
    "id",
    "queue",
    "kind",
    "args",
    "original_args",
    "state",
    "priority",
    "attempt",
    "max_attempts",
    "scheduled_at",
    "created_at",
    "attempted_at",
    "finalized_at",
    "lease_token",
    "lease_expires_at",
    "attempted_by",
    "unique_key",
    "snoozes",
    "last_error_kind",
    "last_error_message",
];

/// The raw row; converted to [`Job`] after checking the state string.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub args: Json<Value>,
    pub original_args: Option<Json<Value>>,
    pub state: String,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub scheduled_at: i64,
    pub created_at: i64,
    pub attempted_at: Option<i64>,
    pub finalized_at: Option<i64>,
    pub lease_token: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub attempted_by: Option<String>,
    pub unique_key: Option<String>,
    pub snoozes: i32,
    pub last_error_kind: Option<String>,
    pub last_error_message: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = QueueError;
    fn try_from(r: JobRow) -> Result<Self, QueueError> {
        Ok(Job {
            id: r.id,
            queue: r.queue,
            kind: r.kind,
            args: r.args.0,
            original_args: r.original_args.map(|j| j.0),
            state: r.state.parse()?,
            priority: r.priority,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            scheduled_at: r.scheduled_at,
            created_at: r.created_at,
            attempted_at: r.attempted_at,
            finalized_at: r.finalized_at,
            lease_token: r.lease_token,
            lease_expires_at: r.lease_expires_at,
            attempted_by: r.attempted_by,
            unique_key: r.unique_key,
            snoozes: r.snoozes,
            last_error_kind: r.last_error_kind,
            last_error_message: r.last_error_message,
        })
    }
}

/// How an unsuccessful attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The handler returned an error (or panicked, or the job could not be decoded).
    Failed,
    /// The lease expired or the process died: the rescuer took the job back.
    Lost,
    /// Graceful shutdown returned the job to the queue; the attempt was not spent.
    Interrupted,
    /// The handler asked to run again later; the attempt was not spent.
    Snoozed,
    /// The handler cancelled the job.
    Cancelled,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Lost => "lost",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Snoozed => "snoozed",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }
}

/// One recorded attempt that did not complete.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub job_id: i64,
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: String,
    pub error_kind: Option<String>,
    pub message: Option<String>,
    pub retryable: bool,
    pub worker: Option<String>,
    /// Structured facts of the failure (migration 0006), e.g. TikTok's `request_id`.
    #[sqlx(json(nullable))]
    pub details: Option<Value>,
}

/// Number of jobs in one (queue, kind, state) group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    pub queue: String,
    pub kind: String,
    pub state: JobState,
    pub count: i64,
}

/// Job counts grouped by queue, kind and state, with aggregations for dashboards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub rows: Vec<CountRow>,
}

impl Counts {
    /// Total jobs in `state` across queues and kinds.
    pub fn state(&self, state: JobState) -> i64 {
        self.rows
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.count)
            .sum()
    }

    /// Totals per state, every state present (zero when empty), in lifecycle order.
    pub fn by_state(&self) -> Vec<(JobState, i64)> {
        JobState::ALL.iter().map(|&s| (s, self.state(s))).collect()
    }

    /// Totals per kind and state.
    pub fn by_kind(&self) -> std::collections::BTreeMap<(String, JobState), i64> {
        let mut m = std::collections::BTreeMap::new();
        for r in &self.rows {
            *m.entry((r.kind.clone(), r.state)).or_insert(0) += r.count;
        }
        m
    }

    /// Totals per queue and state.
    pub fn by_queue(&self) -> std::collections::BTreeMap<(String, JobState), i64> {
        let mut m = std::collections::BTreeMap::new();
        for r in &self.rows {
            *m.entry((r.queue.clone(), r.state)).or_insert(0) += r.count;
        }
        m
    }

    /// All jobs counted.
    pub fn total(&self) -> i64 {
        self.rows.iter().map(|r| r.count).sum()
    }
}

/// Filters for [`crate::Queue::list`]; keyset pagination by id (ascending, after `after_id`).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub states: Vec<JobState>,
    pub kind: Option<String>,
    pub queue: Option<String>,
    pub after_id: Option<i64>,
    pub limit: Option<u64>,
}

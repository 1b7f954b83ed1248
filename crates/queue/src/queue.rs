//! `Queue`: the handle every caller uses — enqueue (also inside the caller's transaction), reads,
//! and the low-level claim/finish/heartbeat API the worker pool is built on.

use std::sync::Arc;
use std::time::Duration;

use sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query};
use tokio::sync::Notify;

use crate::backoff::{RetryPolicies, RetryPolicy};
use crate::clock::{Clock, SystemClock, duration_ms};
use crate::db::{Db, DbTx};
use crate::error::{QueueError, Result};
use crate::finish::Finished;
use crate::hot::{self, ClaimSpec, Lease};
use crate::model::{
    Attempt, CountRow, Counts, Inserted, JOB_COLUMN_NAMES, Job, JobFilter, JobRow, JobState, NewJob,
};

/// Rows per multi-row INSERT: 11 bound values each stays well under SQLite's 32,766-variable limit.
const INSERT_CHUNK: usize = 1000;
/// Rows per SQLite bulk insert (one JSON parameter, so no variable limit applies).
const SQLITE_BULK_CHUNK: usize = 5000;
const FINALIZED: [&str; 3] = ["completed", "cancelled", "discarded"];

/// The durable job queue over one database. Cheap to clone; clones share the clock, the retry
/// policies and the in-process wake-up signal.
#[derive(Debug, Clone)]
pub struct Queue {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policies: RetryPolicies,
    /// Woken after every committed in-process enqueue so idle pools pick up at once.
    pub(crate) wake: Notify,
}

/// Builder for a [`Queue`] with a custom clock or retry policies.
#[derive(Debug)]
pub struct QueueBuilder {
    db: Db,
    clock: Arc<dyn Clock>,
    policies: RetryPolicies,
}

impl QueueBuilder {
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// The policy for kinds without their own.
    pub fn default_policy(mut self, policy: RetryPolicy) -> Self {
        self.policies.default = policy;
        self
    }
    /// Override attempts/backoff for one job kind.
    pub fn kind_policy(mut self, kind: impl Into<String>, policy: RetryPolicy) -> Self {
        self.policies.per_kind.insert(kind.into(), policy);
        self
    }
    pub fn build(self) -> Queue {
        Queue {
            inner: Arc::new(Inner {
                db: self.db,
                clock: self.clock,
                policies: self.policies,
                wake: Notify::new(),
            }),
        }
    }
}

/// Outcome of [`Queue::finish`]: which leases were applied and which were refused as lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishReport {
    /// Sorted ascending.
    pub applied: Vec<i64>,
    pub lease_lost: Vec<i64>,
}

impl FinishReport {
    /// Sort the applied ids of `batch`; every other lease of it was refused.
    pub(crate) fn new(batch: &[Finished], mut applied: Vec<i64>) -> Self {
        applied.sort_unstable();
        let lease_lost: Vec<i64> = batch
            .iter()
            .map(|f| f.lease.id)
            .filter(|id| applied.binary_search(id).is_err())
            .collect();
        if !lease_lost.is_empty() {
            tracing::warn!(ids = ?lease_lost, "refused results of jobs whose lease was lost");
        }
        Self {
            applied,
            lease_lost,
        }
    }
}

impl Queue {
    /// A queue with the system clock and default retry policies.
    pub fn new(db: Db) -> Self {
        Self::builder(db).build()
    }

    pub fn builder(db: Db) -> QueueBuilder {
        QueueBuilder {
            db,
            clock: Arc::new(SystemClock),
            policies: RetryPolicies::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn policies(&self) -> &RetryPolicies {
        &self.inner.policies
    }

    /// Wake idle worker pools of this process (call after committing a transaction that used
    /// [`Queue::insert_tx`]; plain inserts do it themselves).
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    fn validate(&self, job: &NewJob) -> Result<()> {
        for (field, v) in [("queue name", &job.queue), ("job kind", &job.kind)] {
            if v.is_empty() || v.len() > 128 {
                return Err(QueueError::InvalidInput {
                    field,
                    value: format!("{v:?} (must be 1 to 128 bytes)"),
                });
            }
        }
        if let Some(n) = job.max_attempts
            && n < 1
        {
            return Err(QueueError::InvalidInput {
                field: "max_attempts",
                value: n.to_string(),
            });
        }
        Ok(())
    }

    /// Run time, initial state and attempt budget of a new job.
    fn placement(&self, job: &NewJob, now: i64) -> (i64, JobState, i32) {
        let scheduled_at = job
            .run_at_ms
            .unwrap_or_else(|| now.saturating_add(job.delay.map(duration_ms).unwrap_or(0)));
        let state = if scheduled_at > now {
            JobState::Scheduled
        } else {
            JobState::Available
        };
        let max_attempts = job
            .max_attempts
            .unwrap_or_else(|| self.inner.policies.for_kind(&job.kind).max_attempts);
        (scheduled_at, state, max_attempts)
    }

    /// One row of the SQLite bulk insert (see `hot::SQLITE_BULK_INSERT` for the positions).
    #[allow(clippy::type_complexity)]
    fn bulk_row<'a>(
        &self,
        job: &'a NewJob,
        now: i64,
    ) -> (
        &'a str,
        &'a str,
        &'a serde_json::Value,
        &'static str,
        i16,
        i32,
        i64,
    ) {
        let (scheduled_at, state, max_attempts) = self.placement(job, now);
        (
            &job.queue,
            &job.kind,
            &job.args,
            state.as_str(),
            job.priority,
            max_attempts,
            scheduled_at,
        )
    }

    /// Column values of one new job, in `INSERT_COLUMNS` order.
    fn insert_values(&self, job: &NewJob, now: i64) -> Vec<Expr> {
        let (scheduled_at, state, max_attempts) = self.placement(job, now);
        vec![
            Expr::val(job.queue.as_str()),
            Expr::val(job.kind.as_str()),
            Expr::val(job.args.clone()),
            Expr::val(state.as_str()),
            Expr::val(job.priority),
            Expr::val(0i32),
            Expr::val(max_attempts),
            Expr::val(scheduled_at),
            Expr::val(now),
            Expr::val(job.unique_key.clone()),
            Expr::val(0i32),
        ]
    }

    const INSERT_COLUMNS: [&'static str; 11] = [
        "queue",
        "kind",
        "args",
        "state",
        "priority",
        "attempt",
        "max_attempts",
        "scheduled_at",
        "created_at",
        "unique_key",
        "snoozes",
    ];

    /// Insert one job inside `tx`; a unique key already held by an unfinished job yields
    /// `Inserted::Duplicate(existing id)`.
    async fn insert_one_in(&self, tx: &mut DbTx, job: &NewJob, now: i64) -> Result<Inserted> {
        self.validate(job)?;
        let mut stmt = Query::insert();
        stmt.into_table("jobs")
            .columns(Self::INSERT_COLUMNS)
            .values(self.insert_values(job, now))?
            .returning_col("id");
        if job.unique_key.is_some() {
            stmt.on_conflict(OnConflict::new().do_nothing().to_owned());
        }
        if let Some(id) = tx.fetch_optional::<(i64,), _>(&stmt).await? {
            return Ok(Inserted::New(id.0));
        }
        let key = job.unique_key.clone().unwrap_or_default();
        let existing = Query::select()
            .column("id")
            .from("jobs")
            .and_where(Expr::col("unique_key").eq(key.as_str()))
            .and_where(Expr::col("state").is_not_in(FINALIZED))
            .to_owned();
        match tx.fetch_optional::<(i64,), _>(&existing).await? {
            Some((id,)) => Ok(Inserted::Duplicate(id)),
            // The holder was finalized between our insert and this read (possible on PostgreSQL
            // under READ COMMITTED): the caller may simply insert again.
            None => Err(QueueError::UniqueConflict(key)),
        }
    }

    /// Enqueue one job in its own transaction.
    pub async fn insert(&self, job: NewJob) -> Result<Inserted> {
        let now = self.now_ms();
        let mut tx = self.inner.db.begin().await?;
        let r = self.insert_one_in(&mut tx, &job, now).await?;
        tx.commit().await?;
        self.wake();
        Ok(r)
    }

    /// Enqueue one job inside the caller's transaction: it exists only if the caller commits.
    /// Call [`Queue::wake`] after the commit for an immediate pickup in this process.
    pub async fn insert_tx(&self, tx: &mut DbTx, job: NewJob) -> Result<Inserted> {
        if tx.backend() != self.inner.db.backend() {
            return Err(QueueError::BackendMismatch {
                queue: self.inner.db.backend().name(),
                tx: tx.backend().name(),
            });
        }
        let now = self.now_ms();
        self.insert_one_in(tx, &job, now).await
    }

    /// Enqueue many jobs inside the caller's transaction (multi-row inserts of up to 1,000 rows);
    /// results are in input order, and a unique key already held by an unfinished job (or by an
    /// earlier job of the same call) yields `Inserted::Duplicate`. Call [`Queue::wake`] after the
    /// commit. The sync enqueues a page of orders' jobs with this: one statement, not one per order.
    pub async fn insert_many_tx(&self, tx: &mut DbTx, jobs: &[NewJob]) -> Result<Vec<Inserted>> {
        if tx.backend() != self.inner.db.backend() {
            return Err(QueueError::BackendMismatch {
                queue: self.inner.db.backend().name(),
                tx: tx.backend().name(),
            });
        }
        for j in jobs {
            self.validate(j)?;
        }
        let now = self.now_ms();
        let mut out: Vec<Option<Inserted>> = vec![None; jobs.len()];
        for (c, chunk) in jobs.chunks(INSERT_CHUNK).enumerate() {
            let offset = c * INSERT_CHUNK;
            let mut stmt = Query::insert();
            stmt.into_table("jobs").columns(Self::INSERT_COLUMNS);
            for job in chunk {
                stmt.values(self.insert_values(job, now))?;
            }
            stmt.on_conflict(OnConflict::new().do_nothing().to_owned())
                .returning(Query::returning().columns(["id", "unique_key"]));
            let mut rows: Vec<(i64, Option<String>)> = tx.fetch_all(&stmt).await?;
            // Ids of one statement are assigned in row order; RETURNING order is unspecified.
            rows.sort_unstable_by_key(|r| r.0);
            let mut by_key = std::collections::HashMap::new();
            let mut plain = Vec::new();
            for (id, key) in rows {
                match key {
                    Some(k) => {
                        by_key.insert(k, id);
                    }
                    None => plain.push(id),
                }
            }
            let mut plain = plain.into_iter();
            for (i, job) in chunk.iter().enumerate() {
                out[offset + i] = match &job.unique_key {
                    // The first job of the call with a key is the one inserted.
                    Some(k) => by_key.remove(k).map(Inserted::New),
                    None => plain.next().map(Inserted::New),
                };
            }
        }
        // Keys that were taken: by an unfinished job, or by an earlier row of this call.
        let missing: Vec<&str> = jobs
            .iter()
            .zip(&out)
            .filter(|(_, r)| r.is_none())
            .filter_map(|(j, _)| j.unique_key.as_deref())
            .collect();
        let mut holders = std::collections::HashMap::new();
        for keys in missing.chunks(INSERT_CHUNK) {
            let stmt = Query::select()
                .columns(["id", "unique_key"])
                .from("jobs")
                .and_where(Expr::col("unique_key").is_in(keys.iter().copied()))
                .and_where(Expr::col("state").is_not_in(FINALIZED))
                .to_owned();
            let rows: Vec<(i64, String)> = tx.fetch_all(&stmt).await?;
            holders.extend(rows.into_iter().map(|(id, k)| (k, id)));
        }
        let mut result = Vec::with_capacity(jobs.len());
        for (job, r) in jobs.iter().zip(out) {
            result.push(match (r, &job.unique_key) {
                (Some(r), _) => r,
                (None, Some(k)) => match holders.get(k) {
                    Some(&id) => Inserted::Duplicate(id),
                    // The holder was finalized between our insert and the read (PostgreSQL under
                    // READ COMMITTED): the caller may simply insert again.
                    None => return Err(QueueError::UniqueConflict(k.clone())),
                },
                (None, None) => {
                    return Err(QueueError::InvalidInput {
                        field: "insert_many_tx result",
                        value: "a row was not returned by the database".to_owned(),
                    });
                }
            });
        }
        Ok(result)
    }

    /// Enqueue many jobs in one transaction (multi-row inserts of up to 1,000 rows). Results are in
    /// input order.
    pub async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        let now = self.now_ms();
        for j in &jobs {
            self.validate(j)?;
        }
        let mut tx = self.inner.db.begin().await?;
        let out = if let DbTx::Sqlite(t) = &mut tx
            && jobs.iter().all(|j| j.unique_key.is_none())
        {
            // SQLite without unique keys: one JSON parameter per chunk (the bulk enqueue is on the
            // benchmark's hot path, and building/binding 11 values per row through sea-query costs
            // more than the insert itself).
            let mut out = Vec::with_capacity(jobs.len());
            for chunk in jobs.chunks(SQLITE_BULK_CHUNK) {
                let rows: Vec<_> = chunk.iter().map(|j| self.bulk_row(j, now)).collect();
                let payload = serde_json::to_string(&rows).map_err(|source| QueueError::EncodeArgs {
                    kind: chunk[0].kind.clone(),
                    source,
                })?;
                let mut ids: Vec<i64> = sqlx::query_scalar(hot::SQLITE_BULK_INSERT)
                    .bind(now)
                    .bind(payload)
                    .fetch_all(&mut **t)
                    .await?;
                if ids.len() != chunk.len() {
                    return Err(QueueError::InvalidInput {
                        field: "insert_many result",
                        value: format!("{} of {} rows returned", ids.len(), chunk.len()),
                    });
                }
                ids.sort_unstable();
                out.extend(ids.into_iter().map(Inserted::New));
            }
            out
        } else {
            self.insert_many_tx(&mut tx, &jobs).await?
        };
        tx.commit().await?;
        self.wake();
        Ok(out)
    }

    /// One job by id.
    pub async fn get(&self, id: i64) -> Result<Job> {
        let stmt = Query::select()
            .columns(JOB_COLUMN_NAMES)
            .from("jobs")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let row: Option<JobRow> = self.inner.db.read_optional(&stmt).await?;
        row.ok_or(QueueError::NotFound(id))?.try_into()
    }

    /// Jobs matching `filter`, ascending by id (keyset pagination with `after_id`), at most
    /// `limit` (default 100, max 1,000).
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let mut stmt = Query::select();
        stmt.columns(JOB_COLUMN_NAMES).from("jobs");
        if !filter.states.is_empty() {
            stmt.and_where(Expr::col("state").is_in(filter.states.iter().map(|s| s.as_str())));
        }
        if let Some(kind) = &filter.kind {
            stmt.and_where(Expr::col("kind").eq(kind.as_str()));
        }
        if let Some(queue) = &filter.queue {
            stmt.and_where(Expr::col("queue").eq(queue.as_str()));
        }
        if let Some(after) = filter.after_id {
            stmt.and_where(Expr::col("id").gt(after));
        }
        stmt.order_by("id", Order::Asc)
            .limit(Ord::min(filter.limit.unwrap_or(100), 1000));
        let rows: Vec<JobRow> = self.inner.db.read_all(&stmt).await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    /// The recorded non-successful attempts of a job, oldest first.
    pub async fn attempts(&self, id: i64) -> Result<Vec<Attempt>> {
        let stmt = Query::select()
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
            .from("job_attempts")
            .and_where(Expr::col("job_id").eq(id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.inner.db.read_all(&stmt).await
    }

    /// Job counts grouped by queue, kind and state.
    pub async fn counts(&self) -> Result<Counts> {
        let stmt = Query::select()
            .columns(["queue", "kind", "state"])
            .expr_as(Func::count(Expr::col("id")), "n")
            .from("jobs")
            .group_by_columns(["queue", "kind", "state"])
            .order_by("queue", Order::Asc)
            .order_by("kind", Order::Asc)
            .to_owned();
        let rows: Vec<(String, String, String, i64)> = self.inner.db.read_all(&stmt).await?;
        let rows = rows
            .into_iter()
            .map(|(queue, kind, state, count)| {
                Ok(CountRow {
                    queue,
                    kind,
                    state: state.parse()?,
                    count,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Counts { rows })
    }

    /// Jobs in each state a dashboard polls every second: the unfinished ones (available, scheduled,
    /// running, retryable) and the dead letters (discarded), over every queue. One count per state,
    /// each answered from that state's partial index, so the cost follows the live jobs rather than
    /// the completed ones the table keeps (`counts` groups the whole table).
    pub async fn live_state_counts(&self) -> Result<Vec<(JobState, i64)>> {
        let mut out = Vec::with_capacity(5);
        for state in [JobState::Available, JobState::Scheduled, JobState::Running, JobState::Retryable, JobState::Discarded] {
            let mut stmt = Query::select();
            stmt.expr(Func::count(Expr::col("id"))).from("jobs").and_where(Expr::col("state").eq(state.as_str()));
            if state == JobState::Discarded {
                // Matches the `jobs_finalized` partial index (every finalized job has finalized_at).
                stmt.and_where(Expr::col("finalized_at").is_not_null());
            }
            let row: Option<(i64,)> = self.inner.db.read_optional(&stmt.to_owned()).await?;
            out.push((state, row.map_or(0, |(n,)| n)));
        }
        Ok(out)
    }

    /// How long the oldest available job of `queue` has been waiting (None when none waits).
    pub async fn oldest_available_age(&self, queue: &str) -> Result<Option<Duration>> {
        let stmt = Query::select()
            .expr(Func::min(Expr::col("scheduled_at")))
            .from("jobs")
            .and_where(Expr::col("state").eq("available"))
            .and_where(Expr::col("queue").eq(queue))
            .to_owned();
        let row: Option<(Option<i64>,)> = self.inner.db.read_optional(&stmt).await?;
        let now = self.now_ms();
        Ok(row
            .and_then(|(min,)| min)
            .map(|at| Duration::from_millis(u64::try_from(now.saturating_sub(at)).unwrap_or(0))))
    }

    /// Jobs of `queue` ready to run now: available, plus scheduled/retryable that are due.
    pub async fn ready_depth(&self, queue: &str) -> Result<i64> {
        let now = self.now_ms();
        // Two simple counts, each matching one partial index. (One OR-ed query trips an
        // "internal query planner error" in SQLite 3.51.)
        let available = Query::select()
            .expr(Func::count(Expr::col("id")))
            .from("jobs")
            .and_where(Expr::col("state").eq("available"))
            .and_where(Expr::col("queue").eq(queue))
            .to_owned();
        let due = Query::select()
            .expr(Func::count(Expr::col("id")))
            .from("jobs")
            .and_where(Expr::col("state").is_in(["scheduled", "retryable"]))
            .and_where(Expr::col("scheduled_at").lte(now))
            .and_where(Expr::col("queue").eq(queue))
            .to_owned();
        let mut total = 0;
        for stmt in [available, due] {
            let row: Option<(i64,)> = self.inner.db.read_optional(&stmt).await?;
            total += row.map(|r| r.0).unwrap_or(0);
        }
        Ok(total)
    }

    /// Promote due jobs and lease up to `limit` available jobs of `queue` for `worker` for `lease`.
    /// Jobs come back `running` with their fencing token in `lease_token`; present it (as a
    /// [`Lease`]) to [`Queue::finish`] and [`Queue::heartbeat`].
    pub async fn claim(
        &self,
        queue: &str,
        limit: u32,
        worker: &str,
        lease: Duration,
    ) -> Result<Vec<Job>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let spec = ClaimSpec {
            queue,
            limit,
            worker,
            now: self.now_ms(),
            lease_ms: duration_ms(lease),
        };
        hot::claim(&self.inner.db, spec).await
    }

    /// One cycle of the worker pool: commit `batch` (as [`Queue::finish`]) and claim up to
    /// `limit` more jobs (as [`Queue::claim`]; `limit` 0 claims nothing). SQLite does both in one
    /// write transaction, so a cycle pays one `BEGIN IMMEDIATE` and one commit; PostgreSQL runs
    /// them side by side on two connections. On SQLite a failure leaves both undone (the claim
    /// then reports no jobs and the finish the error); on PostgreSQL each half fails alone.
    pub async fn finish_and_claim(
        &self,
        batch: &[Finished],
        queue: &str,
        limit: u32,
        worker: &str,
        lease: Duration,
    ) -> (Result<FinishReport>, Result<Vec<Job>>) {
        let spec = ClaimSpec {
            queue,
            limit,
            worker,
            now: self.now_ms(),
            lease_ms: duration_ms(lease),
        };
        if batch.is_empty() || limit == 0 {
            let finished = self.finish(batch).await;
            let claimed = if limit == 0 {
                Ok(Vec::new())
            } else {
                hot::claim(&self.inner.db, spec).await
            };
            return (finished, claimed);
        }
        match &self.inner.db {
            Db::Sqlite { .. } => match self.finish_and_claim_on_lane(batch, spec).await {
                Ok((report, jobs)) => (Ok(report), Ok(jobs)),
                Err(e) => (Err(e), Ok(Vec::new())),
            },
            Db::Postgres(_) => {
                tokio::join!(self.finish(batch), hot::claim(&self.inner.db, spec))
            }
        }
    }

    /// `finish_and_claim_tx` on the writer lane (lane.rs), which needs work it can own. Work on the
    /// lane runs on when its caller is dropped (a pool dropped without `shutdown`), and a claim
    /// committed then would lease jobs nobody runs until their leases expire: the work rolls back
    /// if its caller is gone, as the dropped transaction would have.
    async fn finish_and_claim_on_lane(&self, batch: &[Finished], spec: ClaimSpec<'_>) -> Result<(FinishReport, Vec<Job>)> {
        let (q, batch, queue, worker) = (self.clone(), batch.to_vec(), spec.queue.to_owned(), spec.worker.to_owned());
        let (limit, now, lease_ms) = (spec.limit, spec.now, spec.lease_ms);
        // Dropped with this future: then the sender reads closed.
        let (caller_watch, caller_alive) = tokio::sync::oneshot::channel::<()>();
        let work = async move {
            let spec = ClaimSpec { queue: &queue, limit, worker: &worker, now, lease_ms };
            q.finish_and_claim_tx(&batch, spec, || caller_watch.is_closed()).await
        };
        let out = crate::on_writer_lane(&self.inner.db, work).await;
        drop(caller_alive);
        out
    }

    async fn finish_and_claim_tx(
        &self,
        batch: &[Finished],
        spec: ClaimSpec<'_>,
        caller_gone: impl Fn() -> bool,
    ) -> Result<(FinishReport, Vec<Job>)> {
        let mut tx = self.inner.db.begin().await?;
        let applied = self.finish_in(&mut tx, batch, spec.now).await?;
        let jobs = hot::claim_in(&mut tx, spec).await?;
        if caller_gone() {
            tx.rollback().await?;
            return Err(QueueError::Abandoned);
        }
        tx.commit().await?;
        Ok((FinishReport::new(batch, applied), jobs))
    }

    /// Extend leases to now + `lease`; returns the ids whose lease is still held.
    pub async fn heartbeat(&self, leases: &[Lease], lease: Duration) -> Result<Vec<i64>> {
        let expires = self.now_ms().saturating_add(duration_ms(lease));
        hot::heartbeat(&self.inner.db, leases, expires).await
    }
}

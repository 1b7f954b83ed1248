//! Failed-job triage, the reading half: failures grouped by cause, a filtered keyset-paginated job list,
//! and one job's detail (args, every attempt with TikTok's request_id, the order and its timeline).
//! The actions (retry, edit-and-retry, discard, cancel, bulk with a count preview) are in
//! `triage_actions.rs`; both share [`TriageFilter`].
//!
//! "Failed" here means: the job failed at least once, so the queue stamped it with an error fingerprint
//! (job kind + error kind + normalized message, crates/queue/src/fingerprint.rs). A person's retry,
//! discard or cancel keeps the stamp, so a group shows how many of its jobs staff already dealt with.
//! The shop of a job comes from its args: `shop_id`, or `order_id` → the cached order's shop (the
//! pipeline's args convention, the same one `shop remove` uses).

use creatorflow_queue::{Backend, Db, DbTx, JobState, normalize_error};
use sea_query::{
    Cond, Condition, Expr, LikeExpr, ExprTrait, JoinType, Order, PostgresQueryBuilder, Query, SelectStatement,
    SqliteQueryBuilder,
};
use sea_query_sqlx::SqlxBinder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use ts_rs::TS;

use super::Console;
use crate::error::EngineError;
use crate::store::StoreError;

/// Most groups one call returns (the biggest first).
const MAX_GROUPS: u64 = 200;
/// Most jobs one page may ask for.
pub const MAX_TRIAGE_PAGE: u32 = 500;

/// Which failed jobs: every field is optional and they combine with AND. Shared by the group list, the
/// job list, the bulk preview and the bulk action, so staff act on exactly what they looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct TriageFilter {
    /// Any of these states (empty: every state).
    pub states: Vec<JobState>,
    pub kind: Option<String>,
    /// The local shop id (from the job's args → order → shop).
    pub shop_id: Option<i64>,
    /// One failure group.
    pub fingerprint: Option<String>,
    /// Text in the latest error message (case-insensitive).
    pub error: Option<String>,
    /// Latest failure at or after this time (Unix ms).
    pub failed_from: Option<i64>,
    /// Latest failure before this time (Unix ms).
    pub failed_to: Option<i64>,
    /// Text in the job's args JSON (case-insensitive), e.g. an order id.
    pub args: Option<String>,
}

/// How many jobs of a group (or a selection) are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StateCount {
    pub state: JobState,
    pub count: i64,
}

/// A shop, by local id and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct ShopRef {
    pub id: i64,
    pub name: String,
}

/// Failures with one cause: the same job kind, error kind and normalized message.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct FailureGroup {
    pub fingerprint: String,
    /// The job kind (`ship`, `label`, ...).
    pub kind: String,
    /// The queue's error kind of the newest failure (`server`, `business_rule`, ...).
    pub error_kind: Option<String>,
    /// The error with its variable parts replaced (`order <n> not found`).
    pub pattern: String,
    /// The newest job's actual error message.
    pub sample: String,
    pub count: i64,
    /// Counts per state, in lifecycle order.
    pub states: Vec<StateCount>,
    /// The shops whose jobs fail this way (jobs without a shop are not listed).
    pub shops: Vec<ShopRef>,
    /// When the earliest job of the group started failing this way (Unix ms).
    pub first_seen: i64,
    /// The group's latest failure (Unix ms).
    pub last_seen: i64,
}

/// The failure groups matching a filter, biggest first.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct FailureGroups {
    pub groups: Vec<FailureGroup>,
    /// Jobs in all matching groups (also those beyond the first 200 groups).
    pub total_jobs: i64,
    /// More than 200 groups matched: narrow the filter to see the rest.
    pub truncated: bool,
}

/// A page of the failed-job list: newest first, after the `before` cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct TriageJobsQuery {
    pub filter: TriageFilter,
    /// Jobs with a smaller id (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<u32>,
}

/// One row of the failed-job list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TriageJob {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub state: JobState,
    pub attempt: i32,
    pub max_attempts: i32,
    /// The latest error (for a job a person discarded or cancelled: `discarded_by_admin` and the reason).
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub fingerprint: Option<String>,
    /// The latest failure (Unix ms).
    pub failed_at: Option<i64>,
    /// When it runs next (retryable, scheduled) or last became runnable (Unix ms).
    pub scheduled_at: i64,
    pub created_at: i64,
    /// A person edited its args (the originals are kept).
    pub edited: bool,
    /// The local order the job is about, when its args name one.
    pub order_id: Option<i64>,
    pub tts_order_id: Option<String>,
    pub shop: Option<ShopRef>,
}

/// A page of jobs and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TriagePage {
    pub jobs: Vec<TriageJob>,
    pub next_before: Option<i64>,
}

/// One attempt that did not complete, with the remote call's context when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AttemptView {
    pub attempt: i32,
    /// `failed`, `lost`, `interrupted`, `snoozed` or `cancelled`.
    pub outcome: String,
    pub error_kind: Option<String>,
    pub message: Option<String>,
    pub retryable: bool,
    pub worker: Option<String>,
    pub started_at: i64,
    pub finished_at: i64,
    /// TikTok's request id: what TikTok's support asks for.
    pub request_id: Option<String>,
    pub endpoint: Option<String>,
    pub http_status: Option<i64>,
    /// TikTok's error code.
    pub code: Option<i64>,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TimelineEntry {
    /// Unix ms.
    pub at: i64,
    /// `sync`, `webhook`, `pipeline` or `user`.
    pub source: String,
    pub kind: String,
    pub message: String,
}

/// The order a job is about: its summary and its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OrderContext {
    pub id: i64,
    pub tts_order_id: String,
    pub shop: ShopRef,
    pub status: String,
    pub buyer_name: String,
    /// Exact decimal.
    pub total_amount: String,
    pub currency: String,
    /// TikTok's times, Unix seconds.
    pub create_time: i64,
    pub ship_by_time: Option<i64>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// An audit event as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub job_count: i64,
    pub reason: Option<String>,
    /// The first 100 job ids (all of them when `job_count` ≤ 100).
    pub job_ids: Vec<i64>,
    #[ts(type = "unknown")]
    pub details: Option<Value>,
}

/// Everything triage shows about one job.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TriageJobDetail {
    pub job: TriageJob,
    /// The args it runs with now.
    #[ts(type = "unknown")]
    pub args: Value,
    /// The args before the first edit, when a person edited them.
    #[ts(type = "unknown")]
    pub original_args: Option<Value>,
    pub unique_key: Option<String>,
    /// Oldest first.
    pub attempts: Vec<AttemptView>,
    /// What people did to this job, oldest first.
    pub audit: Vec<AuditEntry>,
    pub order: Option<OrderContext>,
}

/// SQL for the local order id in a job's args (NULL unless it is a whole number).
fn order_id_sql(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "(CASE WHEN json_type(j.args, '$.order_id') = 'integer' THEN json_extract(j.args, '$.order_id') END)",
        Backend::Postgres => "(CASE WHEN (j.args->>'order_id') ~ '^[0-9]{1,18}$' THEN (j.args->>'order_id')::bigint END)",
    }
}

/// SQL for the local shop id of a job: `shop_id` in its args, else its order's shop.
fn shop_id_sql(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => {
            "COALESCE(CASE WHEN json_type(j.args, '$.shop_id') = 'integer' THEN json_extract(j.args, '$.shop_id') END, o.shop_id)"
        }
        Backend::Postgres => {
            "COALESCE(CASE WHEN (j.args->>'shop_id') ~ '^[0-9]{1,18}$' THEN (j.args->>'shop_id')::bigint END, o.shop_id)"
        }
    }
}

/// `%text%` with LIKE's wildcards escaped (`\` is the escape character).
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A case-insensitive "contains" on a text expression.
fn contains(b: Backend, column_sql: &str, text: &str) -> Expr {
    match b {
        // SQLite's LIKE is case-insensitive for ASCII.
        Backend::Sqlite => Expr::cust(column_sql.to_owned()).like(LikeExpr::new(like_pattern(text)).escape('\\')),
        // lower() LIKE lower(): sea-query 1.0 renders `ILIKE ... ESCAPE` with parentheses PostgreSQL
        // refuses.
        Backend::Postgres => {
            Expr::cust(format!("lower({column_sql})")).like(LikeExpr::new(like_pattern(&text.to_lowercase())).escape('\\'))
        }
    }
}

fn check_text(field: &'static str, v: &Option<String>) -> Result<(), EngineError> {
    if v.as_ref().is_some_and(|t| t.chars().count() > 500) {
        return Err(EngineError::InvalidInput { field, value: v.clone().unwrap_or_default().chars().take(64).collect(), reason: "at most 500 characters".into() });
    }
    Ok(())
}

impl TriageFilter {
    /// Refuses values no query should carry (huge texts, an inverted time range).
    pub fn validate(&self) -> Result<(), EngineError> {
        check_text("kind", &self.kind)?;
        check_text("fingerprint", &self.fingerprint)?;
        check_text("error", &self.error)?;
        check_text("args", &self.args)?;
        if let (Some(a), Some(b)) = (self.failed_from, self.failed_to)
            && a > b
        {
            return Err(EngineError::InvalidInput { field: "failed_from", value: a.to_string(), reason: format!("is after failed_to ({b})") });
        }
        Ok(())
    }

    /// The WHERE condition over `jobs j LEFT JOIN orders o`.
    pub(crate) fn condition(&self, b: Backend) -> Condition {
        let mut c = Cond::all().add(Expr::col(("j", "error_fingerprint")).is_not_null());
        if !self.states.is_empty() {
            c = c.add(Expr::col(("j", "state")).is_in(self.states.iter().map(|s| s.as_str())));
        }
        let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        if let Some(kind) = nonempty(&self.kind) {
            c = c.add(Expr::col(("j", "kind")).eq(kind));
        }
        if let Some(fp) = nonempty(&self.fingerprint) {
            c = c.add(Expr::col(("j", "error_fingerprint")).eq(fp));
        }
        if let Some(shop) = self.shop_id {
            // Not `cust_with_values`: the JSON paths and regexes in the SQL contain `$`.
            c = c.add(Expr::cust(shop_id_sql(b)).eq(shop));
        }
        if let Some(text) = nonempty(&self.error) {
            c = c.add(contains(b, "j.last_error_message", &text));
        }
        if let Some(text) = nonempty(&self.args) {
            let args = match b {
                Backend::Sqlite => "j.args",
                Backend::Postgres => "j.args::text",
            };
            c = c.add(contains(b, args, &text));
        }
        if let Some(from) = self.failed_from {
            c = c.add(Expr::col(("j", "last_error_at")).gte(from));
        }
        if let Some(to) = self.failed_to {
            c = c.add(Expr::col(("j", "last_error_at")).lt(to));
        }
        c
    }
}

/// `SELECT ... FROM jobs j LEFT JOIN orders o ON o.id = <args.order_id> WHERE <filter>`.
pub(crate) fn filtered(b: Backend, filter: &TriageFilter) -> SelectStatement {
    Query::select()
        .from_as("jobs", "j")
        .join_as(JoinType::LeftJoin, "orders", "o", Expr::cust(format!("o.id = {}", order_id_sql(b))))
        .cond_where(filter.condition(b))
        .to_owned()
}

/// Run a select on the read side.
pub(crate) async fn read_all<T>(db: &Db, stmt: &SelectStatement) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    Ok(match db {
        Db::Sqlite { reader, .. } => {
            let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(reader).await?
        }
        Db::Postgres(pool) => {
            let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(pool).await?
        }
    })
}

/// Run a select inside a write transaction (the bulk action reads the set it acts on there).
pub(crate) async fn tx_read_all<T>(tx: &mut DbTx, stmt: &SelectStatement) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    Ok(match tx {
        DbTx::Sqlite(t) => {
            let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
        DbTx::Postgres(t) => {
            let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
    })
}

#[derive(Debug, sqlx::FromRow)]
struct GroupRow {
    kind: String,
    fingerprint: String,
    state: String,
    shop_id: Option<i64>,
    n: i64,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    sample_id: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    queue: String,
    state: String,
    attempt: i32,
    max_attempts: i32,
    last_error_kind: Option<String>,
    last_error_message: Option<String>,
    error_fingerprint: Option<String>,
    last_error_at: Option<i64>,
    scheduled_at: i64,
    created_at: i64,
    edited: bool,
    order_id: Option<i64>,
    tts_order_id: Option<String>,
    shop_id: Option<i64>,
}

const JOB_COLUMNS: [&str; 12] = [
    "id",
    "kind",
    "queue",
    "state",
    "attempt",
    "max_attempts",
    "last_error_kind",
    "last_error_message",
    "error_fingerprint",
    "last_error_at",
    "scheduled_at",
    "created_at",
];

fn parse_state(s: &str) -> Result<JobState, EngineError> {
    s.parse().map_err(EngineError::Job)
}

/// Sorted lifecycle-order state counts.
fn state_counts(m: &BTreeMap<JobState, i64>) -> Vec<StateCount> {
    m.iter().map(|(&state, &count)| StateCount { state, count }).collect()
}

impl Console {
    fn backend(&self) -> Backend {
        self.queue.db().backend()
    }

    /// Names of the shops with these local ids.
    async fn shop_names(&self, ids: impl IntoIterator<Item = i64>) -> Result<HashMap<i64, String>, EngineError> {
        let ids: BTreeSet<i64> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let stmt = Query::select().columns(["id", "name"]).from("shops").and_where(Expr::col("id").is_in(ids)).to_owned();
        let rows: Vec<(i64, String)> = read_all(self.queue.db(), &stmt).await?;
        Ok(rows.into_iter().collect())
    }

    /// Failed jobs grouped by cause (fingerprint), biggest group first, with per-state counts, the
    /// shops affected and when the group was first and last seen.
    pub async fn triage_groups(&self, filter: &TriageFilter) -> Result<FailureGroups, EngineError> {
        filter.validate()?;
        let b = self.backend();
        let shop = shop_id_sql(b);
        let stmt = filtered(b, filter)
            .expr_as(Expr::col(("j", "kind")), "kind")
            .expr_as(Expr::col(("j", "error_fingerprint")), "fingerprint")
            .expr_as(Expr::col(("j", "state")), "state")
            .expr_as(Expr::cust(shop), "shop_id")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .expr_as(Expr::cust("MIN(j.error_since)"), "first_seen")
            .expr_as(Expr::cust("MAX(j.last_error_at)"), "last_seen")
            .expr_as(Expr::cust("MAX(j.id)"), "sample_id")
            .add_group_by([Expr::col(("j", "kind")), Expr::col(("j", "error_fingerprint")), Expr::col(("j", "state")), Expr::cust(shop)])
            .to_owned();
        let rows: Vec<GroupRow> = read_all(self.queue.db(), &stmt).await?;

        struct Acc {
            kind: String,
            count: i64,
            states: BTreeMap<JobState, i64>,
            shops: BTreeSet<i64>,
            first_seen: i64,
            last_seen: i64,
            sample_id: i64,
        }
        let mut groups: HashMap<String, Acc> = HashMap::new();
        let mut total_jobs = 0;
        for r in rows {
            total_jobs += r.n;
            let state = parse_state(&r.state)?;
            let g = groups.entry(r.fingerprint.clone()).or_insert_with(|| Acc {
                kind: r.kind.clone(),
                count: 0,
                states: BTreeMap::new(),
                shops: BTreeSet::new(),
                first_seen: i64::MAX,
                last_seen: i64::MIN,
                sample_id: r.sample_id,
            });
            g.count += r.n;
            *g.states.entry(state).or_insert(0) += r.n;
            g.shops.extend(r.shop_id);
            // Both are set with the fingerprint (migration 0006); a missing one leaves the bound as is.
            g.first_seen = Ord::min(g.first_seen, r.first_seen.unwrap_or(i64::MAX));
            g.last_seen = Ord::max(g.last_seen, r.last_seen.unwrap_or(i64::MIN));
            g.sample_id = Ord::max(g.sample_id, r.sample_id);
        }
        let mut ordered: Vec<(String, Acc)> = groups.into_iter().collect();
        ordered.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(b.1.last_seen.cmp(&a.1.last_seen)).then(a.0.cmp(&b.0)));
        let truncated = ordered.len() as u64 > MAX_GROUPS;
        ordered.truncate(MAX_GROUPS as usize);

        let samples = self.latest_failures(ordered.iter().map(|(_, g)| g.sample_id).collect()).await?;
        let names = self.shop_names(ordered.iter().flat_map(|(_, g)| g.shops.iter().copied())).await?;
        let groups = ordered
            .into_iter()
            .map(|(fingerprint, g)| {
                let (error_kind, sample) = samples.get(&g.sample_id).cloned().unwrap_or((None, String::new()));
                FailureGroup {
                    pattern: normalize_error(&sample),
                    sample,
                    error_kind,
                    fingerprint,
                    kind: g.kind,
                    count: g.count,
                    states: state_counts(&g.states),
                    shops: g
                        .shops
                        .iter()
                        .map(|id| ShopRef { id: *id, name: names.get(id).cloned().unwrap_or_else(|| format!("shop {id} (removed)")) })
                        .collect(),
                    first_seen: if g.first_seen == i64::MAX { g.last_seen } else { g.first_seen },
                    last_seen: g.last_seen,
                }
            })
            .collect();
        Ok(FailureGroups { groups, total_jobs, truncated })
    }

    /// The latest real failure (not a person's discard or cancel) of each job: `(error kind, message)`.
    async fn latest_failures(&self, job_ids: Vec<i64>) -> Result<HashMap<i64, (Option<String>, String)>, EngineError> {
        let mut out = HashMap::new();
        for chunk in job_ids.chunks(500) {
            let stmt = Query::select()
                .columns(["job_id", "error_kind", "message"])
                .from("job_attempts")
                .and_where(Expr::col("job_id").is_in(chunk.iter().copied()))
                .and_where(Expr::col("outcome").is_in(["failed", "lost"]))
                .cond_where(
                    Cond::any()
                        .add(Expr::col("error_kind").is_null())
                        .add(Expr::col("error_kind").is_not_in(["discarded_by_admin", "cancelled_by_admin"])),
                )
                .order_by("id", Order::Asc)
                .to_owned();
            let rows: Vec<(i64, Option<String>, Option<String>)> = read_all(self.queue.db(), &stmt).await?;
            for (job, kind, message) in rows {
                out.insert(job, (kind, message.unwrap_or_default()));
            }
        }
        Ok(out)
    }

    /// One page of failed jobs matching the filter, newest first.
    pub async fn triage_jobs(&self, q: &TriageJobsQuery) -> Result<TriagePage, EngineError> {
        q.filter.validate()?;
        let limit = q.limit.unwrap_or(100).clamp(1, MAX_TRIAGE_PAGE);
        let b = self.backend();
        let mut stmt = filtered(b, &q.filter);
        for c in JOB_COLUMNS {
            stmt.expr_as(Expr::col(("j", c)), c);
        }
        stmt.expr_as(Expr::cust("(j.original_args IS NOT NULL)"), "edited")
            .expr_as(Expr::cust(order_id_sql(b)), "order_id")
            .expr_as(Expr::col(("o", "tts_order_id")), "tts_order_id")
            .expr_as(Expr::cust(shop_id_sql(b)), "shop_id")
            .order_by(("j", "id"), Order::Desc)
            .limit(u64::from(limit) + 1);
        if let Some(before) = q.before {
            stmt.and_where(Expr::col(("j", "id")).lt(before));
        }
        let mut rows: Vec<JobRow> = read_all(self.queue.db(), &stmt).await?;
        let next_before = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id)
        } else {
            None
        };
        let names = self.shop_names(rows.iter().filter_map(|r| r.shop_id)).await?;
        let jobs = rows.into_iter().map(|r| to_job(r, &names)).collect::<Result<_, _>>()?;
        Ok(TriagePage { jobs, next_before })
    }

    /// Everything about one job: args (current and original), every attempt with TikTok's request id,
    /// what people did to it, and its order with the order's timeline.
    pub async fn triage_job(&self, id: i64) -> Result<TriageJobDetail, EngineError> {
        let b = self.backend();
        let mut stmt = Query::select()
            .from_as("jobs", "j")
            .join_as(JoinType::LeftJoin, "orders", "o", Expr::cust(format!("o.id = {}", order_id_sql(b))))
            .and_where(Expr::col(("j", "id")).eq(id))
            .to_owned();
        for c in JOB_COLUMNS {
            stmt.expr_as(Expr::col(("j", c)), c);
        }
        stmt.expr_as(Expr::cust("(j.original_args IS NOT NULL)"), "edited")
            .expr_as(Expr::cust(order_id_sql(b)), "order_id")
            .expr_as(Expr::col(("o", "tts_order_id")), "tts_order_id")
            .expr_as(Expr::cust(shop_id_sql(b)), "shop_id");
        let row: JobRow = read_all(self.queue.db(), &stmt)
            .await?
            .into_iter()
            .next()
            .ok_or(EngineError::Job(creatorflow_queue::QueueError::NotFound(id)))?;
        let names = self.shop_names(row.shop_id).await?;
        let order_id = row.order_id.filter(|_| row.tts_order_id.is_some());
        let job = to_job(row, &names)?;
        let full = self.queue.get(id).await.map_err(EngineError::Job)?;
        let attempts = self.queue.attempts(id).await.map_err(|e| self.db_error(e))?.into_iter().map(attempt_view).collect();
        let audit = self.audit_entries(self.store.audit_for_job(id).await?).await?;
        let order = match order_id {
            Some(oid) => self.order_context(oid).await?,
            None => None,
        };
        Ok(TriageJobDetail { job, args: full.args, original_args: full.original_args, unique_key: full.unique_key, attempts, audit, order })
    }

    /// The order's summary and timeline; `None` when it is no longer cached.
    async fn order_context(&self, order_id: i64) -> Result<Option<OrderContext>, EngineError> {
        let detail = match self.store.get_order(order_id).await {
            Ok(d) => d,
            Err(StoreError::OrderNotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let o = detail.order;
        let names = self.shop_names([o.shop_id]).await?;
        Ok(Some(OrderContext {
            id: o.id,
            shop: ShopRef { id: o.shop_id, name: names.get(&o.shop_id).cloned().unwrap_or_default() },
            tts_order_id: o.tts_order_id,
            status: o.status,
            buyer_name: o.buyer_name,
            total_amount: o.total_amount.as_str().to_owned(),
            currency: o.currency,
            create_time: o.create_time,
            ship_by_time: o.ship_by_time,
            timeline: detail
                .timeline
                .into_iter()
                .map(|e| TimelineEntry { at: e.at, source: e.source.as_str().to_owned(), kind: e.kind, message: e.message })
                .collect(),
        }))
    }
}

fn to_job(r: JobRow, names: &HashMap<i64, String>) -> Result<TriageJob, EngineError> {
    Ok(TriageJob {
        state: parse_state(&r.state)?,
        id: r.id,
        kind: r.kind,
        queue: r.queue,
        attempt: r.attempt,
        max_attempts: r.max_attempts,
        error_kind: r.last_error_kind,
        error_message: r.last_error_message,
        fingerprint: r.error_fingerprint,
        failed_at: r.last_error_at,
        scheduled_at: r.scheduled_at,
        created_at: r.created_at,
        edited: r.edited,
        // An order id that names no cached order (removed shop, hand-made job) is still shown.
        order_id: r.order_id,
        tts_order_id: r.tts_order_id,
        shop: r.shop_id.map(|id| ShopRef { id, name: names.get(&id).cloned().unwrap_or_else(|| format!("shop {id} (removed)")) }),
    })
}

/// `request_id 123abc` in a message (attempts recorded before migration 0006 have no details).
fn request_id_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("request_id ")?;
    let id: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_').collect();
    (!id.is_empty()).then_some(id)
}

fn attempt_view(a: creatorflow_queue::Attempt) -> AttemptView {
    let d = a.details.as_ref();
    let text = |k: &str| d.and_then(|d| d.get(k)).and_then(Value::as_str).map(str::to_owned);
    let num = |k: &str| d.and_then(|d| d.get(k)).and_then(Value::as_i64);
    AttemptView {
        request_id: text("request_id").or_else(|| a.message.as_deref().and_then(request_id_in)),
        endpoint: text("endpoint"),
        http_status: num("http_status"),
        code: num("code"),
        attempt: a.attempt,
        outcome: a.outcome,
        error_kind: a.error_kind,
        message: a.message,
        retryable: a.retryable,
        worker: a.worker,
        started_at: a.started_at,
        finished_at: a.finished_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn request_ids_are_found_in_old_messages() {
        assert_eq!(request_id_in("boom (endpoint POST /x, http 500, request_id 2026ABC-1)").as_deref(), Some("2026ABC-1"));
        assert_eq!(request_id_in("no id here"), None);
    }

    #[test]
    fn an_inverted_time_range_is_refused() {
        let f = TriageFilter { failed_from: Some(10), failed_to: Some(5), ..Default::default() };
        assert!(matches!(f.validate(), Err(EngineError::InvalidInput { field: "failed_from", .. })));
    }
}

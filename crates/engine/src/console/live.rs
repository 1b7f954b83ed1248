//! `Console::live_snapshot`: everything the live dashboard shows, in one value, cheap enough for
//! several dashboards at 1 Hz — one snapshot is built at most every [`FRESH`] and shared (its queries
//! are five indexed counts and one MIN; the metrics are read from memory). `subscribe_live` pushes one
//! per second to a sink (the Tauri channel, the web console's Server-Sent Events) until the sink says
//! it is gone or the subscription is cancelled.
//!
//! Two sources: with the pipeline running in this process (`Console::launch`) the figures are the
//! sliding 60 s window of its metrics, its worker pools and its circuit breakers. Without it (a web
//! console on PostgreSQL with headless workers elsewhere) they come from the database: queue counts
//! and the latest two stored minute rollups, and worker, breaker and offline figures are unknown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use creatorflow_queue::{Db, JobState};
use serde::Serialize;
use tokio::task::JoinHandle;
use ts_rs::TS;

use super::Console;
use super::alerts::{Alert, AlertInputs, AlertTracker, evaluate};
use super::page_cache::{POSTGRES_SOURCE, PageCacheWindow, SQLITE_SOURCE};
use crate::breaker::BreakerState;
use crate::error::EngineError;
use crate::metrics::{MetricsSnapshot, ProcessSampler, rollup_summary};
use crate::pipeline::{QUEUES, metric_names as names};
use crate::store::{DEFAULT_CREATOR_ID, MetricRollup};
use crate::lock;

/// A snapshot younger than this is served again instead of being rebuilt.
pub const FRESH: Duration = Duration::from_millis(900);
/// How often a subscription pushes a snapshot.
pub const PUSH_EVERY: Duration = Duration::from_secs(1);
/// How long the database source keeps its list of metric names.
const NAMES_FOR: Duration = Duration::from_secs(60);
const MINUTE_MS: i64 = 60_000;

/// Where a snapshot's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LiveSource {
    /// The pipeline running in this process: its 60 s sliding window, pools and breakers.
    InProcess,
    /// No pipeline here: queue counts and the latest stored minute rollups (workers elsewhere).
    Database,
}

/// The live dashboard's data.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LiveSnapshot {
    pub at_ms: i64,
    pub source: LiveSource,
    /// The built-in demo shop runs because no shop is connected: orders are simulated.
    pub demo: bool,
    /// The span the throughput, latency and rate figures cover (ms).
    pub window_ms: i64,
    pub throughput: Throughput,
    /// Order-to-fulfillment, each stage's wait and run time, each API endpoint.
    pub latency: Vec<LatencyRow>,
    pub rates: LiveRates,
    pub queue: QueueDepth,
    /// `None` when no pipeline runs in this process.
    pub workers: Option<Workers>,
    /// Per remote host; empty when no pipeline runs here (or none was called yet).
    pub breakers: Vec<BreakerView>,
    pub cache: CacheHitRate,
    pub process: ProcessView,
    pub db_pool: DbPoolUsage,
    pub offline: OfflineState,
    pub alerts: Vec<Alert>,
}

/// Events per minute over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, TS)]
pub struct Throughput {
    pub orders_shipped_per_min: f64,
    pub api_calls_per_min: f64,
    pub webhooks_per_min: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LatencyGroup {
    /// Order created (or paid) at TikTok → shipped.
    Order,
    /// Job queued → started, per stage.
    StageWait,
    /// Job started → finished, per stage.
    StageRun,
    /// One TikTok API endpoint's call time.
    Api,
}

/// One latency metric over the window, in milliseconds (`None` without samples).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LatencyRow {
    pub group: LatencyGroup,
    /// The stage (`ship`) or endpoint (`GET /order/202309/orders`); `order to fulfillment`.
    pub label: String,
    pub count: i64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// Shares (0..=1) over the window; `None` when nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, TS)]
pub struct LiveRates {
    /// Stage attempts that ended (completed or failed; parked attempts are not counted).
    pub stage_attempts: i64,
    /// Attempts that ended in an error: retried or dead-lettered (the alert's "failure rate").
    pub failure_rate: Option<f64>,
    /// Attempts whose error sends the job back for another attempt.
    pub retry_rate: Option<f64>,
    pub api_calls: i64,
    /// API calls that failed, for any reason.
    pub error_rate: Option<f64>,
    /// API calls that timed out.
    pub timeout_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DepthByState {
    pub state: String,
    pub count: i64,
}

/// Jobs by state, over every queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct QueueDepth {
    /// available, scheduled, running, retryable, discarded.
    pub by_state: Vec<DepthByState>,
    /// Work in our hands: available + running + retryable (the alert's "queue depth").
    pub depth: i64,
    /// Parked until a time: waiting on the buyer, on TikTok, or on a host to come back.
    pub scheduled: i64,
    /// How long the oldest job ready to run has waited for a worker (ms).
    pub oldest_waiting_ms: Option<i64>,
}

/// The worker pools of the pipeline in this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Workers {
    /// Jobs being worked (or waiting for their result's commit).
    pub busy: i64,
    /// The pools' current concurrency (they scale between their minimum and maximum).
    pub total: i64,
    pub max: i64,
    pub pools: Vec<PoolView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PoolView {
    pub queue: String,
    pub busy: i64,
    pub total: i64,
    pub max: i64,
}

/// One remote host's circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BreakerView {
    pub host: String,
    /// `closed`, `open` or `half_open`.
    pub state: String,
    pub consecutive_failures: i64,
    pub opened_at_ms: Option<i64>,
    pub next_probe_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// The database's page cache hit rate (see `page_cache.rs` for the definition).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct CacheHitRate {
    /// 0..=1; `None` before any page was read.
    pub rate: Option<f64>,
    pub hits: i64,
    pub misses: i64,
    /// What exactly is measured, for the tooltip.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
pub struct ProcessView {
    /// This process's CPU since the previous snapshot, in percent of one core; `None` on the first.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<i64>,
}

/// Database connections in use, over every pool of this process (SQLite: the writer and the readers).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DbPoolUsage {
    pub backend: String,
    pub in_use: i64,
    pub idle: i64,
    pub max: i64,
    /// in_use / max.
    pub used: f64,
}

/// Whether remote hosts are unreachable, for the offline banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OfflineState {
    /// `false` when this process runs no pipeline and cannot tell.
    pub known: bool,
    pub offline: bool,
    /// Hosts whose breaker is open or probing.
    pub hosts: Vec<String>,
    /// Jobs waiting (available, scheduled, retryable): they run once the hosts answer again.
    pub backlog: i64,
}

/// A live subscription's id, for `unsubscribe_live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct LiveSubscription {
    pub id: i64,
}

/// Shared by a console's clones: the last snapshot, since when alerts fire, the samplers.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    last: tokio::sync::Mutex<Option<(Instant, LiveSnapshot)>>,
    alerts: Mutex<AlertTracker>,
    process: Mutex<ProcessSampler>,
    cache: Mutex<PageCacheWindow>,
    names: Mutex<Option<(Instant, Vec<String>)>>,
    subscriptions: Mutex<HashMap<i64, JoinHandle<()>>>,
    next_id: AtomicI64,
}

impl LiveState {
    pub(crate) fn end_subscriptions(&self) {
        for (_, task) in lock(&self.subscriptions).drain() {
            task.abort();
        }
    }
}

impl Console {
    /// The live dashboard's snapshot (see the module docs). Served from a shared copy when one was
    /// built in the last 900 ms, so any number of dashboards cost one build a second.
    pub async fn live_snapshot(&self) -> Result<LiveSnapshot, EngineError> {
        let mut last = self.live.last.lock().await;
        if let Some((at, snapshot)) = last.as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(snapshot.clone());
        }
        let snapshot = self.build_snapshot().await?;
        *last = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// A snapshot built now, ignoring (and replacing) the shared copy: what one build costs
    /// (`creatorflow-cli bench live`).
    pub async fn live_snapshot_uncached(&self) -> Result<LiveSnapshot, EngineError> {
        let mut last = self.live.last.lock().await;
        let snapshot = self.build_snapshot().await?;
        *last = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// Pushes a snapshot to `sink` every second until it returns `false` (its receiver is gone), the
    /// subscription is cancelled (`unsubscribe_live`) or the console shuts down. A snapshot that
    /// cannot be built (the database is down) is skipped: the sink sees the stream pause. Call it inside
    /// a Tokio runtime: the subscription is a task spawned on it.
    pub fn subscribe_live<F>(&self, mut sink: F) -> LiveSubscription
    where
        F: FnMut(LiveSnapshot) -> bool + Send + 'static,
    {
        let id = self.live.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let console = self.clone();
        // Held while spawning, so the task's own removal cannot run before its insertion.
        let mut subscriptions = lock(&self.live.subscriptions);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(PUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                match console.live_snapshot().await {
                    Ok(s) => {
                        if !sink(s) {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "live snapshot failed; the stream skips this second"),
                }
            }
            lock(&console.live.subscriptions).remove(&id);
        });
        subscriptions.insert(id, task);
        LiveSubscription { id }
    }

    /// Ends a live subscription; `false` when there is none of that id (already ended).
    pub fn unsubscribe_live(&self, id: i64) -> bool {
        match lock(&self.live.subscriptions).remove(&id) {
            Some(task) => {
                task.abort();
                true
            }
            None => false,
        }
    }

    /// Live subscriptions running now.
    pub fn live_subscriptions(&self) -> usize {
        lock(&self.live.subscriptions).len()
    }

    async fn build_snapshot(&self) -> Result<LiveSnapshot, EngineError> {
        let db = self.store.db();
        // Before our own queries borrow a connection.
        let db_pool = db_pool_usage(db);
        let now_ms = match self.service() {
            Some(s) => s.pipeline().now_ms(),
            None => self.queue.now_ms(),
        };
        let counts = self.queue.live_state_counts().await.map_err(|e| self.db_error(e))?;
        let count = |s: JobState| counts.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n);
        let mut oldest: Option<i64> = None;
        for q in QUEUES {
            if let Some(age) = self.queue.oldest_available_age(q).await.map_err(|e| self.db_error(e))? {
                let ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                oldest = Some(oldest.map_or(ms, |o| o.max(ms)));
            }
        }
        let queue = QueueDepth {
            by_state: counts.iter().map(|(s, n)| DepthByState { state: s.as_str().to_owned(), count: *n }).collect(),
            depth: count(JobState::Available) + count(JobState::Running) + count(JobState::Retryable),
            scheduled: count(JobState::Scheduled),
            oldest_waiting_ms: oldest,
        };
        let backlog = count(JobState::Available) + count(JobState::Scheduled) + count(JobState::Retryable);

        PageCacheWindow::sample(&self.live.cache, db).await;
        let ((hits, misses), fits_in_cache) = {
            let w = lock(&self.live.cache);
            (w.totals(), w.fits_in_cache)
        };
        let cache = CacheHitRate {
            rate: (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64),
            hits: hits as i64,
            misses: misses as i64,
            source: match db {
                Db::Sqlite { .. } => SQLITE_SOURCE,
                Db::Postgres(_) => POSTGRES_SOURCE,
            }
            .to_owned(),
        };
        let usage = lock(&self.live.process).sample();
        let process = ProcessView {
            cpu_percent: usage.cpu_percent_since_last_call,
            rss_bytes: usage.rss_bytes.and_then(|b| i64::try_from(b).ok()),
        };

        let (source, figures, workers, breakers) = match self.service() {
            Some(service) => {
                let p = service.pipeline();
                let figures = Figures::from_metrics(&p.metrics().snapshot());
                let pools = service.pool_figures();
                let view = |queue: &str, (busy, total, max): (usize, usize, usize)| PoolView {
                    queue: queue.to_owned(),
                    busy: busy as i64,
                    total: total as i64,
                    max: max as i64,
                };
                let pool_views = vec![view(QUEUES[0], pools.main), view(QUEUES[1], pools.labels)];
                let workers = Workers {
                    busy: pool_views.iter().map(|p| p.busy).sum(),
                    total: pool_views.iter().map(|p| p.total).sum(),
                    max: pool_views.iter().map(|p| p.max).sum(),
                    pools: pool_views,
                };
                // The breakers know only hosts that failed once; every shop's host is shown, closed
                // until something happens to it.
                let mut breakers: Vec<BreakerView> = p.breakers().snapshot().into_iter().map(breaker_view).collect();
                for shop in self.store.list_shops(DEFAULT_CREATOR_ID).await? {
                    if !breakers.iter().any(|b| b.host == shop.api_base_url) {
                        breakers.push(BreakerView {
                            host: shop.api_base_url,
                            state: "closed".to_owned(),
                            consecutive_failures: 0,
                            opened_at_ms: None,
                            next_probe_at_ms: None,
                            last_error: None,
                        });
                    }
                }
                breakers.sort_by(|a, b| a.host.cmp(&b.host));
                breakers.dedup_by(|a, b| a.host == b.host);
                (LiveSource::InProcess, figures, Some(workers), breakers)
            }
            None => (LiveSource::Database, self.figures_from_rollups(now_ms).await?, None, Vec::new()),
        };
        let hosts: Vec<String> = breakers.iter().filter(|b: &&BreakerView| b.state != "closed").map(|b| b.host.clone()).collect();
        let offline = OfflineState { known: source == LiveSource::InProcess, offline: !hosts.is_empty(), hosts, backlog };

        let inputs = AlertInputs {
            order_failure_rate: figures.rates.failure_rate.map(|r| (r, figures.rates.stage_attempts as u64)),
            api_p95: figures.slowest_api(),
            db_pool_used: Some(db_pool.used),
            order_p95: figures
                .latency
                .iter()
                .find(|r| r.group == LatencyGroup::Order)
                .and_then(|r| r.p95.map(|p| (p, r.count as u64))),
            // A database smaller than the cache cannot outgrow it: its misses are pages other
            // connections' writes made stale (the dashboard still shows the rate).
            cache_hit_rate: cache.rate.filter(|_| fits_in_cache != Some(true)).map(|r| (r, (hits + misses))),
            queue_depth: Some(queue.depth),
        };
        let alerts = lock(&self.live.alerts).update(evaluate(&inputs), now_ms);
        Ok(LiveSnapshot {
            at_ms: now_ms,
            source,
            demo: self.is_demo(),
            window_ms: figures.window_ms,
            throughput: figures.throughput,
            latency: figures.latency,
            rates: figures.rates,
            queue,
            workers,
            breakers,
            cache,
            process,
            db_pool,
            offline,
            alerts,
        })
    }

    /// Throughput, latency and rates from the two latest stored minutes (no pipeline in this process).
    async fn figures_from_rollups(&self, now_ms: i64) -> Result<Figures, EngineError> {
        let this_minute = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        // Finished minutes reach the table up to ~10 s after they end (the runner's flush period).
        let from = this_minute - 3 * MINUTE_MS;
        let cached = lock(&self.live.names).as_ref().filter(|(at, _)| at.elapsed() < NAMES_FOR).map(|(_, n)| n.clone());
        let metric_names = match cached {
            Some(n) => n,
            None => {
                let n = self.store.metric_names_since(from).await?;
                *lock(&self.live.names) = Some((Instant::now(), n.clone()));
                n
            }
        };
        let mut rows = Vec::new();
        for name in metric_names.iter().filter(|n| wanted(n)) {
            rows.extend(self.store.rollups(name, from, this_minute).await?);
        }
        Ok(Figures::from_rollups(&rows))
    }
}

/// The metrics the snapshot reads from stored rollups.
fn wanted(name: &str) -> bool {
    latency_label(name).is_some() || name.starts_with("jobs.") || name.starts_with("api.") || name == names::ORDERS_SHIPPED || name == names::WEBHOOKS
}

/// The group and label of a latency metric's name; `None` for counters and other names.
fn latency_label(name: &str) -> Option<(LatencyGroup, String)> {
    if name == names::ORDER_TO_FULFILLMENT {
        return Some((LatencyGroup::Order, "order to fulfillment".to_owned()));
    }
    if let Some(stage) = name.strip_prefix("stage.") {
        if let Some(k) = stage.strip_suffix(".wait") {
            return Some((LatencyGroup::StageWait, k.to_owned()));
        }
        if let Some(k) = stage.strip_suffix(".run") {
            return Some((LatencyGroup::StageRun, k.to_owned()));
        }
    }
    // `api.{endpoint}`; the endpoint ("GET /order/202309/orders") has no dot, while the per-endpoint
    // counters (`api.{endpoint}.ok`, `api.errors.timeout`) and `api.calls` do or are single words.
    let endpoint = name.strip_prefix("api.")?;
    (endpoint.contains(' ') && !endpoint.contains('.')).then(|| (LatencyGroup::Api, endpoint.to_owned()))
}

/// The window-dependent part of a snapshot, from either source.
#[derive(Debug, Default)]
struct Figures {
    window_ms: i64,
    throughput: Throughput,
    latency: Vec<LatencyRow>,
    rates: LiveRates,
}

impl Figures {
    /// `counts` maps counter names to their increments over `window_ms`.
    fn from_counts(window_ms: i64, counts: &HashMap<String, u64>, latency: Vec<LatencyRow>) -> Figures {
        let c = |name: &str| counts.get(name).copied().unwrap_or(0);
        let per_min = |n: u64| n as f64 * MINUTE_MS as f64 / window_ms.max(1000) as f64;
        let api_errors: u64 = counts.iter().filter(|(k, _)| k.starts_with(names::API_ERRORS_PREFIX)).map(|(_, v)| v).sum();
        let calls = c(names::API_CALLS);
        let (ok, retried, failed) = (c(names::JOBS_OK), c(names::JOBS_RETRIED), c(names::JOBS_FAILED));
        let attempts = ok + retried + failed;
        let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        let mut latency = latency;
        latency.sort_by(|a, b| (a.group as u8, &a.label).cmp(&(b.group as u8, &b.label)));
        Figures {
            window_ms,
            throughput: Throughput {
                orders_shipped_per_min: per_min(c(names::ORDERS_SHIPPED)),
                api_calls_per_min: per_min(calls),
                webhooks_per_min: per_min(c(names::WEBHOOKS)),
            },
            latency,
            rates: LiveRates {
                stage_attempts: attempts as i64,
                failure_rate: share(retried + failed, attempts),
                retry_rate: share(retried, attempts),
                api_calls: calls as i64,
                error_rate: share(api_errors, calls),
                timeout_rate: share(c(names::API_TIMEOUTS), calls),
            },
        }
    }

    fn from_metrics(m: &MetricsSnapshot) -> Figures {
        let counts = m.counters.iter().map(|c| (c.name.clone(), c.window)).collect();
        let latency = m
            .latencies
            .iter()
            .filter_map(|l| {
                let (group, label) = latency_label(&l.name)?;
                let w = &l.window;
                Some(LatencyRow { group, label, count: w.count as i64, p50: w.p50, p95: w.p95, p99: w.p99, max: w.max })
            })
            .collect();
        Figures::from_counts(m.window_ms, &counts, latency)
    }

    /// The two latest minutes among `rows` (minutes of several metrics).
    fn from_rollups(rows: &[MetricRollup]) -> Figures {
        let Some(latest) = rows.iter().map(|r| r.minute).max() else { return Figures::default() };
        let since = latest - MINUTE_MS;
        let mut by_metric: HashMap<&str, Vec<MetricRollup>> = HashMap::new();
        for r in rows.iter().filter(|r| r.minute >= since) {
            by_metric.entry(r.metric.as_str()).or_default().push(r.clone());
        }
        let mut counts = HashMap::new();
        let mut latency = Vec::new();
        for (name, rows) in &by_metric {
            match latency_label(name) {
                Some((group, label)) => {
                    let s = rollup_summary(rows);
                    latency.push(LatencyRow { group, label, count: s.count as i64, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max });
                }
                None => {
                    let n = rows.iter().map(|r| u64::try_from(r.count).unwrap_or(0)).sum();
                    counts.insert((*name).to_owned(), n);
                }
            }
        }
        Figures::from_counts(2 * MINUTE_MS, &counts, latency)
    }

    /// The API endpoint with the highest p95 among those with enough calls to have one.
    fn slowest_api(&self) -> Option<(f64, String, u64)> {
        self.latency
            .iter()
            .filter(|r| r.group == LatencyGroup::Api && r.count as u64 >= super::alerts::MIN_SAMPLES)
            .filter_map(|r| r.p95.map(|p| (p, r.label.clone(), r.count as u64)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    }
}

fn breaker_view(h: crate::breaker::HostStatus) -> BreakerView {
    BreakerView {
        host: h.host,
        state: match h.state {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
        .to_owned(),
        consecutive_failures: i64::from(h.consecutive_failures),
        opened_at_ms: h.opened_at_ms,
        next_probe_at_ms: h.next_probe_at_ms,
        last_error: h.last_error,
    }
}

fn db_pool_usage(db: &Db) -> DbPoolUsage {
    let pools: Vec<(u32, usize, u32)> = match db {
        Db::Sqlite { writer, reader } => [writer, reader]
            .iter()
            .map(|p| (p.size(), p.num_idle(), p.options().get_max_connections()))
            .collect(),
        Db::Postgres(p) => vec![(p.size(), p.num_idle(), p.options().get_max_connections())],
    };
    let in_use: i64 = pools.iter().map(|(size, idle, _)| i64::from(*size) - *idle as i64).map(|n| n.max(0)).sum();
    let idle: i64 = pools.iter().map(|(_, idle, _)| *idle as i64).sum();
    let max: i64 = pools.iter().map(|(_, _, max)| i64::from(*max)).sum();
    DbPoolUsage {
        backend: db.backend().name().to_owned(),
        in_use,
        idle,
        max,
        used: if max > 0 { in_use as f64 / max as f64 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_map_to_their_latency_group() {
        assert_eq!(latency_label("order_to_fulfillment").map(|l| l.0), Some(LatencyGroup::Order));
        assert_eq!(latency_label("stage.ship.wait"), Some((LatencyGroup::StageWait, "ship".into())));
        assert_eq!(latency_label("stage.label.run"), Some((LatencyGroup::StageRun, "label".into())));
        assert_eq!(latency_label("api.GET /order/202309/orders"), Some((LatencyGroup::Api, "GET /order/202309/orders".into())));
        for counter in ["api.calls", "api.errors.timeout", "api.GET /order/202309/orders.ok", "orders.shipped", "jobs.ok"] {
            assert_eq!(latency_label(counter), None, "{counter}");
        }
    }

    #[test]
    fn rates_count_retries_and_failures_over_attempts_and_errors_over_calls() {
        let counts: HashMap<String, u64> = [
            ("jobs.ok", 90),
            ("jobs.retried", 6),
            ("jobs.failed", 4),
            ("jobs.snoozed", 1000),
            ("api.calls", 200),
            ("api.errors.timeout", 10),
            ("api.errors.server", 10),
            ("orders.shipped", 30),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let f = Figures::from_counts(30_000, &counts, vec![]);
        assert_eq!(f.rates.stage_attempts, 100, "parked attempts are not attempts");
        assert_eq!(f.rates.failure_rate, Some(0.10));
        assert_eq!(f.rates.retry_rate, Some(0.06));
        assert_eq!(f.rates.error_rate, Some(0.10));
        assert_eq!(f.rates.timeout_rate, Some(0.05));
        assert_eq!(f.throughput.orders_shipped_per_min, 60.0, "30 in half a minute");
        let none = Figures::from_counts(60_000, &HashMap::new(), vec![]);
        assert_eq!((none.rates.failure_rate, none.rates.error_rate), (None, None));
    }
}

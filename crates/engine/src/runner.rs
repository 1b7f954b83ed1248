//! `Runner`: the pipeline at work — a worker pool on the pipeline queue plus a sync loop per shop —
//! and the `--until-idle` rule: every shippable order is finished or waits on something outside our
//! control (the buyer, TikTok's hold, a person), and a fresh sync pass finds nothing new.

use std::time::{Duration, Instant};

use creatorflow_queue::{JobFilter, JobState, PoolConfig, PoolStats, WorkerPool};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::EngineError;
use crate::pipeline::{LABEL_QUEUE, PIPELINE_QUEUE, Pipeline, QUEUES};
use crate::store::{DEFAULT_CREATOR_ID, ShopStatus};
use crate::sync::SyncReport;

/// The label pool's ceiling. Under TikTok's 50 QPS a few dozen label jobs saturate the endpoint and
/// the rest wait in the client's limiter, holding only their own pool's slots. Unthrottled, the
/// bound is the database: every job waits a writer turn for its claim, its label write and its
/// finish, and the turns are shared with the main pool's hundreds of jobs — 64 jobs riding each turn
/// stored ~40 labels/s while orders shipped at 160/s (debug build). The claim, the label writer and
/// the finish commit all carry many jobs per turn, so more jobs in flight cost no more turns.
const LABEL_MAX_WORKERS: usize = 512;

/// The concurrency both pools keep when idle. A stage job spends nearly all its time waiting on a
/// batcher's API call (~50 ms), so a slot costs a parked task and nothing else; but a pool at its
/// floor fills up on the first burst (a sync page of a few dozen orders) and every further job
/// waits one API round trip for a slot, long before the autoscaler (which grows on a ready depth of
/// 100) takes notice. At 8 slots that wait was 60–70 ms for 1 % of ship jobs at 500 orders/min: the
/// whole of the pipeline overhead's p99 (BENCHMARKS.md, stop 14). More jobs in flight also make
/// bigger batch calls, not more of them.
pub const MIN_WORKERS: usize = 64;

/// How the runner works.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This process's identity: jobs it left running when it died are rescued at start.
    pub node_id: String,
    pub min_workers: usize,
    pub max_workers: usize,
    /// Time between sync passes of a shop.
    pub poll_interval: Duration,
    /// A scheduled job due later than this counts as waiting on the outside world (see `wait_outside`).
    pub idle_horizon: Duration,
    /// Time between reconciliation passes: every open order re-read from TikTok, which repairs a lost
    /// webhook or a version the sync window missed.
    pub reconcile_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            node_id: format!("{}-{}", hostname(), std::process::id()),
            min_workers: MIN_WORKERS,
            max_workers: 256,
            poll_interval: Duration::from_secs(5),
            idle_horizon: Duration::from_secs(120),
            reconcile_interval: Duration::from_secs(600),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_owned()).unwrap_or_else(|_| "local".to_owned())
}

/// The pipeline's queue at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Jobs ready, running or in backoff: work in our hands.
    pub active: i64,
    /// Parked jobs due within the idle horizon (offline, throttled, briefly on hold).
    pub due_soon: i64,
    /// Parked jobs waiting on the outside world.
    pub waiting_outside: i64,
    /// Dead-lettered jobs (triage).
    pub discarded: i64,
}

/// A running pipeline.
pub struct Runner {
    pipeline: Pipeline,
    config: RunnerConfig,
    pool: Option<WorkerPool>,
    label_pool: Option<WorkerPool>,
    stop: watch::Sender<bool>,
    sync_task: Option<JoinHandle<()>>,
    metrics_task: Option<JoinHandle<()>>,
    metrics_stop: watch::Sender<bool>,
    last_pass: watch::Receiver<Option<PassResult>>,
}

/// The outcome of one sync pass over every shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassResult {
    pub report: SyncReport,
    /// Shops whose sync failed this pass (offline, throttled, ...).
    pub failed_shops: u32,
    /// Monotonic pass number.
    pub pass: u64,
}

impl Runner {
    /// Rescues what this node left running, starts the workers and the sync loop.
    pub async fn start(pipeline: Pipeline, config: RunnerConfig) -> Result<Runner, EngineError> {
        let pool_config = PoolConfig {
            queue: PIPELINE_QUEUE.to_owned(),
            node_id: config.node_id.clone(),
            min_workers: config.min_workers,
            max_workers: config.max_workers,
            ..PoolConfig::default()
        };
        let db_err = |source| EngineError::Database { database: "queue".into(), source };
        let pool = WorkerPool::start(pipeline.queue().clone(), pipeline.registry(), pool_config).await.map_err(db_err)?;
        let label_config = PoolConfig {
            queue: LABEL_QUEUE.to_owned(),
            node_id: format!("{}/labels", config.node_id),
            min_workers: config.min_workers.clamp(1, LABEL_MAX_WORKERS),
            max_workers: config.max_workers.clamp(1, LABEL_MAX_WORKERS),
            ..PoolConfig::default()
        };
        let label_pool = WorkerPool::start(pipeline.queue().clone(), pipeline.registry(), label_config).await.map_err(db_err)?;
        let (stop, stop_rx) = watch::channel(false);
        let (pass_tx, last_pass) = watch::channel(None);
        // Its own stop: the last flush must come after the pools stopped, or the orders shipped
        // during the shutdown's grace never reach the rollups.
        let (metrics_stop, metrics_stop_rx) = watch::channel(false);
        let metrics_task = tokio::spawn(metrics_loop(pipeline.clone(), metrics_stop_rx));
        let sync_task =
            tokio::spawn(sync_loop(pipeline.clone(), config.poll_interval, config.reconcile_interval, stop_rx, pass_tx));
        Ok(Runner {
            pipeline,
            config,
            pool: Some(pool),
            label_pool: Some(label_pool),
            stop,
            sync_task: Some(sync_task),
            metrics_task: Some(metrics_task),
            metrics_stop,
            last_pass,
        })
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Counters of the main pool (validate, ship, confirm, refresh).
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.as_ref().map(WorkerPool::stats).unwrap_or_default()
    }

    /// Counters of the label pool.
    pub fn label_pool_stats(&self) -> PoolStats {
        self.label_pool.as_ref().map(WorkerPool::stats).unwrap_or_default()
    }

    /// The most workers each pool may run (its autoscaling ceiling): `(main, labels)`.
    pub fn max_workers(&self) -> (usize, usize) {
        (self.config.max_workers, self.config.max_workers.clamp(1, LABEL_MAX_WORKERS))
    }

    /// Where the pipeline's jobs stand now.
    pub async fn backlog(&self) -> Result<Backlog, EngineError> {
        backlog(&self.pipeline, self.config.idle_horizon).await
    }

    /// Waits until the pipeline is idle (see the module docs) or `max` passes. Returns whether it is idle.
    pub async fn until_idle(&mut self, max: Option<Duration>) -> Result<bool, EngineError> {
        let deadline = max.map(|d| Instant::now() + d);
        loop {
            // Idle needs a pass that started after the queue drained and found nothing new.
            let b = self.backlog().await?;
            if b.active == 0 && b.due_soon == 0 {
                let seen = self.last_pass.borrow().map_or(0, |p| p.pass);
                if let Some(pass) = self.wait_pass_after(seen, deadline).await
                    && pass.failed_shops == 0
                    && pass.report.is_quiet()
                {
                    let b = self.backlog().await?;
                    if b.active == 0 && b.due_soon == 0 {
                        return Ok(true);
                    }
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_pass_after(&mut self, seen: u64, deadline: Option<Instant>) -> Option<PassResult> {
        loop {
            if let Some(p) = *self.last_pass.borrow_and_update()
                && p.pass > seen
            {
                return Some(p);
            }
            let changed = self.last_pass.changed();
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d.into(), changed).await.is_err() {
                        return None;
                    }
                }
                None => {
                    changed.await.ok()?;
                }
            }
        }
    }

    /// Stops syncing, lets running jobs finish for up to `grace`, returns the rest to the queue.
    pub async fn shutdown(mut self, grace: Duration) -> Result<(), EngineError> {
        self.stop.send_replace(true);
        if let Some(t) = self.sync_task.take() {
            let _ = t.await;
        }
        let db_err = |source| EngineError::Database { database: "queue".into(), source };
        let (main, labels) = (self.pool.take(), self.label_pool.take());
        let (a, b) = tokio::join!(
            async move { if let Some(p) = main { p.shutdown(grace).await.map(|_| ()) } else { Ok(()) } },
            async move { if let Some(p) = labels { p.shutdown(grace).await.map(|_| ()) } else { Ok(()) } },
        );
        a.map_err(db_err)?;
        b.map_err(db_err)?;
        self.metrics_stop.send_replace(true);
        if let Some(t) = self.metrics_task.take() {
            let _ = t.await;
        }
        Ok(())
    }
}

/// Counts the pipeline queue's jobs by what they wait for.
pub async fn backlog(pipeline: &Pipeline, idle_horizon: Duration) -> Result<Backlog, EngineError> {
    let q = pipeline.queue();
    let db_err = |source| EngineError::Database { database: "queue".into(), source };
    let counts = q.counts().await.map_err(db_err)?;
    let in_queue = |s: JobState| {
        counts.rows.iter().filter(|r| QUEUES.contains(&r.queue.as_str()) && r.state == s).map(|r| r.count).sum::<i64>()
    };
    let mut b = Backlog {
        active: in_queue(JobState::Available) + in_queue(JobState::Running) + in_queue(JobState::Retryable),
        discarded: in_queue(JobState::Discarded),
        ..Backlog::default()
    };
    if in_queue(JobState::Scheduled) > 0 {
        let horizon = pipeline.now_ms() + idle_horizon.as_millis() as i64;
        for queue in QUEUES {
            let mut after = None;
            loop {
                let filter = JobFilter {
                    states: vec![JobState::Scheduled],
                    queue: Some(queue.to_owned()),
                    after_id: after,
                    limit: Some(1000),
                    ..JobFilter::default()
                };
                let page = q.list(&filter).await.map_err(db_err)?;
                for j in &page {
                    if j.scheduled_at <= horizon {
                        b.due_soon += 1;
                    } else {
                        b.waiting_outside += 1;
                    }
                }
                match page.last() {
                    Some(j) if page.len() == 1000 => after = Some(j.id),
                    _ => break,
                }
            }
        }
    }
    Ok(b)
}

async fn sync_loop(
    pipeline: Pipeline,
    interval: Duration,
    reconcile_every: Duration,
    mut stop: watch::Receiver<bool>,
    passes: watch::Sender<Option<PassResult>>,
) {
    let mut pass = 0u64;
    // The first reconciliation waits a full interval: at start the sync itself is catching up.
    let mut last_reconcile = Instant::now();
    loop {
        pass += 1;
        let result = sync_pass(&pipeline, pass).await;
        passes.send_replace(Some(result));
        if last_reconcile.elapsed() >= reconcile_every {
            last_reconcile = Instant::now();
            reconcile_pass(&pipeline).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Writes finished metric minutes to the store every 10 s, and what is left at shutdown.
async fn metrics_loop(pipeline: Pipeline, mut stop: watch::Receiver<bool>) {
    let metrics = pipeline.metrics().clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {
                if let Err(e) = metrics.flush(pipeline.store()).await {
                    tracing::warn!(error = %e, "metrics: rollups not written; kept for the next flush");
                }
            }
            _ = stop.changed() => break,
        }
    }
    if let Err(e) = metrics.flush_final(pipeline.store()).await {
        tracing::warn!(error = %e, "metrics: the last minute's rollups were not written");
    }
}

/// A `refresh` job for every open order of every active shop.
pub async fn reconcile_pass(pipeline: &Pipeline) {
    let Ok(shops) = pipeline.store().list_shops(DEFAULT_CREATOR_ID).await else { return };
    for shop in shops.iter().filter(|s| !s.paused && s.status == ShopStatus::Active) {
        match pipeline.reconcile_shop(shop).await {
            Ok(n) => tracing::info!(shop = %shop.name, orders = n, "reconciliation: open orders queued for a re-read"),
            Err(e) => tracing::warn!(shop = %shop.name, error = %e, "reconciliation failed; the next pass retries"),
        }
    }
}

/// One sync pass over every active shop.
pub async fn sync_pass(pipeline: &Pipeline, pass: u64) -> PassResult {
    let mut result = PassResult { pass, ..PassResult::default() };
    let shops = match pipeline.store().list_shops(DEFAULT_CREATOR_ID).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "sync: cannot list shops");
            result.failed_shops = 1;
            return result;
        }
    };
    for shop in shops.iter().filter(|s| !s.paused && s.status == ShopStatus::Active) {
        match pipeline.sync_shop(shop).await {
            Ok(r) => {
                let t = &mut result.report;
                t.pages += r.pages;
                t.fetched += r.fetched;
                t.inserted += r.inserted;
                t.updated += r.updated;
                t.stale += r.stale;
                t.rejected += r.rejected;
                t.jobs_enqueued += r.jobs_enqueued;
            }
            Err(e) => {
                result.failed_shops += 1;
                tracing::info!(shop = %shop.name, error = %e, "sync pass failed; next pass retries");
            }
        }
    }
    result
}

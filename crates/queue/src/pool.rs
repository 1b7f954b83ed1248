//! `WorkerPool`: runs the registered workers of one queue — one task per job, a writer loop that
//! group-commits results and claims the next batch in the same cycle, heartbeats, the rescuer
//! (also at start-up), autoscaling between a minimum and a maximum concurrency, and graceful
//! shutdown.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};

use crate::error::{QueueError, Result};
use crate::finish::{FinishAction, Finished, JobError};
use crate::hot::Lease;
use crate::model::{DEFAULT_QUEUE, Job};
use crate::queue::Queue;
use crate::worker::{CancelReason, JobContext, Outcome, Registry};

mod cycle;
mod tasks;

/// Pool settings. `Default` suits the desktop app; the benchmark raises the concurrency.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub queue: String,
    /// This process's worker identity: jobs it left `running` are rescued when it starts again.
    pub node_id: String,
    pub min_workers: usize,
    pub max_workers: usize,
    /// Scale up while this many jobs are ready (the brief: 100).
    pub scale_up_depth: i64,
    pub scale_check_interval: Duration,
    /// Halve the concurrency (down to the minimum) after this long without claiming a job.
    pub idle_shrink_after: Duration,
    /// How often to look for work when nothing woke the pool (jobs from other processes).
    pub poll_interval: Duration,
    pub lease: Duration,
    pub heartbeat_interval: Duration,
    pub rescue_interval: Duration,
    /// Most jobs per claim statement.
    pub claim_batch: u32,
    /// Most finished jobs per group commit; also the bound on results waiting for their commit
    /// (while that many wait, the pool claims nothing more).
    pub finish_batch: usize,
    /// How long the writer loop waits to fill a batch once it has one result, while handlers
    /// are still running and fewer than `claim_batch` slots are free.
    pub finish_flush: Duration,
    /// Delete completed jobs older than this (None: keep them).
    pub clean_retention: Option<Duration>,
    pub clean_interval: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            queue: DEFAULT_QUEUE.to_owned(),
            node_id: "local".to_owned(),
            min_workers: 1,
            max_workers: 16,
            scale_up_depth: 100,
            scale_check_interval: Duration::from_millis(100),
            idle_shrink_after: Duration::from_secs(5),
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(10),
            rescue_interval: Duration::from_secs(15),
            claim_batch: 500,
            finish_batch: 2000,
            finish_flush: Duration::from_millis(1),
            clean_retention: None,
            clean_interval: Duration::from_secs(60),
        }
    }
}

/// Counters since the pool started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub claimed: u64,
    pub completed: u64,
    pub failed: u64,
    pub snoozed: u64,
    pub cancelled: u64,
    pub lease_lost: u64,
    pub interrupted: u64,
    /// Current concurrency limit.
    pub concurrency: usize,
    /// Jobs claimed and not yet committed as finished (handlers running plus results waiting
    /// for their group commit).
    pub in_flight: usize,
}

#[derive(Default)]
struct Counters {
    claimed: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    snoozed: AtomicU64,
    cancelled: AtomicU64,
    lease_lost: AtomicU64,
    interrupted: AtomicU64,
}

/// A job this pool holds a lease on.
struct Running {
    lease: Lease,
    attempt: i32,
    started_at: i64,
    cancel: watch::Sender<Option<CancelReason>>,
    abort: Option<AbortHandle>,
    /// The handler returned and its result waits for the writer loop's commit.
    finished: bool,
    /// Shutdown took the job back: the handler's result must not be sent.
    interrupted: bool,
}

pub(crate) struct Shared {
    queue: Queue,
    registry: Registry,
    cfg: PoolConfig,
    running: Mutex<HashMap<i64, Running>>,
    limit: AtomicUsize,
    /// Handlers running: a slot is taken at claim and freed when the handler returns, so the
    /// next claim overlaps the commit of the results.
    in_flight: AtomicUsize,
    /// Results sent to the writer loop and not yet committed (or given up). A crash loses them:
    /// their jobs are still `running` in the database and are rescued and run again.
    pending: AtomicUsize,
    /// A slot was freed, the limit was raised or the writer loop committed a batch.
    slot_freed: Notify,
    stopping: watch::Sender<bool>,
    /// Set by the writer loop once it saw `stopping` outside a cycle: it claims nothing more.
    claims_stopped: watch::Sender<bool>,
    counters: Counters,
    finish_tx: mpsc::UnboundedSender<Finished>,
    last_claim: Mutex<Instant>,
}

impl Shared {
    fn running(&self) -> MutexGuard<'_, HashMap<i64, Running>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so recover from poisoning instead of propagating it.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Release `n` slots after their handlers returned or their jobs were taken back.
    fn release(&self, n: usize) {
        self.in_flight.fetch_sub(n, Ordering::SeqCst);
        self.slot_freed.notify_waiters();
    }

    /// Wait until `done()` holds, re-checking whenever a slot is freed or a batch commits.
    async fn wait_until(&self, deadline: Option<tokio::time::Instant>, done: impl Fn() -> bool) {
        while !done() {
            let freed = self.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if done() {
                return;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, freed).await.is_err() {
                        return;
                    }
                }
                None => freed.await,
            }
        }
    }
}

/// A running pool. Dropping it without [`WorkerPool::shutdown`] aborts its tasks; leases then
/// expire and the rescuer (or this node's next start) returns the jobs.
pub struct WorkerPool {
    shared: Arc<Shared>,
    /// The writer loop (claims and group commits).
    dispatcher: Option<JoinHandle<()>>,
    /// Tells the writer loop to return once every result is committed.
    dispatcher_done: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("queue", &self.shared.cfg.queue)
            .field("stats", &self.stats())
            .finish()
    }
}

impl WorkerPool {
    /// Rescue what this `node_id` left running, then start working `cfg.queue`.
    pub async fn start(queue: Queue, registry: Registry, cfg: PoolConfig) -> Result<Self> {
        if cfg.min_workers == 0 || cfg.max_workers < cfg.min_workers {
            return Err(QueueError::InvalidInput {
                field: "pool concurrency",
                value: format!("min {} max {}", cfg.min_workers, cfg.max_workers),
            });
        }
        queue.rescue_worker(&cfg.node_id).await?;
        let (finish_tx, finish_rx) = mpsc::unbounded_channel();
        let (stopping, _) = watch::channel(false);
        let (claims_stopped, _) = watch::channel(false);
        let (dispatcher_done, dispatcher_done_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            limit: AtomicUsize::new(cfg.min_workers),
            queue,
            registry,
            cfg,
            running: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            slot_freed: Notify::new(),
            stopping,
            claims_stopped,
            counters: Counters::default(),
            finish_tx,
            last_claim: Mutex::new(Instant::now()),
        });
        let dispatcher = tokio::spawn(cycle::dispatcher(
            shared.clone(),
            finish_rx,
            dispatcher_done_rx,
        ));
        let background = vec![
            tokio::spawn(tasks::heartbeat(shared.clone())),
            tokio::spawn(tasks::maintenance(shared.clone())),
            tokio::spawn(tasks::autoscale(shared.clone())),
        ];
        Ok(Self {
            shared,
            dispatcher: Some(dispatcher),
            dispatcher_done,
            background,
        })
    }

    pub fn stats(&self) -> PoolStats {
        let c = &self.shared.counters;
        PoolStats {
            claimed: c.claimed.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            snoozed: c.snoozed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            lease_lost: c.lease_lost.load(Ordering::Relaxed),
            interrupted: c.interrupted.load(Ordering::Relaxed),
            concurrency: self.shared.limit.load(Ordering::SeqCst),
            in_flight: self.shared.in_flight.load(Ordering::SeqCst)
                + self.shared.pending.load(Ordering::SeqCst),
        }
    }

    /// Current concurrency limit (between min and max workers).
    pub fn concurrency(&self) -> usize {
        self.shared.limit.load(Ordering::SeqCst)
    }

    /// Stop claiming; let running jobs finish for up to `grace`; then tell the rest to stop and
    /// return them to the queue without spending their attempt. Returns how many were returned.
    pub async fn shutdown(mut self, grace: Duration) -> Result<usize> {
        let shared = self.shared.clone();
        let mut claims_stopped = shared.claims_stopped.subscribe();
        shared.stopping.send_replace(true);
        shared.slot_freed.notify_waiters();
        // A claim in progress spawns its jobs before the writer loop acknowledges; after this
        // no new job starts.
        if let Some(d) = self.dispatcher.as_mut() {
            tokio::select! {
                _ = claims_stopped.wait_for(|stopped| *stopped) => {}
                // It returns only after `dispatcher_done`: this is a panic.
                _ = d => return Err(QueueError::PoolTask("dispatcher")),
            }
        }
        let deadline = tokio::time::Instant::now() + grace;
        shared
            .wait_until(Some(deadline), || {
                shared.in_flight.load(Ordering::SeqCst) == 0
            })
            .await;
        // Take back what is still running (not what already finished and awaits its commit).
        let taken: Vec<(Lease, i32, i64)> = {
            let mut map = shared.running();
            map.values_mut()
                .filter(|r| !r.finished && !r.interrupted)
                .map(|r| {
                    r.interrupted = true;
                    r.cancel.send_replace(Some(CancelReason::Shutdown));
                    if let Some(a) = &r.abort {
                        a.abort();
                    }
                    (r.lease, r.attempt, r.started_at)
                })
                .collect()
        };
        let mut returned = 0;
        if !taken.is_empty() {
            let ids = shared.queue.interrupt(&taken, &shared.cfg.node_id).await?;
            returned = ids.len();
            shared
                .counters
                .interrupted
                .fetch_add(returned as u64, Ordering::Relaxed);
            let mut map = shared.running();
            for (lease, _, _) in &taken {
                map.remove(&lease.id);
            }
            drop(map);
            shared.release(taken.len());
        }
        // Let the writer loop commit every result (it retries, then gives up), then stop it.
        if let Some(d) = self.dispatcher.as_mut() {
            tokio::select! {
                _ = shared.wait_until(None, || shared.pending.load(Ordering::SeqCst) == 0) => {}
                _ = d => return Err(QueueError::PoolTask("dispatcher")),
            }
        }
        self.dispatcher_done.send_replace(true);
        if let Some(d) = self.dispatcher.take() {
            d.await.map_err(|_| QueueError::PoolTask("dispatcher"))?;
        }
        for t in self.background.drain(..) {
            t.abort();
        }
        Ok(returned)
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for t in self.dispatcher.iter().chain(self.background.iter()) {
            t.abort();
        }
        for r in self.shared.running().values() {
            if let Some(a) = &r.abort {
                a.abort();
            }
        }
    }
}

fn spawn_job(shared: &Arc<Shared>, job: Job) {
    let Some(token) = job.lease_token else {
        // A claimed job always carries its token; without one nobody could finish it. Its lease
        // expires and the rescuer returns it.
        tracing::error!(id = job.id, "claimed job has no lease token");
        shared.release(1);
        return;
    };
    let lease = Lease { id: job.id, token };
    let started_at = job.attempted_at.unwrap_or_else(|| shared.queue.now_ms());
    let (cancel_tx, cancel_rx) = watch::channel(None);
    let ctx = JobContext {
        id: job.id,
        queue: job.queue.clone(),
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        created_at: job.created_at,
        scheduled_at: job.scheduled_at,
        attempted_at: started_at,
        cancel: cancel_rx,
    };
    // Register before spawning so a fast handler always finds its entry.
    let mut map = shared.running();
    map.insert(
        job.id,
        Running {
            lease,
            attempt: job.attempt,
            started_at,
            cancel: cancel_tx,
            abort: None,
            finished: false,
            interrupted: false,
        },
    );
    let task = tokio::spawn(run_job(shared.clone(), job, lease, started_at, ctx));
    if let Some(r) = map.get_mut(&lease.id) {
        r.abort = Some(task.abort_handle());
    }
}

async fn run_job(shared: Arc<Shared>, job: Job, lease: Lease, started_at: i64, ctx: JobContext) {
    let result = match shared.registry.get(&job.kind) {
        None => Err(JobError::permanent(
            "unknown_kind",
            format!("no worker registered for job kind {:?}", job.kind),
        )),
        Some(w) => match AssertUnwindSafe(w.run(ctx, job.args)).catch_unwind().await {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Err(JobError::retryable(
                    "panic",
                    format!("handler for kind {:?} panicked: {msg}", job.kind),
                ))
            }
        },
    };
    let action = match result {
        Ok(Outcome::Complete) => FinishAction::Complete,
        Ok(Outcome::Snooze(d)) => FinishAction::Snooze(d),
        Ok(Outcome::Cancel(reason)) => FinishAction::Cancel(reason),
        Err(e) => FinishAction::Fail(e),
    };
    {
        let mut map = shared.running();
        match map.get_mut(&lease.id) {
            Some(r) if !r.interrupted => {
                r.finished = true;
                // Under the lock, so shutdown either takes the job back or waits for this result.
                shared.pending.fetch_add(1, Ordering::SeqCst);
            }
            // Shutdown already returned the job to the queue (and released its slot).
            _ => return,
        }
    }
    let finished = Finished {
        lease,
        kind: job.kind,
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        started_at,
        worker: shared.cfg.node_id.clone(),
        action,
    };
    if shared.finish_tx.send(finished).is_err() {
        // The writer loop is gone (pool dropped): the lease will expire and be rescued.
        shared.pending.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!(id = lease.id, "writer loop stopped; job result dropped");
    }
    // The slot is free as soon as the handler returned: the result waits for the next cycle's
    // commit without holding back the claim that refills the slot.
    shared.release(1);
}

//! Worker-pool cases: running jobs, dead-lettering unknown kinds and undecodable args, panics,
//! graceful shutdown, lease-loss signalling, autoscaling and wake-on-insert.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use creatorflow_queue::{
    CancelReason, JobContext, JobError, JobState, NewJob, Outcome, PoolConfig, Queue, Registry,
    Worker, WorkerPool,
};
use serde::Deserialize;
use serde_json::json;

use crate::harness::Harness;

/// Poll `check` until it holds; a liveness deadline (generous), not a performance assertion.
async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if check().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn config(node: &str) -> PoolConfig {
    PoolConfig {
        node_id: node.to_owned(),
        max_workers: 4,
        poll_interval: Duration::from_millis(50),
        ..PoolConfig::default()
    }
}

#[derive(Deserialize)]
struct AddArgs {
    a: i64,
    b: i64,
}

struct Add(Arc<Mutex<Vec<i64>>>);
impl Worker for Add {
    const KIND: &'static str = "add";
    type Args = AddArgs;
    async fn work(&self, _ctx: JobContext, args: AddArgs) -> Result<Outcome, JobError> {
        self.0
            .lock()
            .map_err(|_| JobError::permanent("poisoned", "lock"))?
            .push(args.a + args.b);
        Ok(Outcome::Complete)
    }
}

struct Panics;
impl Worker for Panics {
    const KIND: &'static str = "panics";
    type Args = serde_json::Value;
    async fn work(&self, _ctx: JobContext, _args: serde_json::Value) -> Result<Outcome, JobError> {
        panic!("boom in handler")
    }
}

/// Sleeps for `ms` unless told to stop; records why it stopped.
struct Sleepy(Arc<Mutex<Vec<CancelReason>>>);
#[derive(Deserialize)]
struct SleepArgs {
    ms: u64,
}
impl Worker for Sleepy {
    const KIND: &'static str = "sleepy";
    type Args = SleepArgs;
    async fn work(&self, ctx: JobContext, args: SleepArgs) -> Result<Outcome, JobError> {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.ms)) => Ok(Outcome::Complete),
            reason = ctx.cancelled() => {
                if let Ok(mut v) = self.0.lock() { v.push(reason); }
                Ok(Outcome::Complete)
            }
        }
    }
}

/// Tracks the highest number of handlers running at once.
struct Track {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}
impl Worker for Track {
    const KIND: &'static str = "track";
    type Args = serde_json::Value;
    async fn work(&self, _ctx: JobContext, _args: serde_json::Value) -> Result<Outcome, JobError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(Outcome::Complete)
    }
}

pub async fn pool_runs_jobs_and_dead_letters_bad_ones(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let sums = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Add(sums.clone()));
    let good: Vec<NewJob> = (0..50)
        .map(|i| NewJob::from_value("add", json!({"a": i, "b": 1})))
        .collect();
    q.insert_many(good).await?;
    let unknown = q
        .insert(NewJob::from_value("no_such_kind", json!({})))
        .await?
        .id();
    let bad_args = q
        .insert(NewJob::from_value("add", json!({"a": "x"})))
        .await?
        .id();
    let pool = WorkerPool::start(q.clone(), reg, config("n1")).await?;
    eventually("all jobs finalized", || async {
        let c = q.counts().await?;
        Ok(c.state(JobState::Completed) + c.state(JobState::Discarded) == 52)
    })
    .await?;
    pool.shutdown(Duration::from_secs(5)).await?;
    let mut got = sums
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    got.sort_unstable();
    assert_eq!(got, (1..=50).collect::<Vec<i64>>());
    let c = q.counts().await?;
    assert_eq!(c.state(JobState::Completed), 50);
    for (id, kind) in [(unknown, "unknown_kind"), (bad_args, "invalid_args")] {
        let job = q.get(id).await?;
        assert_eq!(job.state, JobState::Discarded, "job {id}");
        assert_eq!(job.last_error_kind.as_deref(), Some(kind));
        let attempts = q.attempts(id).await?;
        assert_eq!(attempts.len(), 1);
        assert!(!attempts[0].retryable);
        let msg = attempts[0].message.clone().unwrap_or_default();
        assert!(
            msg.contains(&id.to_string()) || msg.contains("no_such_kind"),
            "{msg}"
        );
    }
    Ok(())
}

pub async fn panicking_handler_is_a_failed_attempt(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let sums = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Panics).register(Add(sums.clone()));
    let id = q
        .insert(NewJob::from_value("panics", json!({})).max_attempts(2))
        .await?
        .id();
    let pool = WorkerPool::start(q.clone(), reg, config("n1")).await?;
    eventually("first attempt failed", || async {
        Ok(q.get(id).await?.state == JobState::Retryable)
    })
    .await?;
    // The pool survived the panic and keeps working.
    q.insert(NewJob::from_value("add", json!({"a": 1, "b": 2})))
        .await?;
    eventually("add job ran", || async {
        Ok(sums.lock().map(|v| v.len() == 1).unwrap_or(false))
    })
    .await?;
    q.retry(id, None).await?;
    eventually("discarded after 2 attempts", || async {
        Ok(q.get(id).await?.state == JobState::Discarded)
    })
    .await?;
    pool.shutdown(Duration::from_secs(5)).await?;
    let attempts = q.attempts(id).await?;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].error_kind.as_deref(), Some("panic"));
    assert!(
        attempts[0]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("boom in handler")
    );
    Ok(())
}

pub async fn graceful_shutdown_finishes_or_returns_jobs(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Sleepy(reasons.clone()));
    let quick = q
        .insert(NewJob::from_value("sleepy", json!({"ms": 50})))
        .await?
        .id();
    let slow = q
        .insert(NewJob::from_value("sleepy", json!({"ms": 600_000})))
        .await?
        .id();
    let pool = WorkerPool::start(
        q.clone(),
        reg,
        PoolConfig {
            min_workers: 2,
            ..config("n1")
        },
    )
    .await?;
    eventually("both running", || async {
        Ok(q.counts().await?.state(JobState::Running) == 2)
    })
    .await?;
    let returned = pool.shutdown(Duration::from_millis(500)).await?;
    assert_eq!(returned, 1);
    assert_eq!(
        q.get(quick).await?.state,
        JobState::Completed,
        "finished within grace"
    );
    let job = q.get(slow).await?;
    assert_eq!(job.state, JobState::Available, "returned to the queue");
    assert_eq!(job.attempt, 0, "attempt not spent");
    let attempts = q.attempts(slow).await?;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "interrupted");
    // The handler may or may not see the shutdown signal before it is aborted; either way its
    // result was not applied (the job is available, not completed).
    let seen = reasons.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        seen.is_empty() || seen == vec![CancelReason::Shutdown],
        "unexpected cancel reasons {seen:?}"
    );
    Ok(())
}

pub async fn handler_told_when_lease_lost(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Sleepy(reasons.clone()));
    let id = q
        .insert(NewJob::from_value("sleepy", json!({"ms": 600_000})))
        .await?
        .id();
    let cfg = PoolConfig {
        heartbeat_interval: Duration::from_millis(50),
        ..config("n1")
    };
    let pool = WorkerPool::start(q.clone(), reg, cfg).await?;
    eventually("running", || async {
        Ok(q.get(id).await?.state == JobState::Running)
    })
    .await?;
    q.cancel(id, "operator stop").await?;
    eventually("handler told", || async {
        Ok(reasons.lock().map(|v| !v.is_empty()).unwrap_or(false))
    })
    .await?;
    eventually("result refused", || async {
        Ok(pool.stats().lease_lost == 1)
    })
    .await?;
    assert_eq!(
        reasons.lock().map(|v| v.clone()).unwrap_or_default(),
        vec![CancelReason::LeaseLost]
    );
    assert_eq!(
        q.get(id).await?.state,
        JobState::Cancelled,
        "the stale completion was not applied"
    );
    assert_eq!(pool.stats().completed, 0);
    pool.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

pub async fn autoscale_grows_and_shrinks(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut reg = Registry::new();
    reg.register(Track {
        now: now.clone(),
        peak: peak.clone(),
    });
    q.insert_many(
        (0..1500)
            .map(|i| NewJob::from_value("track", json!(i)))
            .collect(),
    )
    .await?;
    let cfg = PoolConfig {
        min_workers: 1,
        max_workers: 32,
        scale_check_interval: Duration::from_millis(20),
        idle_shrink_after: Duration::from_millis(100),
        ..config("n1")
    };
    let pool = WorkerPool::start(q.clone(), reg, cfg).await?;
    eventually("scaled up to the maximum", || async {
        Ok(pool.concurrency() == 32)
    })
    .await?;
    eventually("all done", || async {
        Ok(q.counts().await?.state(JobState::Completed) == 1500)
    })
    .await?;
    assert!(
        peak.load(Ordering::SeqCst) > 1,
        "more than one handler ran at once"
    );
    assert!(peak.load(Ordering::SeqCst) <= 32, "never above the maximum");
    eventually("shrunk back to the minimum when idle", || async {
        Ok(pool.concurrency() == 1)
    })
    .await?;
    pool.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

pub async fn idle_pickup_is_woken_by_insert(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let sums = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Add(sums.clone()));
    // A poll interval far longer than the test's deadline: only the wake-up can deliver the job.
    let cfg = PoolConfig {
        poll_interval: Duration::from_secs(3600),
        ..config("n1")
    };
    let pool = WorkerPool::start(q.clone(), reg, cfg).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..3 {
        q.insert(NewJob::from_value("add", json!({"a": i, "b": 0})))
            .await?;
        eventually("woken pickup", || async {
            Ok(sums
                .lock()
                .map(|v| v.len() == i as usize + 1)
                .unwrap_or(false))
        })
        .await?;
    }
    pool.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

/// Results wait for the writer loop's next cycle (here held back by a long `finish_flush` while a
/// slow job runs); until then their jobs are still `running` in the database. Shutdown returns
/// the slow job and commits the waiting results.
pub async fn shutdown_commits_results_waiting_for_their_cycle(h: Harness) -> anyhow::Result<()> {
    let q = Queue::new(h.db.clone());
    let sums = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    reg.register(Add(sums.clone()))
        .register(Sleepy(Arc::new(Mutex::new(Vec::new()))));
    let slow = q
        .insert(NewJob::from_value("sleepy", json!({"ms": 600_000})))
        .await?
        .id();
    let quick = [
        q.insert(NewJob::from_value("add", json!({"a": 1, "b": 2})))
            .await?
            .id(),
        q.insert(NewJob::from_value("add", json!({"a": 3, "b": 4})))
            .await?
            .id(),
    ];
    let pool = WorkerPool::start(
        q.clone(),
        reg,
        PoolConfig {
            min_workers: 3,
            max_workers: 3,
            finish_flush: Duration::from_secs(600),
            ..config("n1")
        },
    )
    .await?;
    eventually("both quick handlers returned", || async {
        Ok(sums.lock().map(|v| v.len()).unwrap_or(0) == 2)
    })
    .await?;
    for id in quick {
        assert_eq!(
            q.get(id).await?.state,
            JobState::Running,
            "result not committed yet"
        );
    }
    assert_eq!(
        pool.stats().in_flight,
        3,
        "two results waiting, one handler running"
    );
    let returned = pool.shutdown(Duration::from_millis(100)).await?;
    assert_eq!(returned, 1);
    assert_eq!(q.get(slow).await?.state, JobState::Available);
    for id in quick {
        assert_eq!(
            q.get(id).await?.state,
            JobState::Completed,
            "committed at shutdown"
        );
    }
    Ok(())
}

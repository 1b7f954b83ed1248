//! Queue throughput and pickup-latency benchmark (the lead's `bench queue` CLI wraps the same API).
//!
//!   cargo run --release -p creatorflow-queue --example bench -- [DATABASE_URL] [JOBS] [CONCURRENCY]
//!
//! DATABASE_URL defaults to a fresh SQLite file in the temp dir. Phases: enqueue JOBS no-op jobs
//! with `insert_many`; process them with a `WorkerPool` (claim + run + group-committed complete);
//! then measure idle pickup latency (insert one job, time until its handler runs) 200 times.

use std::time::{Duration, Instant};

use creatorflow_queue::{
    Db, JobContext, JobError, JobState, NewJob, Outcome, PoolConfig, Queue, Registry, Worker,
    WorkerPool,
};
use serde_json::json;
use tokio::sync::mpsc;

struct Noop;
impl Worker for Noop {
    const KIND: &'static str = "noop";
    type Args = serde_json::Value;
    async fn work(&self, _: JobContext, _: serde_json::Value) -> Result<Outcome, JobError> {
        Ok(Outcome::Complete)
    }
}

struct Ping(mpsc::UnboundedSender<Instant>);
impl Worker for Ping {
    const KIND: &'static str = "ping";
    type Args = serde_json::Value;
    async fn work(&self, _: JobContext, _: serde_json::Value) -> Result<Outcome, JobError> {
        let _ = self.0.send(Instant::now());
        Ok(Outcome::Complete)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::env::temp_dir().join(format!("creatorflow-queue-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let jobs: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(50_000);
    let concurrency: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let db = Db::connect(&url).await?;
    let q = Queue::new(db.clone());
    println!(
        "backend {:?}, {jobs} jobs, concurrency {concurrency}",
        db.backend()
    );

    let t0 = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(10_000) {
        let batch = chunk
            .iter()
            .map(|i| NewJob::from_value("noop", json!({ "i": i })))
            .collect();
        q.insert_many(batch).await?;
    }
    let enqueue = t0.elapsed();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut reg = Registry::new();
    reg.register(Noop).register(Ping(tx));
    let cfg = PoolConfig {
        node_id: "bench".into(),
        min_workers: concurrency,
        max_workers: concurrency,
        ..PoolConfig::default()
    };
    let t1 = Instant::now();
    let pool = WorkerPool::start(q.clone(), reg, cfg).await?;
    while pool.stats().completed < jobs as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let process = t1.elapsed();
    let total = enqueue + process;
    println!(
        "enqueue {:.0} jobs/s ({:?}); process {:.0} jobs/s ({:?}); end to end {:.0} jobs/s",
        jobs as f64 / enqueue.as_secs_f64(),
        enqueue,
        jobs as f64 / process.as_secs_f64(),
        process,
        jobs as f64 / total.as_secs_f64()
    );

    let mut lat = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let start = Instant::now();
        q.insert(NewJob::from_value("ping", json!({}))).await?;
        let ran = rx
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("ping worker gone"))?;
        lat.push(ran.duration_since(start));
    }
    lat.sort();
    println!(
        "idle pickup latency (insert commit + wake + claim + start): p50 {:?} p90 {:?} p99 {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 9 / 10],
        lat[lat.len() * 99 / 100]
    );
    pool.shutdown(Duration::from_secs(10)).await?;
    let c = q.counts().await?;
    anyhow::ensure!(
        c.state(JobState::Completed) == jobs as i64 + 200,
        "not all completed: {c:?}"
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

//! `bench queue`: N no-op jobs through enqueue, claim and complete; jobs/s per phase and pickup latency.
//!
//! Phases run one after the other, as in the BullMQ comparison of issue 2: enqueue all N (multi-row
//! inserts, 1,000 per transaction), then process all N with a worker pool, then measure pickup latency on
//! the idle queue (one job at a time, from the enqueue call to the handler starting).

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use creatorflow_queue::{
    Db, DbOptions, JobContext, JobError, NewJob, Outcome, PoolConfig, Queue, Registry, Worker, WorkerPool,
};
use hdrhistogram::Histogram;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::mpsc;

#[derive(Args, Debug)]
pub struct QueueBench {
    /// Which database to measure. sqlite uses a fresh file in a temp dir; postgres needs --database
    /// (or CREATORFLOW_BENCH_PG_URL) and works in a schema of its own that it drops afterwards.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Number of no-op jobs.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    jobs: u64,
    /// Worker concurrency while processing (BullMQ's comparison run used 50).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// Idle-queue pickup latency samples.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pickup_samples: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Serialize, Debug)]
struct Report {
    backend: Backend,
    jobs: u64,
    concurrency: u64,
    enqueue_per_s: f64,
    process_per_s: f64,
    total_per_s: f64,
    enqueue_s: f64,
    process_s: f64,
    pickup_samples: u64,
    pickup_p50_ms: f64,
    pickup_p99_ms: f64,
    pickup_max_ms: f64,
    durability: &'static str,
}

struct Noop;
impl Worker for Noop {
    const KIND: &'static str = "bench_noop";
    type Args = serde_json::Value;
    async fn work(&self, _: JobContext, _: serde_json::Value) -> Result<Outcome, JobError> {
        Ok(Outcome::Complete)
    }
}

/// Reports when its handler started, for pickup latency.
struct Ping(mpsc::UnboundedSender<Instant>);
impl Worker for Ping {
    const KIND: &'static str = "bench_ping";
    type Args = serde_json::Value;
    async fn work(&self, _: JobContext, _: serde_json::Value) -> Result<Outcome, JobError> {
        let _ = self.0.send(Instant::now());
        Ok(Outcome::Complete)
    }
}

pub async fn run(args: &QueueBench, database: Option<&str>) -> anyhow::Result<()> {
    let (db, cleanup) = open(args.backend, database).await?;
    let result = measure(args, db.clone()).await;
    db.close().await;
    cleanup.run().await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// What to remove once the benchmark is done.
enum Cleanup {
    Dir(std::path::PathBuf),
    Schema { url: String, schema: String },
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
                    pool.close().await;
                }
            }
        }
    }
}

async fn open(backend: Backend, database: Option<&str>) -> anyhow::Result<(Db, Cleanup)> {
    match backend {
        Backend::Sqlite => {
            if database.is_some_and(|url| !url.starts_with("sqlite:")) {
                bail!("--backend sqlite measures a fresh temp database; drop --database or use --backend postgres");
            }
            let dir = std::env::temp_dir().join(format!("creatorflow-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let db = Db::connect_sqlite(&dir.join("bench.db")).await?;
            Ok((db, Cleanup::Dir(dir)))
        }
        Backend::Postgres => {
            let url = match database {
                Some(url) => url.to_owned(),
                None => std::env::var("CREATORFLOW_BENCH_PG_URL").map_err(|_| {
                    anyhow::anyhow!(
                        "--backend postgres needs --database postgres://... or CREATORFLOW_BENCH_PG_URL \
                         (scripts/pg-test-server.sh start prints a throw-away server's URL)"
                    )
                })?,
            };
            if !url.starts_with("postgres") {
                bail!("--backend postgres needs a postgres:// URL");
            }
            // A schema of its own, so the benchmark never touches real jobs.
            let schema = format!("creatorflow_bench_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&url).await.context("connecting to PostgreSQL")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await?;
            admin.close().await;
            let options = PgConnectOptions::from_str(&url)?.options([("search_path", schema.as_str())]);
            let opts = DbOptions { pg_max_connections: 16, ..DbOptions::default() };
            let db = Db::connect_postgres_options(options, &opts).await?;
            Ok((db, Cleanup::Schema { url, schema }))
        }
    }
}

async fn measure(args: &QueueBench, db: Db) -> anyhow::Result<Report> {
    let queue = Queue::new(db);
    let n = args.jobs;

    let started = Instant::now();
    let mut next = 0u64;
    while next < n {
        let end = (next + 1_000).min(n);
        let batch = (next..end).map(|i| NewJob::from_value(Noop::KIND, serde_json::json!({ "i": i }))).collect();
        queue.insert_many(batch).await?;
        next = end;
    }
    let enqueue = started.elapsed();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = Registry::new();
    registry.register(Noop).register(Ping(tx));
    let concurrency = usize::try_from(args.concurrency)?;
    let config = PoolConfig {
        node_id: format!("bench-{}", std::process::id()),
        min_workers: concurrency,
        max_workers: concurrency,
        ..PoolConfig::default()
    };
    let started = Instant::now();
    let pool = WorkerPool::start(queue.clone(), registry, config).await?;
    while pool.stats().completed < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let process = started.elapsed();

    // Idle pickup: the queue is empty now; one job at a time.
    let mut pickup = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for i in 0..args.pickup_samples {
        let enqueued = Instant::now();
        queue.insert(NewJob::from_value(Ping::KIND, serde_json::json!({ "i": i }))).await?;
        let picked = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .context("a job was not picked up within 10 s")?
            .context("the worker pool stopped")?;
        pickup.record(picked.duration_since(enqueued).as_micros().max(1) as u64)?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    pool.shutdown(Duration::from_secs(5)).await?;

    let per_s = |d: Duration| n as f64 / d.as_secs_f64();
    let ms = |us: u64| us as f64 / 1000.0;
    Ok(Report {
        backend: args.backend,
        jobs: n,
        concurrency: args.concurrency,
        enqueue_per_s: per_s(enqueue).round(),
        process_per_s: per_s(process).round(),
        total_per_s: per_s(enqueue + process).round(),
        enqueue_s: enqueue.as_secs_f64(),
        process_s: process.as_secs_f64(),
        pickup_samples: args.pickup_samples,
        pickup_p50_ms: ms(pickup.value_at_quantile(0.50)),
        pickup_p99_ms: ms(pickup.value_at_quantile(0.99)),
        pickup_max_ms: ms(pickup.max()),
        durability: match args.backend {
            Backend::Sqlite => "sqlite WAL, synchronous=NORMAL: survives process crashes; a power cut can lose the last commits since the last checkpoint, never corrupts",
            Backend::Postgres => "postgresql as configured by the server (synchronous_commit, fsync)",
        },
    })
}

fn print_table(r: &Report) {
    println!("queue benchmark: {:?}, {} no-op jobs, concurrency {}", r.backend, r.jobs, r.concurrency);
    println!("  enqueue      {:>10.0} jobs/s  ({:.2} s)", r.enqueue_per_s, r.enqueue_s);
    println!("  process      {:>10.0} jobs/s  ({:.2} s, claim + run + complete)", r.process_per_s, r.process_s);
    println!("  end to end   {:>10.0} jobs/s", r.total_per_s);
    println!(
        "  pickup (idle, {} samples)  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        r.pickup_samples, r.pickup_p50_ms, r.pickup_p99_ms, r.pickup_max_ms
    );
    println!("  durability: {}", r.durability);
}

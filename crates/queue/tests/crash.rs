//! Crash test (SQLite): a child process works through N jobs whose handler bumps a per-job counter
//! in its own transaction; the parent SIGKILLs it at random moments (at least 30 times) and
//! restarts it. At the end every job is completed, every counter is >= 1, a counter above 1 is
//! covered by recorded lost/interrupted attempts (duplicates only where the completion had not
//! committed), and `PRAGMA integrity_check` says ok.
//!
//! The child is this same test binary re-executed with CREATORFLOW_QUEUE_CRASH_CHILD set.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use creatorflow_queue::{
    Db, JobContext, JobError, JobState, NewJob, Outcome, PoolConfig, Queue, Registry, RetryPolicy,
    Worker, WorkerPool,
};
use serde_json::json;

const CHILD_ENV: &str = "CREATORFLOW_QUEUE_CRASH_CHILD";
const JOBS: i64 = 3000;
const MIN_KILLS: usize = 30;

struct Bump {
    db: Db,
}

impl Worker for Bump {
    const KIND: &'static str = "bump";
    type Args = serde_json::Value;

    async fn work(&self, ctx: JobContext, _args: serde_json::Value) -> Result<Outcome, JobError> {
        // Work before and after the side effect, so kills land on both sides of its commit.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(2..15))).await;
        let db_err = |e: creatorflow_queue::QueueError| JobError::retryable("db", e.to_string());
        let mut tx = self.db.begin().await.map_err(db_err)?;
        let t = tx
            .sqlite()
            .ok_or_else(|| JobError::permanent("backend", "crash test runs on sqlite"))?;
        sqlx::query("UPDATE counters SET n = n + 1 WHERE job_id = ?")
            .bind(ctx.id)
            .execute(&mut **t)
            .await
            .map_err(|e| JobError::retryable("db", e.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..10))).await;
        Ok(Outcome::Complete)
    }
}

fn queue_for(db: Db) -> Queue {
    Queue::builder(db)
        .kind_policy(
            "bump",
            RetryPolicy {
                max_attempts: 1000,
                base: Duration::from_millis(5),
                max_backoff: Duration::from_millis(500),
                jitter: 0.1,
            },
        )
        .build()
}

/// The child role: work until every job is completed. A no-op in a normal test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() -> anyhow::Result<()> {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return Ok(());
    };
    let db = Db::connect_sqlite(&PathBuf::from(path)).await?;
    let q = queue_for(db.clone());
    let mut reg = Registry::new();
    reg.register(Bump { db: db.clone() });
    let cfg = PoolConfig {
        node_id: "crash-node".into(),
        min_workers: 8,
        max_workers: 8,
        poll_interval: Duration::from_millis(20),
        rescue_interval: Duration::from_millis(500),
        ..PoolConfig::default()
    };
    let pool = WorkerPool::start(q.clone(), reg, cfg).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if q.counts().await?.state(JobState::Completed) == JOBS {
            break;
        }
    }
    pool.shutdown(Duration::from_secs(10)).await?;
    db.close().await;
    Ok(())
}

fn spawn_child(path: &std::path::Path) -> anyhow::Result<std::process::Child> {
    let exe = std::env::current_exe()?;
    Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawning the child")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sigkill_loses_no_job() -> anyhow::Result<()> {
    if std::env::var(CHILD_ENV).is_ok() {
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!(
        "creatorflow-queue-crash-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("crash.db");
    {
        let db = Db::connect_sqlite(&path).await?;
        let q = queue_for(db.clone());
        if let Db::Sqlite { writer, .. } = &db {
            sqlx::query("CREATE TABLE counters (job_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
                .execute(writer)
                .await?;
        }
        let ids = q
            .insert_many(
                (0..JOBS)
                    .map(|i| NewJob::from_value("bump", json!({ "i": i })))
                    .collect(),
            )
            .await?;
        if let Db::Sqlite { writer, .. } = &db {
            let list = json!(ids.iter().map(|r| r.id()).collect::<Vec<_>>()).to_string();
            sqlx::query("INSERT INTO counters (job_id, n) SELECT value, 0 FROM json_each(?)")
                .bind(list)
                .execute(writer)
                .await?;
        }
        db.close().await;
    }

    let mut kills = 0;
    let mut lives = 0;
    while kills < MIN_KILLS {
        let mut child = spawn_child(&path)?;
        lives += 1;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(40..250))).await;
        if child.try_wait()?.is_some() {
            bail!("the child finished all jobs after only {kills} kills: make the work longer");
        }
        child.kill()?; // SIGKILL
        child.wait()?;
        kills += 1;
    }
    // A last life runs to the end.
    let status = spawn_child(&path)?.wait()?;
    ensure!(status.success(), "the final child failed: {status}");

    let db = Db::connect_sqlite(&path).await?;
    let q = Queue::new(db.clone());
    let counts = q.counts().await?;
    assert_eq!(
        counts.state(JobState::Completed),
        JOBS,
        "every job completed: {counts:?}"
    );
    assert_eq!(counts.total(), JOBS, "no job in another state: {counts:?}");
    let Db::Sqlite { reader, .. } = &db else {
        bail!("sqlite expected")
    };
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT c.job_id, c.n, (SELECT COUNT(*) FROM job_attempts a WHERE a.job_id = c.job_id \
         AND a.outcome IN ('lost', 'interrupted')) FROM counters c ORDER BY c.job_id",
    )
    .fetch_all(reader)
    .await?;
    assert_eq!(rows.len() as i64, JOBS);
    let mut duplicates = 0;
    let mut lost_attempts = 0;
    for (id, n, lost) in &rows {
        assert!(*n >= 1, "job {id}: handler side effect never committed");
        assert!(
            n - 1 <= *lost,
            "job {id}: ran {n} times but only {lost} attempts were lost/interrupted"
        );
        duplicates += n - 1;
        lost_attempts += lost;
    }
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(reader)
        .await?;
    assert_eq!(integrity, "ok");
    println!(
        "crash test: {JOBS} jobs, {kills} SIGKILLs over {lives} lives, {lost_attempts} lost attempts, \
         {duplicates} duplicate executions (side effect committed, completion not)"
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

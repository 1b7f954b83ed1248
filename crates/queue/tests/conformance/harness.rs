//! Per-test databases: a fresh SQLite file in a temp dir, or a fresh PostgreSQL schema on the
//! server named by CREATORFLOW_TEST_PG_URL.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use creatorflow_queue::{Db, DbOptions, ManualClock, Queue};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Start of the manual clock in tests (2026-01-01T00:00:00Z).
pub const T0: i64 = 1_767_225_600_000;

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        fastrand::u32(..)
    )
}

/// A test database; removes its SQLite directory when dropped.
pub struct Harness {
    pub db: Db,
    pub clock: ManualClock,
    dir: Option<PathBuf>,
}

impl Harness {
    /// A queue on the manual clock.
    pub fn queue(&self) -> Queue {
        Queue::builder(self.db.clone())
            .clock(Arc::new(self.clock.clone()))
            .build()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub fn temp_dir(prefix: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("creatorflow-queue-{prefix}-{}", unique_name()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

pub async fn sqlite() -> anyhow::Result<Option<Harness>> {
    let dir = temp_dir("test")?;
    let db = Db::connect_sqlite(&dir.join("queue.db")).await?;
    Ok(Some(Harness {
        db,
        clock: ManualClock::new(T0),
        dir: Some(dir),
    }))
}

pub async fn postgres() -> anyhow::Result<Option<Harness>> {
    let url = match std::env::var("CREATORFLOW_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("CREATORFLOW_SKIP_PG").as_deref() == Ok("1") {
                eprintln!("skipping PostgreSQL test: CREATORFLOW_SKIP_PG=1");
                return Ok(None);
            }
            bail!(
                "CREATORFLOW_TEST_PG_URL is not set: run `scripts/pg-test-server.sh start` (or `make test`) \
                 and export the URL it prints, or set CREATORFLOW_SKIP_PG=1 to skip PostgreSQL tests"
            );
        }
    };
    let schema = format!("t_{}", unique_name());
    let mut conn = PgConnection::connect(&url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    // The name is generated here from digits and underscores only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let opts = PgConnectOptions::from_str(&url)?.options([("search_path", schema.as_str())]);
    let db = Db::connect_postgres_options(
        opts,
        &DbOptions {
            pg_max_connections: 8,
            ..DbOptions::default()
        },
    )
    .await?;
    Ok(Some(Harness {
        db,
        clock: ManualClock::new(T0),
        dir: None,
    }))
}

//! Metrics against a real store: finished minutes flushed with `Metrics::flush` and read back with
//! `Store::rollups`, on SQLite (a temp file) and PostgreSQL (CREATORFLOW_TEST_PG_URL, as in the store's
//! conformance suite); a database that refuses the write keeps the rows for the next flush.

#[allow(dead_code)]
#[path = "store_conformance/harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use creatorflow_engine::metrics::{Metrics, decode_histogram, rollup_percentile, rollup_summary};
use creatorflow_engine::store::Store;
use creatorflow_queue::{Db, ManualClock};
use harness::{Harness, T0_MS};

const MINUTE: i64 = 60_000;

fn near(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() <= want * 0.011)
}

async fn flush_and_read_back(h: &Harness) -> anyhow::Result<()> {
    let m = Metrics::new(Arc::new(h.clock.clone()));
    let t0 = T0_MS - T0_MS.rem_euclid(MINUTE);
    h.clock.set(t0);
    for i in 1..=100 {
        m.record_ms("api.POST /fulfillment/202309/packages/ship", f64::from(i));
        m.incr("orders.shipped", 1);
    }
    h.clock.set(t0 + MINUTE + 5_000);
    for _ in 0..10 {
        m.record_ms("api.POST /fulfillment/202309/packages/ship", 1000.0);
    }
    m.incr("orders.shipped", 3);
    // Only the first minute is over.
    ensure!(
        m.flush(&h.store).await? == 2,
        "expected two rows for the first minute"
    );
    ensure!(m.flush(&h.store).await? == 0, "a minute was written twice");
    h.clock.set(t0 + 2 * MINUTE);
    ensure!(m.flush(&h.store).await? == 2);

    let api = h
        .store
        .rollups(
            "api.POST /fulfillment/202309/packages/ship",
            t0,
            t0 + 10 * MINUTE,
        )
        .await?;
    ensure!(api.len() == 2, "{api:?}");
    let first = &api[0];
    ensure!(
        (first.minute, first.count, first.sum) == (t0, 100, 5050.0),
        "{first:?}"
    );
    ensure!(
        (first.min, first.max) == (Some(1.0), Some(100.0)),
        "{first:?}"
    );
    ensure!(
        near(first.p50, 50.0) && near(first.p90, 90.0) && near(first.p99, 99.0),
        "{first:?}"
    );
    let decoded = first
        .histogram
        .as_deref()
        .and_then(decode_histogram)
        .context("histogram")?;
    ensure!(decoded.len() == 100);
    // The history panel's p95 over both minutes, from the stored histograms (no p95 column).
    ensure!(
        near(rollup_percentile(&api, 0.95), 1000.0),
        "{:?}",
        rollup_percentile(&api, 0.95)
    );
    ensure!(
        near(rollup_percentile(&api, 0.50), 55.0),
        "{:?}",
        rollup_percentile(&api, 0.50)
    );
    let s = rollup_summary(&api);
    ensure!((s.count, s.max) == (110, Some(1000.0)), "{s:?}");

    let shipped = h
        .store
        .rollups("orders.shipped", t0, t0 + 10 * MINUTE)
        .await?;
    let counts: Vec<(i64, i64)> = shipped.iter().map(|r| (r.minute - t0, r.count)).collect();
    ensure!(counts == [(0, 100), (MINUTE, 3)], "{counts:?}");
    Ok(())
}

async fn a_restart_in_the_same_minute_merges_with_the_stored_row(
    h: &Harness,
) -> anyhow::Result<()> {
    let t0 = T0_MS - T0_MS.rem_euclid(MINUTE);
    h.clock.set(t0 + 1_000);
    let before = Metrics::new(Arc::new(h.clock.clone()));
    for _ in 0..10 {
        before.record_ms("stage.ship.run", 10.0);
    }
    // The app shuts down after writing minute 0 ... and a new process starts within that minute.
    h.clock.set(t0 + MINUTE);
    ensure!(before.flush(&h.store).await? == 1);
    h.clock.set(t0 + 30_000);
    let after = Metrics::new(Arc::new(h.clock.clone()));
    for _ in 0..5 {
        after.record_ms("stage.ship.run", 200.0);
    }
    h.clock.set(t0 + MINUTE);
    ensure!(after.flush(&h.store).await? == 1);
    let rows = h.store.rollups("stage.ship.run", t0, t0 + MINUTE).await?;
    ensure!(rows.len() == 1, "{rows:?}");
    let r = &rows[0];
    ensure!(
        (r.count, r.sum, r.min, r.max) == (15, 1100.0, Some(10.0), Some(200.0)),
        "{r:?}"
    );
    ensure!(near(r.p50, 10.0) && near(r.p90, 200.0), "{r:?}");
    ensure!(
        r.histogram
            .as_deref()
            .and_then(decode_histogram)
            .map(|h| h.len())
            == Some(15)
    );
    Ok(())
}

async fn the_final_flush_writes_the_current_minute(h: &Harness) -> anyhow::Result<()> {
    let t0 = T0_MS - T0_MS.rem_euclid(MINUTE);
    h.clock.set(t0 + 5_000);
    let m = Metrics::new(Arc::new(h.clock.clone()));
    m.record_ms("order_to_fulfillment", 4_000.0);
    h.clock.set(t0 + 20_000);
    ensure!(
        m.flush(&h.store).await? == 0,
        "an unfinished minute was flushed"
    );
    ensure!(m.flush_final(&h.store).await? == 1);
    let rows = h
        .store
        .rollups("order_to_fulfillment", t0, t0 + MINUTE)
        .await?;
    ensure!(rows.len() == 1 && rows[0].count == 1, "{rows:?}");
    // The next run starts in the same minute: its first minute is merged with the stored row.
    let next = Metrics::new(Arc::new(h.clock.clone()));
    next.record_ms("order_to_fulfillment", 6_000.0);
    h.clock.set(t0 + MINUTE);
    ensure!(next.flush(&h.store).await? == 1);
    let rows = h
        .store
        .rollups("order_to_fulfillment", t0, t0 + MINUTE)
        .await?;
    ensure!(
        rows.len() == 1 && rows[0].count == 2 && rows[0].max == Some(6_000.0),
        "{rows:?}"
    );
    Ok(())
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(h) = crate::harness::sqlite().await? else { return Ok(()) };
                    super::$name(&h).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(h) = crate::harness::postgres().await? else { return Ok(()) };
                    super::$name(&h).await
                }
            )*
        }
    };
}

cases!(
    flush_and_read_back,
    a_restart_in_the_same_minute_merges_with_the_stored_row,
    the_final_flush_writes_the_current_minute,
);

/// SQLite only: closing the pools is the one way to make the database refuse writes that is the same
/// for every run, and a fresh `Store` on the same file plays the database coming back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_keeps_the_rows_for_the_next_one() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "creatorflow-metrics-test-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("cache.db");
    let clock = ManualClock::new(T0_MS - T0_MS.rem_euclid(MINUTE));
    let m = Metrics::new(Arc::new(clock.clone()));
    m.record_ms("api.GET /order/202309/orders", 12.0);
    m.incr("api.calls", 1);
    clock.advance(Duration::from_secs(60));

    let down = Store::with_clock(Db::connect_sqlite(&path).await?, Arc::new(clock.clone()));
    down.db().close().await;
    ensure!(
        m.flush(&down).await.is_err(),
        "a closed database accepted the rollups"
    );
    ensure!(m.snapshot().pending_rollups == 2, "the rows were lost");
    // Another minute finishes while the database is down.
    m.incr("api.calls", 4);
    clock.advance(Duration::from_secs(60));
    ensure!(m.flush(&down).await.is_err());
    ensure!(m.snapshot().pending_rollups == 3);

    let up = Store::with_clock(Db::connect_sqlite(&path).await?, Arc::new(clock.clone()));
    ensure!(m.flush(&up).await? == 3);
    ensure!(m.snapshot().pending_rollups == 0);
    let t0 = T0_MS - T0_MS.rem_euclid(MINUTE);
    let calls = up.rollups("api.calls", t0, t0 + 10 * MINUTE).await?;
    let counts: Vec<i64> = calls.iter().map(|r| r.count).collect();
    ensure!(counts == [1, 4], "{counts:?}");
    ensure!(
        up.rollups("api.GET /order/202309/orders", t0, t0 + MINUTE)
            .await?
            .len()
            == 1
    );
    up.db().close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

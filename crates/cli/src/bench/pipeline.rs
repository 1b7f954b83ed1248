//! `bench pipeline`: the order pipeline end to end against the in-process sandbox, in the three
//! scenarios. Order-to-fulfillment is read per order from the database afterwards: TikTok's `paid_time`
//! (whole seconds) to our `shipped_at` (ms), so every figure errs high by up to one second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use creatorflow_engine::connection::ClientTuning;
use creatorflow_engine::demo;
use creatorflow_engine::metrics::Metrics;
use creatorflow_engine::pipeline::metric_names::PIPELINE_OVERHEAD;
use creatorflow_engine::pipeline::{DemoCarrier, Pipeline, PipelineConfig};
use creatorflow_engine::runner::{MIN_WORKERS, Runner, RunnerConfig};
use creatorflow_engine::store::Store;
use creatorflow_queue::Db;
use hdrhistogram::Histogram;
use serde::Serialize;
use tiktok_sandbox::{EndpointFaults, FaultSettings, OrderSpec, OrderStatus, SandboxConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// No rate limit, no latency: how many orders/s the pipeline itself moves through all four stages.
    Unthrottled,
    /// 10,000 paid orders at once under TikTok's 50 QPS per API and 50 ms latency.
    BlackFriday,
    /// 500 orders a minute for 10 minutes under 50 QPS and 50 ms latency.
    Viral,
}

#[derive(Args, Debug)]
pub struct PipelineBench {
    #[arg(long, value_enum, default_value_t = Scenario::Unthrottled)]
    scenario: Scenario,
    /// Orders (unthrottled, black-friday) — default 10,000.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    orders: u64,
    /// Minutes of arrivals (viral).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    minutes: u64,
    /// Most stage jobs running at once (the runner's autoscaling ceiling).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_workers: u64,
    /// Keep the database afterwards and print its path (for per-second timelines of the stages).
    #[arg(long)]
    keep_db: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: Scenario,
    orders: u64,
    shipped: u64,
    duration_s: f64,
    /// Orders through validate → ship → label → confirm per second (until the last one confirmed).
    orders_per_s: f64,
    o2f_p50_ms: u64,
    o2f_p99_ms: u64,
    o2f_max_ms: u64,
    /// The pipeline's own overhead per order (see `metric_names::PIPELINE_OVERHEAD`), ms.
    overhead_p50_ms: f64,
    overhead_p99_ms: f64,
    overhead_max_ms: f64,
    api_calls: u64,
    http_429: u64,
    share_429: f64,
    duplicate_ships: u64,
    batch_ship_calls: u64,
    /// Labels stored when the last order was confirmed (the label stage trails the others).
    labels_at_confirm: u64,
    /// Labels of every TikTok-shipped order (70 %) stored, from the runner's start.
    labels: u64,
    labels_duration_s: f64,
    labels_per_s: f64,
}

pub async fn run(args: &PipelineBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("creatorflow-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(args, &dir).await;
    if args.keep_db {
        eprintln!("database kept: {}", dir.join("bench.db").display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{:?}: {} of {} orders shipped in {:.1} s ({:.0} orders/s through all four stages); \
             order-to-fulfillment p50 {} ms, p99 {} ms, max {} ms; pipeline overhead p50 {:.1} ms, \
             p99 {:.1} ms, max {:.1} ms; {} api calls, {} answered 429 ({:.3} %); {} batch ship calls; \
             {} duplicate ships; labels: {} stored at the last confirmation, all {} in {:.1} s ({:.0} labels/s)",
            report.scenario,
            report.shipped,
            report.orders,
            report.duration_s,
            report.orders_per_s,
            report.o2f_p50_ms,
            report.o2f_p99_ms,
            report.o2f_max_ms,
            report.overhead_p50_ms,
            report.overhead_p99_ms,
            report.overhead_max_ms,
            report.api_calls,
            report.http_429,
            report.share_429 * 100.0,
            report.batch_ship_calls,
            report.duplicate_ships,
            report.labels_at_confirm,
            report.labels,
            report.labels_duration_s,
            report.labels_per_s
        );
    }
    Ok(())
}

async fn run_in(args: &PipelineBench, dir: &std::path::Path) -> anyhow::Result<Report> {
    let db = Db::connect_sqlite(&dir.join("bench.db")).await?;
    let store = Store::new(db);
    let throttled = args.scenario != Scenario::Unthrottled;
    let mut sc = SandboxConfig::with_seed(7);
    sc.initial_orders = 0;
    sc.orders_per_minute = 0.0;
    sc.unpaid_share = 0.0;
    sc.on_hold_share = 0.0;
    sc.cancel_probability = 0.0;
    sc.burst_probability = 0.0;
    sc.address_update_probability = 0.0;
    sc.rate_limit_qps = if throttled { 50 } else { 1_000_000 };
    if throttled {
        sc.faults = FaultSettings {
            default: EndpointFaults { latency_min_ms: 50, latency_max_ms: 50, ..EndpointFaults::default() },
            ..FaultSettings::default()
        };
    }
    if args.scenario == Scenario::Viral {
        sc.orders_per_minute = 500.0;
    }
    let tuning = ClientTuning { qps_per_path: if throttled { 50.0 } else { 1_000_000.0 }, ..ClientTuning::default() };
    let shop = demo::start(&store, sc, tuning).await?;
    let expected = match args.scenario {
        Scenario::Viral => 0,
        _ => {
            for _ in 0..args.orders {
                shop.sandbox.create_order(OrderSpec { status: Some(OrderStatus::AwaitingShipment), ..OrderSpec::default() });
            }
            args.orders
        }
    };
    let metrics = Arc::new(Metrics::new(store.clock()));
    let pipeline = Pipeline::new(store.clone(), shop.connections.clone(), metrics.clone(), Some(Arc::new(DemoCarrier::default())), PipelineConfig::default());
    let started = Instant::now();
    let runner = Runner::start(
        pipeline,
        RunnerConfig {
            poll_interval: Duration::from_millis(250),
            max_workers: args.max_workers as usize,
            min_workers: (args.max_workers as usize).min(MIN_WORKERS),
            ..RunnerConfig::default()
        },
    )
    .await?;
    // The viral scenario measures the orders that arrived in its window (arrivals go on after it).
    let window_end_s = match args.scenario {
        Scenario::Viral => Some(store.clock().now_ms().div_euclid(1000) + (args.minutes * 60) as i64),
        _ => None,
    };
    let scope = match window_end_s {
        Some(end) => format!("o.create_time < {end}"),
        None => "1 = 1".to_owned(),
    };
    let deadline = started + Duration::from_secs(args.minutes * 60 + 1800);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if window_end_s.is_some_and(|end| store.clock().now_ms().div_euclid(1000) < end) {
            continue;
        }
        let done = count(
            &store,
            &format!("SELECT COUNT(*) FROM fulfillments f JOIN orders o ON o.id = f.order_id WHERE f.confirmed_at IS NOT NULL AND {scope}"),
        )
        .await?;
        let target = if expected > 0 { expected } else { count(&store, &format!("SELECT COUNT(*) FROM orders o WHERE {scope}")).await? };
        if done >= target && target > 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("pipeline did not finish: {done} of {target} confirmed");
        }
    }
    let duration = started.elapsed();
    let labels_sql = format!(
        "SELECT COUNT(*) FROM fulfillments f JOIN orders o ON o.id = f.order_id WHERE f.label_stored_at IS NOT NULL AND {scope}"
    );
    let labels_at_confirm = count(&store, &labels_sql).await?;
    let labels_target =
        count(&store, &format!("SELECT COUNT(*) FROM orders o WHERE o.shipping_type = 'TIKTOK' AND {scope}")).await?;
    let mut labels = labels_at_confirm;
    while labels < labels_target {
        if Instant::now() > deadline {
            bail!("the label stage did not finish: {labels} of {labels_target} stored");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        labels = count(&store, &labels_sql).await?;
    }
    let labels_duration = started.elapsed();
    runner.shutdown(Duration::from_secs(10)).await?;
    let stats = shop.sandbox.stats();
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3).context("histogram")?;
    for ms in o2f_ms(&store, &scope).await? {
        h.record(ms.max(1) as u64).ok();
    }
    let shipped = h.len();
    let calls: u64 = stats.calls.values().sum();
    shop.sandbox.shutdown().await.ok();
    Ok(Report {
        scenario: args.scenario,
        orders: if expected > 0 { expected } else { shipped },
        shipped,
        duration_s: duration.as_secs_f64(),
        orders_per_s: shipped as f64 / duration.as_secs_f64(),
        o2f_p50_ms: h.value_at_quantile(0.5),
        o2f_p99_ms: h.value_at_quantile(0.99),
        o2f_max_ms: h.max(),
        overhead_p50_ms: metrics.percentile(PIPELINE_OVERHEAD, 0.5).unwrap_or(0.0),
        overhead_p99_ms: metrics.percentile(PIPELINE_OVERHEAD, 0.99).unwrap_or(0.0),
        overhead_max_ms: metrics.percentile(PIPELINE_OVERHEAD, 1.0).unwrap_or(0.0),
        api_calls: calls,
        http_429: stats.http_429,
        share_429: if calls == 0 { 0.0 } else { stats.http_429 as f64 / calls as f64 },
        duplicate_ships: stats.duplicate_ships,
        batch_ship_calls: stats.calls.get("packages.batch_ship").copied().unwrap_or(0),
        labels_at_confirm,
        labels,
        labels_duration_s: labels_duration.as_secs_f64(),
        labels_per_s: labels as f64 / labels_duration.as_secs_f64(),
    })
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<u64> {
    let Db::Sqlite { reader, .. } = store.db() else { bail!("the pipeline bench runs on SQLite") };
    // The statements are this file's own; the only value in them is a number we computed.
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(reader).await?;
    Ok(n as u64)
}

async fn o2f_ms(store: &Store, scope: &str) -> anyhow::Result<Vec<i64>> {
    let Db::Sqlite { reader, .. } = store.db() else { bail!("the pipeline bench runs on SQLite") };
    let sql = format!(
        "SELECT f.shipped_at - COALESCE(o.paid_time, o.create_time) * 1000 FROM fulfillments f \
         JOIN orders o ON o.id = f.order_id WHERE f.shipped_at IS NOT NULL AND {scope}"
    );
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
    .fetch_all(reader)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

//! `run`, `sync` and `demo`: the order pipeline, headless. The work lives in the engine's `Runner`;
//! these commands pick the database, the secret store and the exit rule, and print progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use creatorflow_engine::connection::{ClientTuning, Connections};
use creatorflow_engine::metrics::Metrics;
use creatorflow_engine::node::NodeIdentity;
use creatorflow_engine::pipeline::{Pipeline, PipelineConfig};
use creatorflow_engine::runner::{Runner, RunnerConfig};
use creatorflow_engine::store::{DEFAULT_CREATOR_ID, Store};
use creatorflow_engine::{Console, ConsoleConfig, demo};

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Exit 0 once every shippable order is finished or waits on something outside our control
    /// (the buyer, TikTok's hold, a tracking number to enter) and a fresh sync finds nothing new.
    #[arg(long)]
    pub until_idle: bool,
    /// Stop after this many seconds (with --until-idle: exit 1 if not idle by then).
    #[arg(long, value_name = "N")]
    pub max_seconds: Option<u64>,
    /// Most jobs at once.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub workers: u64,
    /// Seconds between sync passes of a shop.
    #[arg(long, default_value_t = 5.0)]
    pub poll_seconds: f64,
}

#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// Only this shop (default: every active shop).
    #[arg(long, value_name = "NAME")]
    pub shop: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub sandbox: tiktok_sandbox::cli::SandboxArgs,
}

fn pipeline(store: Store, connections: Connections) -> Pipeline {
    let metrics = Arc::new(Metrics::new(store.clock()));
    Pipeline::new(store, connections, metrics, None, PipelineConfig::default())
}

fn runner_config(args: &RunArgs, node: &NodeIdentity) -> anyhow::Result<RunnerConfig> {
    if !(0.05..=3600.0).contains(&args.poll_seconds) {
        bail!("--poll-seconds {} must be between 0.05 and 3600", args.poll_seconds);
    }
    Ok(RunnerConfig {
        node_id: node.id().to_owned(),
        max_workers: args.workers as usize,
        min_workers: (args.workers as usize).min(creatorflow_engine::runner::MIN_WORKERS),
        poll_interval: Duration::from_secs_f64(args.poll_seconds),
        ..RunnerConfig::default()
    })
}

pub async fn run(console: &Console, args: &RunArgs) -> anyhow::Result<()> {
    let store = console.store().clone();
    if store.list_shops(DEFAULT_CREATOR_ID).await?.is_empty() {
        bail!("no shop is connected: add one with `creatorflow-cli shop add` (or try `creatorflow-cli demo`)");
    }
    let node = NodeIdentity::claim(console.data_dir())?;
    drive(pipeline(store, console.connections()?), args, &node).await
}

pub async fn sync(console: &Console, args: &SyncArgs) -> anyhow::Result<()> {
    let store = console.store().clone();
    let shops = store.list_shops(DEFAULT_CREATOR_ID).await?;
    let chosen: Vec<_> = match &args.shop {
        Some(name) => shops.into_iter().filter(|s| &s.name == name).collect(),
        None => shops,
    };
    if chosen.is_empty() {
        bail!("no shop {}to sync (see `creatorflow-cli shop list`)", args.shop.as_ref().map(|n| format!("named {n:?} ")).unwrap_or_default());
    }
    let p = pipeline(store, console.connections()?);
    let mut failed = 0;
    for shop in &chosen {
        match p.sync_shop(shop).await {
            Ok(r) => println!(
                "{}: {} orders fetched in {} pages, {} new, {} updated, {} unchanged, {} rejected, {} jobs queued",
                shop.name, r.fetched, r.pages, r.inserted, r.updated, r.stale, r.rejected, r.jobs_enqueued
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{}: sync failed: {e}", shop.name);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} shops did not sync", chosen.len());
    }
    Ok(())
}

pub async fn demo(config: ConsoleConfig, args: &DemoArgs) -> anyhow::Result<()> {
    // The same fresh demo database (DATA_DIR/demo) and demo pipeline the desktop console's first launch uses.
    let (db, path) = demo::fresh_database(&config.data_dir).await?;
    let dir = config.data_dir.join(demo::DEMO_DIR);
    let store = Store::new(db);
    let (sandbox_config, _) = tiktok_sandbox::cli::config_from(&args.sandbox)?;
    let shop = demo::start(&store, sandbox_config, ClientTuning::default()).await?;
    eprintln!(
        "demo: the built-in sandbox shop runs on {} ({} orders at start, {} new per minute); database {}",
        shop.sandbox.base_url(),
        args.sandbox.orders,
        args.sandbox.orders_per_minute,
        path.display()
    );
    let metrics = Arc::new(Metrics::new(store.clock()));
    let p = demo::pipeline(store, shop.connections.clone(), metrics);
    let node = NodeIdentity::claim(&dir)?;
    let result = drive(p, &args.run, &node).await;
    let stats = shop.sandbox.stats();
    eprintln!(
        "demo: tiktok saw {} ship calls, {} duplicate ships, {} rejected signatures; orders by status {:?}",
        stats.ship_calls.values().sum::<u64>(),
        stats.duplicate_ships,
        stats.rejected_signatures,
        stats.orders_by_status
    );
    shop.sandbox.shutdown().await.ok();
    result
}

/// Runs the pipeline until idle / the time limit / Ctrl-C, printing a progress line every 5 s.
async fn drive(pipeline: Pipeline, args: &RunArgs, node: &NodeIdentity) -> anyhow::Result<()> {
    let started = Instant::now();
    let max = args.max_seconds.map(Duration::from_secs);
    let metrics = pipeline.metrics().clone();
    let mut runner = Runner::start(pipeline, runner_config(args, node)?).await?;
    let progress = {
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            every.tick().await;
            loop {
                every.tick().await;
                eprintln!(
                    "run: {:>6.1} s  shipped {}  labels {}  confirmed {}  api calls {}",
                    started.elapsed().as_secs_f64(),
                    metrics.counter("orders.shipped"),
                    metrics.counter("labels.stored"),
                    metrics.counter("orders.confirmed"),
                    metrics.counter("api.calls"),
                );
            }
        })
    };
    let outcome = if args.until_idle {
        tokio::select! {
            idle = runner.until_idle(max) => Some(idle?),
            _ = tokio::signal::ctrl_c() => None,
        }
    } else {
        match max {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep(d) => None,
                _ = tokio::signal::ctrl_c() => None,
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
                None
            }
        }
    };
    progress.abort();
    let backlog = runner.backlog().await?;
    runner.shutdown(Duration::from_secs(10)).await?;
    eprintln!(
        "run: stopped after {:.1} s: shipped {}, labels {}, confirmed {}; backlog {backlog:?}",
        started.elapsed().as_secs_f64(),
        metrics.counter("orders.shipped"),
        metrics.counter("labels.stored"),
        metrics.counter("orders.confirmed"),
    );
    if outcome == Some(false) {
        bail!(
            "not idle after {} s: {} jobs active, {} due soon{}",
            args.max_seconds.unwrap_or_default(),
            backlog.active,
            backlog.due_soon,
            if backlog.active + backlog.due_soon == 0 { " (new or changed orders keep arriving)" } else { "" }
        );
    }
    Ok(())
}

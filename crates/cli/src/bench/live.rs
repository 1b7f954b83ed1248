//! `bench live`: what the live dashboard costs. A console is launched in demo mode in a throw-away data
//! dir (the built-in sandbox shop, the pipeline in this process), its demo orders are worked until the
//! pipeline is idle, and then:
//! 1. one `live_snapshot` build (bypassing the shared copy), N times: wall time per call;
//! 2. the process's CPU with no dashboard, then with `--subscribers` dashboards each receiving one
//!    snapshot a second serialized to JSON (what the Tauri channel and the SSE route send): the
//!    difference is the stream's cost, in percent of one core.
//!
//! CPU comes from /proc/self/stat (utime + stime), so it holds on a shared machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use creatorflow_engine::metrics::ProcessSampler;
use creatorflow_engine::{Console, ConsoleConfig, ServiceOptions};
use serde::Serialize;
use tiktok_sandbox::SandboxConfig;

#[derive(Args, Debug)]
pub struct LiveBench {
    /// Snapshot builds to time.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    calls: u64,
    /// Seconds of each CPU measurement (without, then with the dashboards).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
    seconds: u64,
    /// Dashboards streaming at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    subscribers: u64,
    /// Demo orders worked before measuring (they leave a realistic set of metrics and jobs behind).
    #[arg(long, default_value_t = 200)]
    orders: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    calls: u64,
    snapshot_ms_mean: f64,
    snapshot_ms_p50: f64,
    snapshot_ms_p99: f64,
    snapshot_json_bytes: usize,
    latency_rows: usize,
    seconds: u64,
    subscribers: u64,
    cpu_percent_idle_pipeline: f64,
    cpu_percent_with_dashboards: f64,
    cpu_percent_stream: f64,
    snapshots_pushed: u64,
}

async fn cpu_over(seconds: u64) -> f64 {
    let mut s = ProcessSampler::new();
    s.sample();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    s.sample().cpu_percent_since_last_call.unwrap_or(f64::NAN)
}

pub async fn run(args: &LiveBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("creatorflow-bench-live-{}", std::process::id()));
    let result = measure(args, &dir).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn measure(args: &LiveBench, dir: &std::path::Path) -> anyhow::Result<()> {
    let demo = SandboxConfig { initial_orders: args.orders, orders_per_minute: 0.0, ..SandboxConfig::default() };
    let options = ServiceOptions { demo_when_no_shop: true, demo_sandbox: demo, ..ServiceOptions::default() };
    let console = Console::launch(ConsoleConfig { data_dir: dir.to_path_buf(), database_url: None }, options).await?;
    // Work the demo backlog so the metrics hold every stage and endpoint, then let the pipeline idle.
    let started = Instant::now();
    loop {
        let s = console.live_snapshot().await?;
        if (s.queue.depth == 0 && s.throughput.orders_shipped_per_min > 0.0) || started.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("bench live: demo backlog worked in {:.1} s; timing {} snapshot builds", started.elapsed().as_secs_f64(), args.calls);

    let mut ms = Vec::with_capacity(args.calls as usize);
    let mut last = None;
    for _ in 0..args.calls {
        let t = Instant::now();
        let s = console.live_snapshot_uncached().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(s);
    }
    ms.sort_by(f64::total_cmp);
    let last = last.context("no snapshot")?;
    let json_bytes = serde_json::to_vec(&last)?.len();
    let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];

    eprintln!("bench live: CPU for {} s without a dashboard", args.seconds);
    let idle = cpu_over(args.seconds).await;
    let pushed = Arc::new(AtomicU64::new(0));
    let subs: Vec<_> = (0..args.subscribers)
        .map(|_| {
            let pushed = pushed.clone();
            console.subscribe_live(move |s| {
                // What a transport does with each snapshot: serialize it.
                let ok = serde_json::to_vec(&s).is_ok();
                pushed.fetch_add(1, Ordering::Relaxed);
                ok
            })
        })
        .collect();
    eprintln!("bench live: CPU for {} s with {} dashboards streaming", args.seconds, args.subscribers);
    let with = cpu_over(args.seconds).await;
    for s in subs {
        console.unsubscribe_live(s.id);
    }
    console.shutdown(Duration::from_secs(5)).await?;

    let report = Report {
        calls: args.calls,
        snapshot_ms_mean: ms.iter().sum::<f64>() / ms.len() as f64,
        snapshot_ms_p50: q(0.5),
        snapshot_ms_p99: q(0.99),
        snapshot_json_bytes: json_bytes,
        latency_rows: last.latency.len(),
        seconds: args.seconds,
        subscribers: args.subscribers,
        cpu_percent_idle_pipeline: idle,
        cpu_percent_with_dashboards: with,
        cpu_percent_stream: with - idle,
        snapshots_pushed: pushed.load(Ordering::Relaxed),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "live_snapshot build: mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms ({} calls; {} latency rows, {} bytes of JSON)",
            report.snapshot_ms_mean, report.snapshot_ms_p50, report.snapshot_ms_p99, report.calls, report.latency_rows, report.snapshot_json_bytes
        );
        println!(
            "process CPU: {:.2}% of one core with the idle pipeline, {:.2}% with {} dashboards streaming ({} snapshots): the stream costs {:.2}%",
            report.cpu_percent_idle_pipeline, report.cpu_percent_with_dashboards, report.subscribers, report.snapshots_pushed, report.cpu_percent_stream
        );
    }
    Ok(())
}

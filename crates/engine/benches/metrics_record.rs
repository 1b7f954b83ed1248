//! The cost of recording a metric sample on the pipeline's hot path (by name, through a handle, a
//! counter; one thread, and two threads on one name or on different names), of the console's 1 Hz
//! snapshot with 200 metrics, and the memory 200 latency metrics take.
//! Run: `cargo bench -p creatorflow-engine --bench metrics_record`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use creatorflow_engine::metrics::{Metrics, ProcessSampler};
use creatorflow_queue::SystemClock;

const OPS: usize = 4_000_000;

/// Latencies spread over four decades, so the histogram index is not always the same.
fn samples() -> Vec<f64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            0.05 * 10f64.powf((x % 4000) as f64 / 1000.0)
        })
        .collect()
}

/// Runs `f(thread, i)` OPS times on each of `threads` threads; returns (wall ns/op per thread, CPU ns
/// per op). The CPU figure comes from /proc (all threads), so it is honest on a shared machine where
/// the wall figure includes time the threads spent preempted.
fn run<F>(label: &str, threads: usize, f: F)
where
    F: Fn(usize, usize) + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let mut cpu = ProcessSampler::new();
    let _ = cpu.sample();
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                for i in 0..OPS {
                    f(th, i);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu_pct = cpu.sample().cpu_percent_since_last_call.unwrap_or(f64::NAN);
    let total_ops = (OPS * threads) as f64;
    let wall_per_thread_ns = wall * 1e9 / OPS as f64;
    let cpu_ns = cpu_pct / 100.0 * wall * 1e9 / total_ops;
    println!(
        "{label:<58} {wall_per_thread_ns:>7.1} ns/op wall per thread, {cpu_ns:>7.1} ns/op CPU, {:>6.1} M ops/s total",
        total_ops / wall / 1e6
    );
}

fn main() {
    let values = Arc::new(samples());
    let endpoint = "api.POST /fulfillment/202309/packages/ship";
    let names: Arc<Vec<String>> = Arc::new(
        (0..20)
            .map(|i| format!("api.POST /fulfillment/202309/endpoint/{i}"))
            .collect(),
    );
    println!("metrics_record: {OPS} ops per thread, system clock");

    let m = Metrics::new(Arc::new(SystemClock));
    let (mm, v) = (m.clone(), Arc::clone(&values));
    run("record_ms by name, 1 thread", 1, move |_, i| {
        mm.record_ms(endpoint, black_box(v[i & 4095]))
    });
    let (mm, v, n) = (m.clone(), Arc::clone(&values), Arc::clone(&names));
    run(
        "record_ms by name, 1 thread, 20 names in turn",
        1,
        move |_, i| mm.record_ms(&n[i % 20], black_box(v[i & 4095])),
    );
    let (h, v) = (m.latency_handle(endpoint), Arc::clone(&values));
    run("LatencyHandle::record_ms, 1 thread", 1, move |_, i| {
        h.record_ms(black_box(v[i & 4095]))
    });
    let mm = m.clone();
    run("incr by name, 1 thread", 1, move |_, _| {
        mm.incr("orders.shipped", black_box(1))
    });
    let (mm, v) = (m.clone(), Arc::clone(&values));
    run("record_ms by name, 2 threads, same name", 2, move |_, i| {
        mm.record_ms(endpoint, black_box(v[i & 4095]))
    });
    let (mm, v, n) = (m.clone(), Arc::clone(&values), Arc::clone(&names));
    run(
        "record_ms by name, 2 threads, different names",
        2,
        move |th, i| mm.record_ms(&n[th], black_box(v[i & 4095])),
    );
    let (h, v) = (m.latency_handle(endpoint), Arc::clone(&values));
    run(
        "LatencyHandle::record_ms, 2 threads, same name",
        2,
        move |_, i| h.record_ms(black_box(v[i & 4095])),
    );

    // 200 latency metrics with samples in every slot of the window: the dashboard's worst case.
    let mut usage = ProcessSampler::new();
    let rss0 = usage.sample().rss_bytes.unwrap_or(0);
    let big = Metrics::new(Arc::new(SystemClock));
    for i in 0..200 {
        let name = format!("stage.{i}.run");
        for (j, v) in values.iter().enumerate().take(1000) {
            big.record_ms(&name, v * (1 + j % 7) as f64);
        }
        big.incr(&format!("counter.{i}"), 1);
    }
    let rss1 = usage.sample().rss_bytes.unwrap_or(0);
    let t = Instant::now();
    let rounds = 50;
    for _ in 0..rounds {
        black_box(big.snapshot());
    }
    let snap_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(rounds);
    println!(
        "snapshot with 200 latency metrics + 200 counters: {snap_ms:.2} ms; RSS grew {:.1} MB for them",
        rss1.saturating_sub(rss0) as f64 / 1e6
    );
}

//! `bench triage`: the failed-job triage reads and a bulk retry at scale. Seeds N failed jobs (four per
//! cached order, over three shops, failing with G different causes whose messages carry order and
//! request ids), then times each console call the triage screen makes: the group list, the first job
//! page unfiltered and filtered (shop, error text, args text, one group), a job's detail, the bulk
//! preview of the biggest group and the bulk retry of it (one transaction with its audit event).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use creatorflow_engine::store::{Amount, HandoverMethod, LineItem, NewShop, Order, ShippingType};
use creatorflow_engine::{
    BulkPreviewRequest, BulkRequest, Console, ConsoleConfig, JobSelection, TriageAction, TriageFilter, TriageJobsQuery,
};
use creatorflow_queue::{FinishAction, Finished, JobError, Lease, NewJob};
use serde::Serialize;
use serde_json::json;

#[derive(Args, Debug)]
pub struct TriageBench {
    /// sqlite: a fresh file in a temp dir; postgres: --database (or CREATORFLOW_BENCH_PG_URL), in a
    /// schema of its own that is dropped afterwards.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Failed jobs to seed.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(4..=2_000_000))]
    jobs: u64,
    /// Distinct causes (failure groups).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    causes: u64,
    /// Timed repetitions of each read (the median and the slowest are reported).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=100))]
    repeat: u64,
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
struct Timing {
    call: &'static str,
    median_ms: f64,
    max_ms: f64,
}

#[derive(Serialize, Debug)]
struct Report {
    backend: Backend,
    jobs: u64,
    causes: u64,
    seed_s: f64,
    reads: Vec<Timing>,
    bulk_retry_jobs: i64,
    bulk_retry_ms: f64,
    bulk_retry_jobs_per_s: f64,
}

pub async fn run(args: &TriageBench, database: Option<&str>) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("creatorflow-bench-triage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (url, schema) = match args.backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let url = match database {
                Some(u) => u.to_owned(),
                None => std::env::var("CREATORFLOW_BENCH_PG_URL")
                    .map_err(|_| anyhow::anyhow!("--backend postgres needs --database postgres://... or CREATORFLOW_BENCH_PG_URL"))?,
            };
            if !url.starts_with("postgres") {
                bail!("--backend postgres needs a postgres:// URL");
            }
            let schema = format!("creatorflow_bench_triage_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&url).await.context("connecting to PostgreSQL")?;
            // The name is made of digits and underscores here.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await?;
            admin.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            (Some(format!("{url}{sep}options=-c%20search_path%3D{schema}")), Some((url, schema)))
        }
    };
    let console = Console::open(ConsoleConfig { data_dir: dir.clone(), database_url: url }).await?;
    let result = measure(args, &console).await;
    console.queue().db().close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((url, schema)) = schema
        && let Ok(pool) = sqlx::PgPool::connect(&url).await
    {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&pool).await;
        pool.close().await;
    }
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("triage on {:?}: {} failed jobs, {} causes (seeded in {:.1} s)", report.backend, report.jobs, report.causes, report.seed_s);
        println!("{:<34} {:>10} {:>10}", "CALL", "MEDIAN ms", "MAX ms");
        for t in &report.reads {
            println!("{:<34} {:>10.2} {:>10.2}", t.call, t.median_ms, t.max_ms);
        }
        println!(
            "bulk retry of the biggest group: {} jobs in {:.0} ms ({:.0} jobs/s, one transaction with its audit event)",
            report.bulk_retry_jobs, report.bulk_retry_ms, report.bulk_retry_jobs_per_s
        );
    }
    Ok(())
}

fn order(shop_id: i64, n: u64) -> anyhow::Result<Order> {
    let tts = format!("5770{n:014}");
    Ok(Order {
        shop_id,
        tts_order_id: tts.clone(),
        status: "AWAITING_SHIPMENT".into(),
        create_time: 1_767_225_600,
        update_time: 1_767_225_600,
        paid_time: None,
        buyer_name: format!("Buyer {n}"),
        shipping_type: ShippingType::Tiktok,
        rts_sla_time: None,
        shipping_due_time: None,
        total_amount: Amount::parse("19.99")?,
        currency: "USD".into(),
        recipient_address: None,
        raw: json!({"id": tts}),
        line_items: vec![LineItem {
            tts_line_item_id: format!("li-{n}"),
            product_id: "p".into(),
            product_name: "Mug".into(),
            sku_id: "s".into(),
            sku_name: "Default".into(),
            seller_sku: "MUG".into(),
            sale_price: Amount::parse("19.99")?,
            currency: "USD".into(),
            display_status: "AWAITING_SHIPMENT".into(),
            tts_package_id: None,
        }],
        packages: vec![],
    })
}

/// The message of cause `c` for order `n`: ids differ per job, the cause does not.
fn message(c: u64, n: u64) -> String {
    format!(
        "business rule Other (code {}: rule {c} refused order 5770{n:014}) (endpoint POST /fulfillment/202309/packages/ship, http 200, request_id 2026{n:012}X{c})",
        21_000_000 + c
    )
}

async fn seed(args: &TriageBench, console: &Console) -> anyhow::Result<()> {
    let mut shops = Vec::new();
    for name in ["North", "South", "West"] {
        let s = console
            .store()
            .create_shop(&NewShop {
                creator_id: None,
                name: format!("Bench {name}"),
                tts_shop_id: format!("bench-{name}"),
                cipher: format!("cipher-{name}"),
                region: "US".into(),
                app_key: "bench".into(),
                api_base_url: "http://127.0.0.1:9/api".into(),
                auth_base_url: "http://127.0.0.1:9/auth".into(),
                handover_method: HandoverMethod::Pickup,
                priority: 0,
            })
            .await?;
        shops.push(s.id);
    }
    let orders = args.jobs.div_ceil(4);
    let mut order_ids = Vec::with_capacity(orders as usize);
    for chunk in (0..orders).collect::<Vec<_>>().chunks(2_000) {
        let batch: Vec<Order> = chunk.iter().map(|&n| order(shops[(n % 3) as usize], n)).collect::<Result<_, _>>()?;
        order_ids.extend(console.store().upsert_orders(&batch).await?.into_iter().map(|o| o.id()));
    }
    let q = console.queue();
    const KINDS: [&str; 4] = ["validate", "ship", "label", "confirm"];
    let mut next = 0u64;
    while next < args.jobs {
        let end = (next + 1_000).min(args.jobs);
        let jobs = (next..end)
            .map(|i| NewJob::from_value(KINDS[(i % 4) as usize], json!({"order_id": order_ids[(i / 4) as usize]})).queue("bench-triage").max_attempts(1))
            .collect();
        q.insert_many(jobs).await?;
        let claimed = q.claim("bench-triage", 1_000, "bench", Duration::from_secs(600)).await?;
        let batch: Vec<Finished> = claimed
            .iter()
            .map(|j| {
                let n = j.args["order_id"].as_i64().unwrap_or_default() as u64;
                let cause = (j.id as u64) % args.causes;
                Finished {
                    lease: Lease { id: j.id, token: j.lease_token.unwrap_or_default() },
                    kind: j.kind.clone(),
                    attempt: j.attempt,
                    max_attempts: j.max_attempts,
                    started_at: j.attempted_at.unwrap_or_default(),
                    worker: "bench".into(),
                    action: FinishAction::Fail(
                        JobError::permanent("business_rule", message(cause, n))
                            .with_details(json!({"request_id": format!("2026{n:012}X{cause}"), "endpoint": "POST /ship", "http_status": 200})),
                    ),
                }
            })
            .collect();
        q.finish(&batch).await?;
        next = end;
    }
    Ok(())
}

/// Median and max of `repeat` runs of `f`, in ms.
async fn time<F, Fut, T>(call: &'static str, repeat: u64, mut f: F) -> anyhow::Result<Timing>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, creatorflow_engine::EngineError>>,
{
    let mut ms = Vec::new();
    for _ in 0..repeat {
        let started = Instant::now();
        f().await.with_context(|| format!("{call} failed"))?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok(Timing { call, median_ms: ms[ms.len() / 2], max_ms: ms[ms.len() - 1] })
}

async fn measure(args: &TriageBench, console: &Console) -> anyhow::Result<Report> {
    let started = Instant::now();
    seed(args, console).await?;
    let seed_s = started.elapsed().as_secs_f64();
    let r = args.repeat;
    let all = TriageFilter::default();
    let groups = console.triage_groups(&all).await?;
    let biggest = groups.groups.first().context("no failure groups were seeded")?.clone();
    let shop = biggest.shops.first().map(|s| s.id);
    let page = |filter: TriageFilter| TriageJobsQuery { filter, before: None, limit: Some(100) };
    let first_job = console.triage_jobs(&page(all.clone())).await?.jobs.first().context("no jobs")?.id;
    let by_group = TriageFilter { fingerprint: Some(biggest.fingerprint.clone()), ..Default::default() };

    let mut reads = vec![time("triage_groups (all)", r, || console.triage_groups(&all)).await?];
    let q_all = page(all.clone());
    reads.push(time("triage_jobs page 1 (all)", r, || console.triage_jobs(&q_all)).await?);
    let q_group = page(by_group.clone());
    reads.push(time("triage_jobs page 1 (one group)", r, || console.triage_jobs(&q_group)).await?);
    let by_shop = TriageFilter { shop_id: shop, ..Default::default() };
    let q_shop = page(by_shop.clone());
    reads.push(time("triage_jobs page 1 (one shop)", r, || console.triage_jobs(&q_shop)).await?);
    let q_error = page(TriageFilter { error: Some("rule 3 refused".into()), ..Default::default() });
    reads.push(time("triage_jobs page 1 (error text)", r, || console.triage_jobs(&q_error)).await?);
    // A value that occurs in a few jobs' args only: the scan cannot stop early.
    let q_args = page(TriageFilter { args: Some(format!("{}}}", args.jobs / 8)), ..Default::default() });
    reads.push(time("triage_jobs page 1 (args text)", r, || console.triage_jobs(&q_args)).await?);
    reads.push(time("triage_groups (one shop)", r, || console.triage_groups(&by_shop)).await?);
    reads.push(time("triage_job (detail)", r, || console.triage_job(first_job)).await?);
    let preview = BulkPreviewRequest { selection: JobSelection::Filter { filter: by_group.clone() }, action: TriageAction::Retry };
    reads.push(time("triage_preview (biggest group)", r, || console.triage_preview(&preview)).await?);

    let count = console.triage_preview(&preview).await?.count;
    let started = Instant::now();
    let report = console
        .triage_bulk(&BulkRequest { selection: preview.selection.clone(), action: TriageAction::Retry, expected_count: count, reason: None }, "bench")
        .await?;
    let bulk = started.elapsed().as_secs_f64();
    if report.changed.len() as i64 != count {
        bail!("the bulk retry changed {} of {count} jobs", report.changed.len());
    }
    Ok(Report {
        backend: args.backend,
        jobs: args.jobs,
        causes: args.causes,
        seed_s,
        reads,
        bulk_retry_jobs: count,
        bulk_retry_ms: bulk * 1000.0,
        bulk_retry_jobs_per_s: count as f64 / bulk,
    })
}

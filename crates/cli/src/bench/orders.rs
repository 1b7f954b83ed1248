//! `bench orders`: the order review at scale. Seeds N realistic orders (names, SKUs, tracking numbers,
//! statuses, a year of create times, three shops) through the store's own upsert in bulk
//! transactions, then measures through the `Console` — what the faces call — the latency of: an order
//! looked up by its TikTok id (the full detail, and the lean status), search-as-you-type (buyer
//! names, SKUs, tracking numbers, order-id prefixes; first page of 50), and keyset pages deep in the
//! list (unfiltered and by status). Prints the query plans it relies on.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use creatorflow_engine::store::{
    Amount, DEFAULT_CREATOR_ID, HandoverMethod, LineItem, NewShop, Order, OrderFilter, Package, PageCursor, PageRequest,
    ShippingType,
};
use creatorflow_engine::{Console, ConsoleConfig, OrderQuery};
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::json;
use sqlx::Connection;

#[derive(Args, Debug)]
pub struct OrdersBench {
    /// Orders to seed (skipped when the database already holds at least this many).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    orders: u64,
    /// Lookups, searches and page fetches to time, each.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    samples: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Figures {
    p50_us: u64,
    p99_us: u64,
    max_us: u64,
    samples: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    database: String,
    orders: i64,
    seeded: u64,
    seed_s: f64,
    seed_orders_per_s: f64,
    lookup_by_tiktok_id: Figures,
    status_by_tiktok_id: Figures,
    search_first_page_50: Figures,
    search_buyer: Figures,
    search_sku: Figures,
    search_tracking: Figures,
    search_order_id_prefix: Figures,
    deep_page_100: Figures,
    deep_page_100_by_status: Figures,
    at_risk_first_page_100: Figures,
    plans: Vec<(String, Vec<String>)>,
}

const FIRST: [&str; 24] = [
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mohammed", "Sofia", "Liam", "Emma", "Noah", "Priya", "Lucas", "Mia",
    "Ethan", "Zoe", "Omar", "Hannah", "Mateo", "Grace", "Yuki", "Amara", "Leo", "Isla", "Kai",
];
const LAST: [&str; 24] = [
    "Garcia", "Smith", "Khan", "Wang", "Brown", "Ali", "Rossi", "Murphy", "Jones", "Taylor", "Patel", "Silva", "Nguyen",
    "Wilson", "Evans", "Hassan", "Clarke", "Lopez", "Walker", "Tanaka", "Okafor", "Martin", "Reid", "Novak",
];
const PRODUCTS: [(&str, &str); 12] = [
    ("MUG", "Ceramic Mug"), ("TEE", "Cotton T-Shirt"), ("HAT", "Bucket Hat"), ("CASE", "Phone Case"),
    ("LAMP", "Sunset Lamp"), ("BAG", "Tote Bag"), ("SOCK", "Crew Socks"), ("CAP", "Baseball Cap"),
    ("RING", "Silver Ring"), ("BOTL", "Water Bottle"), ("SCRF", "Wool Scarf"), ("PEN", "Gel Pen Set"),
];
/// (status, share in per mille), roughly a shop a year into selling.
const STATUSES: [(&str, u32); 8] = [
    ("COMPLETED", 520), ("DELIVERED", 150), ("IN_TRANSIT", 80), ("AWAITING_COLLECTION", 30),
    ("AWAITING_SHIPMENT", 120), ("UNPAID", 30), ("ON_HOLD", 20), ("CANCELLED", 50),
];

/// A deterministic, realistic order number `i` (TikTok ids are 18 digits starting with 57).
fn tts_id(i: u64) -> String {
    // An affine map mod 10^16 with a multiplier coprime to 10 is a bijection: ids stay unique while
    // their digits look random.
    const M: u128 = 10_000_000_000_000_000;
    let x = (u128::from(i) * 7_046_029_254_386_353 + 1_234_567_890_123) % M;
    format!("57{x:016}")
}

fn tracking_for(i: u64) -> String {
    format!("RM{:09}GB", i.wrapping_mul(2_654_435_761) % 1_000_000_000)
}

fn make_order(shop_id: i64, i: u64, now: i64, rng: &mut fastrand::Rng) -> Order {
    let roll = rng.u32(0..1000);
    let mut acc = 0;
    let status = STATUSES.iter().find(|(_, w)| { acc += w; roll < acc }).map_or("COMPLETED", |(s, _)| s);
    let create_time = now - rng.i64(0..365 * 86_400);
    let shipped = matches!(status, "COMPLETED" | "DELIVERED" | "IN_TRANSIT" | "AWAITING_COLLECTION");
    let buyer = format!("{} {}", FIRST[rng.usize(..FIRST.len())], LAST[rng.usize(..LAST.len())]);
    let id = tts_id(i);
    let n_items = 1 + usize::from(rng.u8(0..10) >= 7) + usize::from(rng.u8(0..10) >= 9);
    let line_items = (0..n_items)
        .map(|k| {
            let (code, name) = PRODUCTS[rng.usize(..PRODUCTS.len())];
            let variant = rng.u32(1..200);
            LineItem {
                tts_line_item_id: format!("{id}{k}"),
                product_id: format!("17{:016}", variant),
                product_name: name.to_owned(),
                sku_id: format!("{}{variant}", code.len()),
                sku_name: format!("Variant {variant}"),
                seller_sku: format!("{code}-{variant:03}"),
                sale_price: Amount::parse(&format!("{}.{:02}", rng.u32(3..80), rng.u32(0..100))).unwrap_or_else(|_| unreachable_amount()),
                currency: "GBP".into(),
                display_status: status.to_owned(),
                tts_package_id: Some(format!("{id}P")),
            }
        })
        .collect();
    Order {
        shop_id,
        tts_order_id: id.clone(),
        status: status.to_owned(),
        create_time,
        update_time: create_time + 3600,
        paid_time: (status != "UNPAID").then_some(create_time + 60),
        buyer_name: buyer.clone(),
        shipping_type: if rng.u8(0..10) < 7 { ShippingType::Tiktok } else { ShippingType::Seller },
        rts_sla_time: Some(create_time + 2 * 86_400),
        shipping_due_time: Some(create_time + 3 * 86_400),
        total_amount: Amount::parse(&format!("{}.{:02}", rng.u32(5..200), rng.u32(0..100))).unwrap_or_else(|_| unreachable_amount()),
        currency: "GBP".into(),
        recipient_address: Some(json!({"name": buyer, "full_address": "1 High Street, London", "postal_code": "N1 1AA"})),
        raw: json!({"id": id, "status": status}),
        line_items,
        packages: vec![Package {
            tts_package_id: format!("{id}P"),
            status: if shipped { "PROCESSING".into() } else { "TO_FULFILL".into() },
            tracking_number: shipped.then(|| tracking_for(i)),
            shipping_provider_id: shipped.then(|| "6617675021119438849".to_owned()),
            shipping_provider: shipped.then(|| "Royal Mail".to_owned()),
        }],
    }
}

/// `Amount::parse` accepts every string `make_order` formats; a zero keeps the bench going regardless.
fn unreachable_amount() -> Amount {
    Amount::parse("0").unwrap_or_else(|_| unreachable!("\"0\" is a valid amount"))
}

fn hist() -> anyhow::Result<Histogram<u64>> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")
}

fn figures(h: &Histogram<u64>) -> Figures {
    Figures { p50_us: h.value_at_quantile(0.50), p99_us: h.value_at_quantile(0.99), max_us: h.max(), samples: h.len() }
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Schema { url: String, schema: String },
    Keep,
}

pub async fn run(args: &OrdersBench, database: Option<&str>) -> anyhow::Result<()> {
    let pid = std::process::id();
    let (url, cleanup) = match database {
        None => {
            let dir = std::env::temp_dir().join(format!("creatorflow-bench-orders-{pid}"));
            std::fs::create_dir_all(&dir)?;
            (format!("sqlite://{}", dir.join("orders.db").display()), Cleanup::Dir(dir))
        }
        // A SQLite file named by the user is kept, so a seeded million orders can be measured again.
        Some(u) if u.starts_with("sqlite:") => (u.to_owned(), Cleanup::Keep),
        Some(u) if u.starts_with("postgres") => {
            let schema = format!("creatorflow_bench_orders_{pid}");
            let mut admin = sqlx::postgres::PgConnection::connect(u).await.with_context(|| "connecting to postgres")?;
            // The name is built here from digits and letters only.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await?;
            admin.close().await?;
            let sep = if u.contains('?') { '&' } else { '?' };
            (format!("{u}{sep}options=-c%20search_path%3D{schema}"), Cleanup::Schema { url: u.to_owned(), schema })
        }
        Some(u) => bail!("--database {u}: expected sqlite://PATH or postgres://..."),
    };
    let data_dir = std::env::temp_dir().join(format!("creatorflow-bench-orders-data-{pid}"));
    let result = async {
        let console = Console::open(ConsoleConfig { data_dir: data_dir.clone(), database_url: Some(url) }).await?;
        measure(args, &console).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&data_dir);
    match cleanup {
        Cleanup::Dir(d) => {
            let _ = std::fs::remove_dir_all(d);
        }
        Cleanup::Schema { url, schema } => {
            if let Ok(mut c) = sqlx::postgres::PgConnection::connect(&url).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&mut c).await;
            }
        }
        Cleanup::Keep => {}
    }
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    for (name, plan) in &report.plans {
        eprintln!("plan {name}:\n  {}", plan.join("\n  "));
    }
    let line = |name: &str, f: &Figures| {
        println!("{name:<36} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  ({} samples)", f.p50_us as f64 / 1000.0, f.p99_us as f64 / 1000.0, f.max_us as f64 / 1000.0, f.samples);
    };
    println!(
        "{} orders in {} ({} seeded in {:.1} s, {:.0} orders/s)",
        report.orders, report.database, report.seeded, report.seed_s, report.seed_orders_per_s
    );
    line("lookup by tiktok id (full detail)", &report.lookup_by_tiktok_id);
    line("order status by tiktok id (lean)", &report.status_by_tiktok_id);
    line("search, first page of 50 (mix)", &report.search_first_page_50);
    line("  buyer name", &report.search_buyer);
    line("  seller sku", &report.search_sku);
    line("  tracking number", &report.search_tracking);
    line("  order id prefix", &report.search_order_id_prefix);
    line("keyset page of 100, deep", &report.deep_page_100);
    line("keyset page of 100, deep, by status", &report.deep_page_100_by_status);
    line("at risk, first page of 100", &report.at_risk_first_page_100);
    Ok(())
}

async fn measure(args: &OrdersBench, console: &Console) -> anyhow::Result<Report> {
    let store = console.store();
    let mut shops = store.list_shops(DEFAULT_CREATOR_ID).await?;
    for name in ["Bench North", "Bench South", "Bench Studio"] {
        if !shops.iter().any(|s| s.name == name) {
            shops.push(
                store
                    .create_shop(&NewShop {
                        creator_id: None,
                        name: name.into(),
                        tts_shop_id: format!("bench-{}", name.len() + shops.len()),
                        cipher: "bench".into(),
                        region: "GB".into(),
                        app_key: "bench".into(),
                        api_base_url: "http://127.0.0.1:9".into(),
                        auth_base_url: "http://127.0.0.1:9".into(),
                        handover_method: HandoverMethod::Pickup,
                        priority: 0,
                    })
                    .await?,
            );
        }
    }
    let now = 1_767_225_600; // 2026-01-01: fixed, so every run seeds the same shop
    let existing: i64 = store.count_by_status(DEFAULT_CREATOR_ID, None).await?.iter().map(|s| s.count).sum();
    let started = Instant::now();
    let mut seeded = 0u64;
    if (existing as u64) < args.orders {
        let mut rng = fastrand::Rng::with_seed(7);
        const BATCH: u64 = 5_000;
        let mut i = existing as u64;
        while i < args.orders {
            let end = (i + BATCH).min(args.orders);
            let batch: Vec<Order> = (i..end).map(|k| make_order(shops[(k % 3) as usize].id, k, now, &mut rng)).collect();
            store.upsert_orders(&batch).await?;
            seeded += end - i;
            i = end;
            if i.is_multiple_of(100_000) {
                eprintln!("seeded {i} orders ({:.0}/s)", seeded as f64 / started.elapsed().as_secs_f64());
            }
        }
    }
    let seed_s = started.elapsed().as_secs_f64();
    let total: i64 = store.count_by_status(DEFAULT_CREATOR_ID, None).await?.iter().map(|s| s.count).sum();
    let n = total.max(1) as u64;
    let mut rng = fastrand::Rng::with_seed(99);

    let mut lookup = hist()?;
    for _ in 0..args.samples {
        let id = tts_id(rng.u64(0..n));
        let t = Instant::now();
        let d = console.show_order(&id).await?;
        lookup.record(t.elapsed().as_micros() as u64)?;
        std::hint::black_box(d);
    }
    // The lean read support staff need ("where is order X"): status, ship-by, tracking.
    let mut status = hist()?;
    for _ in 0..args.samples {
        let id = tts_id(rng.u64(0..n));
        let t = Instant::now();
        let s = console.order_status(&id).await?;
        status.record(t.elapsed().as_micros() as u64)?;
        std::hint::black_box(s);
    }

    let (mut all, mut buyer, mut sku, mut tracking, mut prefix) = (hist()?, hist()?, hist()?, hist()?, hist()?);
    for k in 0..args.samples {
        let (text, h) = match k % 4 {
            0 => (
                format!("{} {}", FIRST[rng.usize(..FIRST.len())], &LAST[rng.usize(..LAST.len())][..3]).to_lowercase(),
                &mut buyer,
            ),
            1 => (format!("{}-{:03}", PRODUCTS[rng.usize(..PRODUCTS.len())].0, rng.u32(1..200)).to_lowercase(), &mut sku),
            2 => (tracking_for(rng.u64(0..n))[..8].to_lowercase(), &mut tracking),
            _ => (tts_id(rng.u64(0..n))[..12].to_owned(), &mut prefix),
        };
        let q = OrderQuery { search: Some(text), limit: Some(50), ..OrderQuery::default() };
        let t = Instant::now();
        let page = console.list_orders(&q).await?;
        let us = t.elapsed().as_micros() as u64;
        h.record(us)?;
        all.record(us)?;
        std::hint::black_box(page);
    }

    // Deep pages: a cursor at a random order's (create_time, id), most of them far down the list.
    let (mut deep, mut deep_status) = (hist()?, hist()?);
    for k in 0..args.samples {
        let id = tts_id(rng.u64(0..n));
        let d = console.show_order(&id).await?;
        let after = Some(PageCursor { create_time: d.order.create_time, id: d.order.id });
        let (q, h) = if k % 2 == 0 {
            (OrderQuery { limit: Some(100), after, ..OrderQuery::default() }, &mut deep)
        } else {
            (OrderQuery { statuses: vec!["COMPLETED".into()], limit: Some(100), after, ..OrderQuery::default() }, &mut deep_status)
        };
        let t = Instant::now();
        let page = console.list_orders(&q).await?;
        h.record(t.elapsed().as_micros() as u64)?;
        std::hint::black_box(page);
    }

    let mut risk = hist()?;
    for _ in 0..args.samples.div_ceil(10) {
        let q = OrderQuery { at_risk: true, limit: Some(100), ..OrderQuery::default() };
        let t = Instant::now();
        let page = console.list_orders(&q).await?;
        risk.record(t.elapsed().as_micros() as u64)?;
        std::hint::black_box(page);
    }

    let cursor = Some(PageCursor { create_time: now - 200 * 86_400, id: (n / 2) as i64 });
    let page = PageRequest { limit: 100, after: cursor };
    let mut plans = Vec::new();
    let first_page = PageRequest { limit: 100, after: None };
    for (name, filter, p) in [
        ("deep page", OrderFilter::default(), page),
        ("deep page by status", OrderFilter { statuses: vec!["COMPLETED".into()], ..OrderFilter::default() }, page),
        ("search, first page", OrderFilter { text: Some("maria gar".into()), ..OrderFilter::default() }, first_page),
        ("search, few matches", OrderFilter { text: Some("mug-123".into()), ..OrderFilter::default() }, first_page),
        ("at risk, first page", OrderFilter { at_risk: true, ..OrderFilter::default() }, first_page),
        ("at risk, deep page", OrderFilter { at_risk: true, ..OrderFilter::default() }, page),
    ] {
        plans.push((name.to_owned(), store.explain_list_orders(&filter, p).await?));
    }
    let database = match store.db().backend() {
        creatorflow_queue::Backend::Sqlite => "sqlite".to_owned(),
        creatorflow_queue::Backend::Postgres => "postgres".to_owned(),
    };
    Ok(Report {
        database,
        orders: total,
        seeded,
        seed_s,
        seed_orders_per_s: if seed_s > 0.0 { seeded as f64 / seed_s } else { 0.0 },
        lookup_by_tiktok_id: figures(&lookup),
        status_by_tiktok_id: figures(&status),
        search_first_page_50: figures(&all),
        search_buyer: figures(&buyer),
        search_sku: figures(&sku),
        search_tracking: figures(&tracking),
        search_order_id_prefix: figures(&prefix),
        deep_page_100: figures(&deep),
        deep_page_100_by_status: figures(&deep_status),
        at_risk_first_page_100: figures(&risk),
        plans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_tiktok_shaped() {
        let ids: std::collections::HashSet<String> = (0..100_000).map(tts_id).collect();
        assert_eq!(ids.len(), 100_000);
        assert!(ids.iter().all(|i| i.len() == 18 && i.starts_with("57")));
    }
}

//! Per-test databases (a SQLite file in a temp dir, or a fresh PostgreSQL schema) and fixtures.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use creatorflow_engine::store::{
    Amount, DEFAULT_CREATOR_ID, HandoverMethod, LineItem, NewShop, Order, Package, ShippingType,
    Shop, Store, UpsertOutcome,
};
use creatorflow_queue::{Db, DbOptions, ManualClock};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// 2026-01-01T00:00:00Z in ms; TikTok times in these tests are seconds around it.
pub const T0_MS: i64 = 1_767_225_600_000;
pub const T0: i64 = T0_MS / 1000;

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        fastrand::u32(..)
    )
}

pub struct Harness {
    pub store: Store,
    pub clock: ManualClock,
    dir: Option<PathBuf>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub fn harness(db: Db, dir: Option<PathBuf>) -> Harness {
    let clock = ManualClock::new(T0_MS);
    Harness {
        store: Store::with_clock(db, Arc::new(clock.clone())),
        clock,
        dir,
    }
}

pub async fn sqlite() -> anyhow::Result<Option<Harness>> {
    let dir = std::env::temp_dir().join(format!("creatorflow-store-test-{}", unique_name()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = Db::connect_sqlite(&dir.join("cache.db")).await?;
    Ok(Some(harness(db, Some(dir))))
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
                "CREATORFLOW_TEST_PG_URL is not set: run `scripts/pg-test-server.sh start` and export the URL \
                 it prints, or set CREATORFLOW_SKIP_PG=1 to skip PostgreSQL tests"
            );
        }
    };
    let schema = format!("store_{}", unique_name());
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
            pg_max_connections: 12,
            ..DbOptions::default()
        },
    )
    .await?;
    Ok(Some(harness(db, None)))
}

pub fn new_shop(tts_shop_id: &str) -> NewShop {
    NewShop {
        creator_id: None,
        name: format!("Shop {tts_shop_id}"),
        tts_shop_id: tts_shop_id.to_owned(),
        cipher: format!("cipher-{tts_shop_id}"),
        region: "US".into(),
        app_key: "fake_app_key".into(),
        api_base_url: "http://127.0.0.1:9/api".into(),
        auth_base_url: "http://127.0.0.1:9/auth".into(),
        handover_method: HandoverMethod::Pickup,
        priority: 0,
    }
}

pub async fn shop(h: &Harness, tts_shop_id: &str) -> anyhow::Result<Shop> {
    Ok(h.store.create_shop(&new_shop(tts_shop_id)).await?)
}

pub fn order(shop_id: i64, tts_order_id: &str, update_time: i64) -> Order {
    Order {
        shop_id,
        tts_order_id: tts_order_id.to_owned(),
        status: "AWAITING_SHIPMENT".into(),
        create_time: T0 - 3600,
        update_time,
        paid_time: Some(T0 - 3500),
        buyer_name: "Alex Buyer".into(),
        shipping_type: ShippingType::Tiktok,
        rts_sla_time: Some(T0 + 72 * 3600),
        shipping_due_time: Some(T0 + 96 * 3600),
        total_amount: Amount::parse("19.99").expect("valid literal"),
        currency: "USD".into(),
        recipient_address: Some(json!({"name": "Alex Buyer", "full_address": "1 Main St"})),
        raw: json!({"id": tts_order_id, "update_time": update_time}),
        line_items: vec![line_item("li-1", "Plain Mug", "MUG-1")],
        packages: vec![],
    }
}

pub fn line_item(id: &str, product: &str, sku: &str) -> LineItem {
    LineItem {
        tts_line_item_id: id.to_owned(),
        product_id: format!("p-{id}"),
        product_name: product.to_owned(),
        sku_id: format!("s-{id}"),
        sku_name: "Default".into(),
        seller_sku: sku.to_owned(),
        sale_price: Amount::parse("9.99").expect("valid literal"),
        currency: "USD".into(),
        display_status: "AWAITING_SHIPMENT".into(),
        tts_package_id: None,
    }
}

pub fn package(id: &str, tracking: Option<&str>) -> Package {
    Package {
        tts_package_id: id.to_owned(),
        status: "PROCESSING".into(),
        tracking_number: tracking.map(str::to_owned),
        shipping_provider_id: Some("7117858858072016686".into()),
        shipping_provider: Some("USPS".into()),
    }
}

pub async fn upsert(h: &Harness, o: &Order) -> anyhow::Result<UpsertOutcome> {
    let mut tx = h.store.begin().await?;
    let r = h.store.upsert_order(&mut tx, o).await?;
    tx.commit().await?;
    Ok(r)
}

pub async fn search_ids(h: &Harness, text: &str) -> anyhow::Result<Vec<String>> {
    let mut ids: Vec<String> = h
        .store
        .search(DEFAULT_CREATOR_ID, text, 100)
        .await?
        .into_iter()
        .map(|o| o.tts_order_id)
        .collect();
    ids.sort();
    Ok(ids)
}

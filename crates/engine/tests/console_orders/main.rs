//! The console's order review on SQLite and PostgreSQL: filters, keyset pagination that stays stable
//! while orders arrive, manual tracking rules, CSV import edge cases, CSV export, label bytes.
//! PostgreSQL runs in a fresh schema on CREATORFLOW_TEST_PG_URL (unset fails unless CREATORFLOW_SKIP_PG=1).

mod cases;

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use creatorflow_engine::store::{Amount, HandoverMethod, LineItem, NewShop, Order, Package, ShippingType, Shop};
use creatorflow_engine::{Console, ConsoleConfig};
use serde_json::json;
use sqlx::Connection;

static SEQ: AtomicU64 = AtomicU64::new(0);

pub struct Env {
    pub console: Console,
    _dir: tempfile::TempDir,
}

fn unique() -> String {
    format!("{}_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst), fastrand::u32(..))
}

pub async fn sqlite() -> anyhow::Result<Option<Env>> {
    let dir = tempfile::tempdir()?;
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None }).await?;
    Ok(Some(Env { console, _dir: dir }))
}

pub async fn postgres() -> anyhow::Result<Option<Env>> {
    let url = match std::env::var("CREATORFLOW_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("CREATORFLOW_SKIP_PG").as_deref() == Ok("1") {
                eprintln!("skipping PostgreSQL test: CREATORFLOW_SKIP_PG=1");
                return Ok(None);
            }
            bail!("CREATORFLOW_TEST_PG_URL is not set (scripts/pg-test-server.sh start), or set CREATORFLOW_SKIP_PG=1");
        }
    };
    let schema = format!("orders_{}", unique());
    let mut conn = sqlx::postgres::PgConnection::connect(&url).await.with_context(|| format!("connecting to {url}"))?;
    // Digits and underscores only, generated here.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await?;
    conn.close().await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir()?;
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: Some(scoped) }).await?;
    Ok(Some(Env { console, _dir: dir }))
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

pub async fn shop(e: &Env, name: &str) -> anyhow::Result<Shop> {
    Ok(e.console
        .store()
        .create_shop(&NewShop {
            creator_id: None,
            name: name.into(),
            tts_shop_id: format!("tts-{name}"),
            cipher: format!("cipher-{name}"),
            region: "GB".into(),
            app_key: "key".into(),
            api_base_url: "http://127.0.0.1:9/api".into(),
            auth_base_url: "http://127.0.0.1:9/auth".into(),
            handover_method: HandoverMethod::Pickup,
            priority: 0,
        })
        .await?)
}

/// An order created `age_s` ago, AWAITING_SHIPMENT, ship-by in `ship_by_in_s`.
pub fn order(shop_id: i64, id: &str, age_s: i64, ship_by_in_s: i64, shipping: ShippingType) -> Order {
    let now = now_s();
    Order {
        shop_id,
        tts_order_id: id.into(),
        status: "AWAITING_SHIPMENT".into(),
        create_time: now - age_s,
        update_time: now - age_s + 10,
        paid_time: Some(now - age_s + 5),
        buyer_name: "Alex Buyer".into(),
        shipping_type: shipping,
        rts_sla_time: Some(now + ship_by_in_s),
        shipping_due_time: None,
        total_amount: Amount::parse("19.99").expect("literal"),
        currency: "GBP".into(),
        recipient_address: Some(json!({"name": "Alex Buyer", "full_address": "1 Main St, London", "postal_code": "N1 1AA"})),
        raw: json!({"id": id}),
        line_items: vec![LineItem {
            tts_line_item_id: format!("{id}-li"),
            product_id: "p1".into(),
            product_name: "Plain Mug".into(),
            sku_id: "s1".into(),
            sku_name: "Red".into(),
            seller_sku: "MUG-RED".into(),
            sale_price: Amount::parse("19.99").expect("literal"),
            currency: "GBP".into(),
            display_status: "AWAITING_SHIPMENT".into(),
            tts_package_id: Some(format!("{id}-pkg")),
        }],
        packages: vec![Package {
            tts_package_id: format!("{id}-pkg"),
            status: "TO_FULFILL".into(),
            tracking_number: None,
            shipping_provider_id: None,
            shipping_provider: None,
        }],
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(e) = crate::sqlite().await? else { return Ok(()) };
                    crate::cases::$name(&e).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(e) = crate::postgres().await? else { return Ok(()) };
                    crate::cases::$name(&e).await
                }
            )*
        }
    };
}

cases!(
    filters_combine,
    keyset_pages_stay_stable_while_orders_arrive,
    manual_tracking_rules,
    csv_import_reports_every_line,
    csv_export_streams_every_matching_order,
    label_bytes_and_facets,
    one_statement_detail_and_status,
);

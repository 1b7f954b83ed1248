//! Reading one order in one statement: the full detail (summary, address and raw, line items, packages
//! with the label flag, shipments, timeline) and the lean status a support person asks for ("where is
//! order X": status, last update, ship-by, tracking).
//!
//! The child lists come back as JSON arrays the database builds (SQLite `json_group_array`, PostgreSQL
//! `json_agg`) in correlated subqueries of the order's row. One statement is one snapshot of the order
//! — six statements could each see a different commit — and one trip to SQLite's worker thread, where
//! each statement paid sqlx's thread hop (at a million orders that hop, not the index probes, was most
//! of the detail's 0.65 ms; see BENCHMARKS.md).

use creatorflow_queue::Backend;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::Store;
use super::error::{Result, StoreError};
use super::exec::{ReadConn, fetch_all};
use super::model::{LineItem, OrderDetail, OrderEvent, OrderSummary, PackageRecord, Shipment};
use super::orders::SUMMARY_COLUMNS;

/// Which order(s) a lookup names.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    /// A local id.
    Id(i64),
    /// A TikTok order id within a creator's shops (one row per shop that has it).
    Remote { creator_id: i64, tts_order_id: &'a str },
    /// A TikTok order id within one shop.
    ShopRemote { shop_id: i64, tts_order_id: &'a str },
}

impl Key<'_> {
    /// The WHERE clause on `orders o`, and the order of several matches (by local id).
    fn clause(self) -> &'static str {
        match self {
            Key::Id(_) => "WHERE o.id = ?",
            Key::Remote { .. } => "WHERE o.creator_id = ? AND o.tts_order_id = ? ORDER BY o.id",
            Key::ShopRemote { .. } => "WHERE o.shop_id = ? AND o.tts_order_id = ?",
        }
    }
}

/// Where an order's parcel is: a TikTok package's tracking, or a shipment recorded locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackingInfo {
    pub tracking_number: String,
    pub shipping_provider: Option<String>,
    /// `tiktok` for a TikTok package, else who recorded the shipment (`pipeline`, `user`, `sync`,
    /// `webhook`).
    pub source: String,
    /// TikTok's package status as given, or the local shipment's (`pending`, `submitted`,
    /// `confirmed`, `failed`).
    pub status: String,
    /// When the shipment was made (Unix ms; local shipments only).
    pub shipped_at: Option<i64>,
}

/// The lean answer to "where is order X": its status, when TikTok last changed it, when it must ship,
/// and its tracking. One indexed statement (see `Store::order_status_by_remote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct OrderStatusView {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub tts_order_id: String,
    /// TikTok's order status as given.
    pub status: String,
    /// TikTok, Unix seconds.
    pub create_time: i64,
    /// When TikTok last changed the order (Unix seconds).
    pub update_time: i64,
    /// The earlier of TikTok's ready-to-ship and shipping-due times (Unix seconds).
    pub ship_by_time: Option<i64>,
    pub awaiting_shipment: bool,
    /// Awaiting shipment and the ship-by time is within the store's risk window of now.
    #[sqlx(skip)]
    pub at_risk: bool,
    /// `TIKTOK` or `SELLER`: who ships it.
    pub shipping_type: String,
    /// When this copy was last written from TikTok (Unix ms): how fresh the answer is.
    pub synced_at: i64,
    /// TikTok's packages with a tracking number first, then local shipments, oldest first.
    #[sqlx(json)]
    pub tracking: Vec<TrackingInfo>,
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    order: OrderSummary,
    #[sqlx(json(nullable))]
    recipient_address: Option<Value>,
    #[sqlx(json)]
    raw: Value,
    #[sqlx(json)]
    line_items: Vec<LineItem>,
    #[sqlx(json)]
    packages: Vec<PackageRecord>,
    #[sqlx(json)]
    shipments: Vec<Shipment>,
    #[sqlx(json)]
    timeline: Vec<OrderEvent>,
}

/// `(SELECT <JSON array of one object per row> <from>)`: `fields` are `(key, expression)` pairs whose
/// keys are the serde names of the Rust type the array decodes into. An empty set is `[]` on both.
fn json_array(backend: Backend, fields: &[(&str, &str)], from: &str, order_by: &str) -> String {
    let pairs = fields.iter().map(|(k, e)| format!("'{k}', {e}")).collect::<Vec<_>>().join(", ");
    match backend {
        Backend::Sqlite => format!("(SELECT json_group_array(json_object({pairs}) ORDER BY {order_by}) {from})"),
        Backend::Postgres => {
            format!("(SELECT COALESCE(json_agg(json_build_object({pairs}) ORDER BY {order_by}), '[]'::json) {from})")
        }
    }
}

/// The one statement of the full detail.
fn detail_sql(backend: Backend, key: Key<'_>) -> String {
    let sqlite = backend == Backend::Sqlite;
    // SQLite has no JSON boolean type of its own: `json('true')` is one; PostgreSQL's EXISTS is one.
    let has_label = if sqlite {
        "json(CASE WHEN EXISTS (SELECT 1 FROM labels l WHERE l.package_id = p.id) THEN 'true' ELSE 'false' END)"
    } else {
        "EXISTS (SELECT 1 FROM labels l WHERE l.package_id = p.id)"
    };
    // SQLite keeps JSON as TEXT: json() embeds it as a value rather than a string.
    let data = if sqlite { "json(e.data)" } else { "e.data" };
    let line_items = json_array(
        backend,
        &[
            ("tts_line_item_id", "li.tts_line_item_id"),
            ("product_id", "li.product_id"),
            ("product_name", "li.product_name"),
            ("sku_id", "li.sku_id"),
            ("sku_name", "li.sku_name"),
            ("seller_sku", "li.seller_sku"),
            ("sale_price", "CAST(li.sale_price AS TEXT)"),
            ("currency", "li.currency"),
            ("display_status", "li.display_status"),
            ("tts_package_id", "li.tts_package_id"),
        ],
        "FROM line_items li WHERE li.order_id = o.id",
        "li.id",
    );
    let packages = json_array(
        backend,
        &[
            ("id", "p.id"),
            ("order_id", "p.order_id"),
            ("tts_package_id", "p.tts_package_id"),
            ("status", "p.status"),
            ("tracking_number", "p.tracking_number"),
            ("shipping_provider_id", "p.shipping_provider_id"),
            ("shipping_provider", "p.shipping_provider"),
            ("has_label", has_label),
        ],
        "FROM packages p WHERE p.order_id = o.id",
        "p.id",
    );
    let shipments = json_array(
        backend,
        &[
            ("id", "s.id"),
            ("order_id", "s.order_id"),
            ("package_id", "s.package_id"),
            ("tracking_number", "s.tracking_number"),
            ("shipping_provider_id", "s.shipping_provider_id"),
            ("shipping_provider", "s.shipping_provider"),
            ("status", "s.status"),
            ("source", "s.source"),
            ("shipped_at", "s.shipped_at"),
            ("created_at", "s.created_at"),
        ],
        "FROM shipments s WHERE s.order_id = o.id",
        "s.id",
    );
    let timeline = json_array(
        backend,
        &[
            ("id", "e.id"),
            ("order_id", "e.order_id"),
            ("at", "e.at"),
            ("source", "e.source"),
            ("kind", "e.kind"),
            ("message", "e.message"),
            ("data", data),
        ],
        "FROM order_events e WHERE e.order_id = o.id",
        "e.at, e.id",
    );
    // SUMMARY_COLUMNS are unqualified: they resolve to `o`, the only table of the outer query.
    format!(
        "SELECT {SUMMARY_COLUMNS}, recipient_address, raw, {line_items} AS line_items, {packages} AS packages, \
         {shipments} AS shipments, {timeline} AS timeline FROM orders o {}",
        key.clause()
    )
}

/// The one statement of the lean status.
fn status_sql(backend: Backend, key: Key<'_>) -> String {
    let tracking = json_array(
        backend,
        &[
            ("tracking_number", "t.tracking_number"),
            ("shipping_provider", "t.shipping_provider"),
            ("source", "t.source"),
            ("status", "t.status"),
            ("shipped_at", "t.shipped_at"),
        ],
        // Packages first (k = 0), then local shipments; each by id, i.e. as recorded.
        "FROM (SELECT 0 AS k, p.id, p.tracking_number, p.shipping_provider, 'tiktok' AS source, p.status, \
         CAST(NULL AS BIGINT) AS shipped_at FROM packages p WHERE p.order_id = o.id AND p.tracking_number IS NOT NULL \
         UNION ALL SELECT 1, s.id, s.tracking_number, s.shipping_provider, s.source, s.status, s.shipped_at \
         FROM shipments s WHERE s.order_id = o.id) t",
        "t.k, t.id",
    );
    format!(
        "SELECT o.id, o.shop_id, sh.name AS shop_name, o.tts_order_id, o.status, o.create_time, o.update_time, \
         o.ship_by_time, o.awaiting_shipment, o.shipping_type, o.synced_at, {tracking} AS tracking \
         FROM orders o JOIN shops sh ON sh.id = o.shop_id {}",
        key.clause()
    )
}

impl Store {
    async fn details(&self, key: Key<'_>) -> Result<Vec<OrderDetail>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = detail_sql(self.backend(), key);
        let rows = match key {
            Key::Id(id) => fetch_all!(c.ex(), DetailRow, &sql, id)?,
            Key::Remote { creator_id, tts_order_id } => fetch_all!(c.ex(), DetailRow, &sql, creator_id, tts_order_id)?,
            Key::ShopRemote { shop_id, tts_order_id } => fetch_all!(c.ex(), DetailRow, &sql, shop_id, tts_order_id)?,
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut order = r.order;
                self.mark_at_risk(std::slice::from_mut(&mut order));
                OrderDetail {
                    order,
                    recipient_address: r.recipient_address,
                    raw: r.raw,
                    line_items: r.line_items,
                    packages: r.packages,
                    shipments: r.shipments,
                    timeline: r.timeline,
                }
            })
            .collect())
    }

    async fn statuses(&self, key: Key<'_>) -> Result<Vec<OrderStatusView>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = status_sql(self.backend(), key);
        let mut rows = match key {
            Key::Id(id) => fetch_all!(c.ex(), OrderStatusView, &sql, id)?,
            Key::Remote { creator_id, tts_order_id } => {
                fetch_all!(c.ex(), OrderStatusView, &sql, creator_id, tts_order_id)?
            }
            Key::ShopRemote { shop_id, tts_order_id } => {
                fetch_all!(c.ex(), OrderStatusView, &sql, shop_id, tts_order_id)?
            }
        };
        let before = self.at_risk_before();
        for r in &mut rows {
            r.at_risk = r.awaiting_shipment && r.ship_by_time.is_some_and(|t| t <= before);
        }
        Ok(rows)
    }

    /// An order with everything the detail view shows.
    pub async fn get_order(&self, id: i64) -> Result<OrderDetail> {
        self.details(Key::Id(id)).await?.pop().ok_or(StoreError::OrderNotFound(id))
    }

    /// An order by its shop and TikTok order id, if cached.
    pub async fn get_order_by_remote(&self, shop_id: i64, tts_order_id: &str) -> Result<Option<OrderDetail>> {
        Ok(self.details(Key::ShopRemote { shop_id, tts_order_id }).await?.pop())
    }

    /// Every cached order of a creator's shops with this TikTok order id, in full, by local id (one per
    /// shop that has it; normally one).
    pub async fn order_details_by_remote(&self, creator_id: i64, tts_order_id: &str) -> Result<Vec<OrderDetail>> {
        self.details(Key::Remote { creator_id, tts_order_id }).await
    }

    /// The lean status of an order by local id, if cached.
    pub async fn order_status(&self, id: i64) -> Result<Option<OrderStatusView>> {
        Ok(self.statuses(Key::Id(id)).await?.pop())
    }

    /// The lean status of every cached order of a creator's shops with this TikTok order id, by local
    /// id (normally one).
    pub async fn order_status_by_remote(&self, creator_id: i64, tts_order_id: &str) -> Result<Vec<OrderStatusView>> {
        self.statuses(Key::Remote { creator_id, tts_order_id }).await
    }
}

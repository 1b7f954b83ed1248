//! The pipeline's work log per order (migration 0003): what the fulfillment stages read and write.
//! `ship_requested_at` is committed before any ship call, so a job that finds it set without
//! `shipped_at` must read the remote state before it may call ship again (exactly one shipment).

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use creatorflow_queue::{Backend, DbTx};
use std::collections::{BTreeSet, HashMap, HashSet};

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::Store;
use super::error::{Result, StoreError};
use super::exec::{ID_ROWS, ReadConn, bad_statement, exec, exec_stmt, fetch_all, fetch_opt, fetch_with_ids, order_ids_in, tx_ex};
use super::model::ShippingType;


/// What the fulfillment stages need of an order: a lean read, not the console's detail view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrder {
    pub id: i64,
    pub shop_id: i64,
    pub tts_order_id: String,
    pub status: String,
    pub shipping_type: ShippingType,
    pub create_time: i64,
    pub paid_time: Option<i64>,
    pub ship_by_time: Option<i64>,
    pub update_time: i64,
    pub recipient_address: Option<Value>,
    /// TikTok package ids of the order, in id order.
    pub package_ids: Vec<String>,
    /// Seller SKUs of the line items (one entry per unit).
    pub seller_skus: Vec<String>,
}

impl WorkOrder {
    /// Units per seller SKU (one line item is one unit), for reserving, releasing and consuming stock.
    pub fn units_by_sku(&self) -> std::collections::BTreeMap<&str, i64> {
        let mut units = std::collections::BTreeMap::new();
        for sku in &self.seller_skus {
            *units.entry(sku.as_str()).or_default() += 1;
        }
        units
    }
}

/// A work log validate starts: [`Store::start_fulfillments_tx`].
pub struct NewFulfillment<'a> {
    pub order_id: i64,
    pub package_ids: &'a [String],
    /// Whether validate reserved tracked stock for it.
    pub stock_reserved: bool,
}

/// The work log row of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Fulfillment {
    pub order_id: i64,
    pub tts_package_ids: String,
    pub ship_requested_at: Option<i64>,
    pub ship_requests: i32,
    pub shipped_at: Option<i64>,
    pub tracking_number: Option<String>,
    pub label_stored_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub stock_reserved: bool,
    pub updated_at: i64,
}

impl Fulfillment {
    pub fn package_ids(&self) -> Vec<String> {
        self.tts_package_ids.split_whitespace().map(str::to_owned).collect()
    }
}

/// One row of [`work_order_sql`]: the order, its child lists as JSON arrays, and the work log's
/// columns from a LEFT JOIN (all `None` when validate has not started one).
#[derive(sqlx::FromRow)]
struct WorkRow {
    id: i64,
    shop_id: i64,
    tts_order_id: String,
    status: String,
    #[sqlx(try_from = "String")]
    shipping_type: ShippingType,
    create_time: i64,
    paid_time: Option<i64>,
    ship_by_time: Option<i64>,
    update_time: i64,
    recipient_address: Option<Json<Value>>,
    #[sqlx(json)]
    package_ids: Vec<String>,
    #[sqlx(json)]
    seller_skus: Vec<Option<String>>,
    f_order_id: Option<i64>,
    f_tts_package_ids: Option<String>,
    f_ship_requested_at: Option<i64>,
    f_ship_requests: Option<i32>,
    f_shipped_at: Option<i64>,
    f_tracking_number: Option<String>,
    f_label_stored_at: Option<i64>,
    f_confirmed_at: Option<i64>,
    f_stock_reserved: Option<bool>,
    f_updated_at: Option<i64>,
}

impl WorkRow {
    fn fulfillment(&self) -> Option<Fulfillment> {
        Some(Fulfillment {
            order_id: self.f_order_id?,
            tts_package_ids: self.f_tts_package_ids.clone().unwrap_or_default(),
            ship_requested_at: self.f_ship_requested_at,
            ship_requests: self.f_ship_requests.unwrap_or_default(),
            shipped_at: self.f_shipped_at,
            tracking_number: self.f_tracking_number.clone(),
            label_stored_at: self.f_label_stored_at,
            confirmed_at: self.f_confirmed_at,
            stock_reserved: self.f_stock_reserved.unwrap_or_default(),
            updated_at: self.f_updated_at.unwrap_or_default(),
        })
    }
}

/// The stage read in one statement (one snapshot, one round trip): a stage used to make four.
fn work_order_sql(backend: Backend) -> String {
    let list = |column: &str, table: &str| match backend {
        Backend::Sqlite => format!("(SELECT json_group_array({column} ORDER BY id) FROM {table} WHERE order_id = o.id)"),
        Backend::Postgres => {
            format!("(SELECT COALESCE(json_agg({column} ORDER BY id), '[]'::json) FROM {table} WHERE order_id = o.id)")
        }
    };
    let log: Vec<String> = FULFILLMENT_COLUMNS.split(", ").map(|c| format!("f.{c} AS f_{c}")).collect();
    format!(
        "SELECT o.id, o.shop_id, o.tts_order_id, o.status, o.shipping_type, o.create_time, o.paid_time, \
         o.ship_by_time, o.update_time, o.recipient_address, {} AS package_ids, {} AS seller_skus, {} \
         FROM orders o LEFT JOIN fulfillments f ON f.order_id = o.id WHERE o.id IN ",
        list("tts_package_id", "packages"),
        list("seller_sku", "line_items"),
        log.join(", "),
    )
}

#[derive(sqlx::FromRow)]
struct Text {
    value: String,
}

const FULFILLMENT_COLUMNS: &str = "order_id, tts_package_ids, ship_requested_at, ship_requests, shipped_at, \
     tracking_number, label_stored_at, confirmed_at, stock_reserved, updated_at";

impl Store {
    /// The order as the fulfillment stages see it, and its work log if validate started one.
    pub async fn work_order(&self, order_id: i64) -> Result<(WorkOrder, Option<Fulfillment>)> {
        self.work_orders(&[order_id]).await?.remove(&order_id).ok_or(StoreError::OrderNotFound(order_id))
    }

    /// [`Store::work_order`] for many orders in one statement per ID_ROWS (the stages' group read);
    /// orders no longer cached are absent from the map.
    pub async fn work_orders(&self, order_ids: &[i64]) -> Result<HashMap<i64, (WorkOrder, Option<Fulfillment>)>> {
        let mut c = ReadConn::acquire(self.db()).await?;
        let sql = work_order_sql(self.backend());
        let mut found = HashMap::with_capacity(order_ids.len());
        for chunk in order_ids.chunks(ID_ROWS) {
            for row in fetch_with_ids::<WorkRow>(c.ex(), &sql, chunk).await? {
                let fulfillment = row.fulfillment();
                let order = WorkOrder {
                    id: row.id,
                    shop_id: row.shop_id,
                    tts_order_id: row.tts_order_id,
                    status: row.status,
                    shipping_type: row.shipping_type,
                    create_time: row.create_time,
                    paid_time: row.paid_time,
                    ship_by_time: row.ship_by_time,
                    update_time: row.update_time,
                    recipient_address: row.recipient_address.map(|j| j.0),
                    package_ids: row.package_ids,
                    seller_skus: row.seller_skus.into_iter().flatten().filter(|s| !s.is_empty()).collect(),
                };
                found.insert(order.id, (order, fulfillment));
            }
        }
        Ok(found)
    }

    /// Records the intent to ship (commit it before the call): one `IN (...)` update per ID_ROWS orders.
    /// Fails, changing nothing once the caller rolls back, if any of them is already shipped or has
    /// no work log.
    pub async fn mark_ship_requested(&self, tx: &mut DbTx, order_ids: &[i64]) -> Result<()> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        let ids: BTreeSet<i64> = order_ids.iter().copied().collect();
        let ids: Vec<i64> = ids.into_iter().collect();
        for chunk in ids.chunks(ID_ROWS) {
            let stmt = Query::update()
                .table("fulfillments")
                .value("ship_requested_at", now)
                .value("ship_requests", Expr::col("ship_requests").add(1))
                .value("updated_at", now)
                .and_where(Expr::col("order_id").is_in(chunk.iter().copied()))
                .and_where(Expr::col("shipped_at").is_null())
                .to_owned();
            let n = exec_stmt(tx, &stmt).await?;
            if n != chunk.len() as u64 {
                let value = if chunk.len() == 1 { chunk[0].to_string() } else { format!("{} of {:?}", chunk.len() as u64 - n, chunk) };
                return Err(StoreError::InvalidInput { field: "fulfillment (not startable or already shipped)", value });
            }
        }
        Ok(())
    }

    /// Which of `order_ids` have a work log already (validate ran for them), in the caller's transaction.
    pub async fn started_orders_tx(&self, tx: &mut DbTx, order_ids: &[i64]) -> Result<HashSet<i64>> {
        self.check_tx(tx)?;
        order_ids_in(tx, order_ids, |chunk| {
            Query::select().column("order_id").from("fulfillments").and_where(Expr::col("order_id").is_in(chunk.iter().copied())).to_owned()
        })
        .await
    }

    /// Creates the work logs of orders validate passed, in multi-row inserts; an order that has one
    /// already keeps it.
    pub async fn start_fulfillments_tx(&self, tx: &mut DbTx, rows: &[NewFulfillment<'_>]) -> Result<()> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        for chunk in rows.chunks(ID_ROWS) {
            let mut stmt = Query::insert();
            stmt.into_table("fulfillments")
                .columns(["order_id", "tts_package_ids", "stock_reserved", "updated_at"])
                .on_conflict(OnConflict::column("order_id").do_nothing().to_owned());
            for r in chunk {
                stmt.values([r.order_id.into(), r.package_ids.join(" ").into(), r.stock_reserved.into(), now.into()])
                    .map_err(bad_statement)?;
            }
            exec_stmt(tx, &stmt).await?;
        }
        Ok(())
    }

    /// Marks the labels of `order_ids` stored, in the caller's transaction; rows changed.
    pub async fn mark_labels_stored_tx(&self, tx: &mut DbTx, order_ids: &[i64]) -> Result<u64> {
        self.set_now_for_orders(tx, "label_stored_at", order_ids).await
    }

    /// Marks `order_ids` confirmed (TikTok shows them shipped), in the caller's transaction; rows changed.
    pub async fn mark_confirmed_tx(&self, tx: &mut DbTx, order_ids: &[i64]) -> Result<u64> {
        self.set_now_for_orders(tx, "confirmed_at", order_ids).await
    }

    /// Sets one of the work log's timestamps to now for a set of orders: one `IN (...)` update per
    /// ID_ROWS orders, so a stage's group commit (pipeline/group.rs) is a statement, not one per order.
    async fn set_now_for_orders(&self, tx: &mut DbTx, column: &'static str, order_ids: &[i64]) -> Result<u64> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        let mut n = 0;
        for chunk in order_ids.chunks(ID_ROWS) {
            let stmt = Query::update()
                .table("fulfillments")
                .value(column, now)
                .value("updated_at", now)
                .and_where(Expr::col("order_id").is_in(chunk.iter().copied()))
                .to_owned();
            n += exec_stmt(tx, &stmt).await?;
        }
        Ok(n)
    }

    /// Clears the stock flag (stock released after a cancellation). Returns whether it was set.
    pub async fn clear_stock_reserved(&self, tx: &mut DbTx, order_id: i64) -> Result<bool> {
        self.check_tx(tx)?;
        let n = exec!(
            tx_ex(tx),
            "UPDATE fulfillments SET stock_reserved = ?, updated_at = ? WHERE order_id = ? AND stock_reserved = ?",
            false,
            self.now_ms(),
            order_id,
            true
        )?;
        Ok(n == 1)
    }

    /// The local package row id of a TikTok package of an order (labels are keyed by it).
    pub async fn package_row_id(&self, order_id: i64, tts_package_id: &str) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct Id {
            id: i64,
        }
        let mut c = ReadConn::acquire(self.db()).await?;
        Ok(fetch_opt!(
            c.ex(),
            Id,
            "SELECT id FROM packages WHERE order_id = ? AND tts_package_id = ?",
            order_id,
            tts_package_id
        )?
        .map(|r| r.id))
    }

    /// TikTok ids of a shop's cached orders the pipeline still has work for (reconciliation).
    pub async fn open_order_ids(&self, shop_id: i64) -> Result<Vec<String>> {
        let mut c = ReadConn::acquire(self.db()).await?;
        let rows = fetch_all!(
            c.ex(),
            Text,
            "SELECT tts_order_id AS value FROM orders WHERE shop_id = ? \
             AND status IN ('UNPAID', 'ON_HOLD', 'AWAITING_SHIPMENT', 'PARTIALLY_SHIPPING')",
            shop_id
        )?;
        Ok(rows.into_iter().map(|t| t.value).collect())
    }
}

//! Tracking numbers entered by a person (manual entry, CSV import) for seller-shipped orders, and the
//! batched side reads of the CSV export. A manual number is a `shipments` row with `source = 'user'`
//! and `status = 'pending'` until the ship stage hands it to TikTok; then it becomes `submitted`.

use std::collections::{HashMap, HashSet};

use creatorflow_queue::DbTx;
use sea_query::{Expr, ExprTrait, Query};

use super::Store;
use super::error::{Result, StoreError};
use super::exec::{ReadConn, exec, fetch_all, fetch_opt, order_ids_in, tx_ex};
use super::model::{EventSource, NewShipment, Shipment, ShipmentStatus, ShippingType};

const SHIPMENT_COLUMNS: &str = "id, order_id, package_id, tracking_number, shipping_provider_id, shipping_provider, \
     status, source, shipped_at, created_at";

/// What manual tracking entry needs to know about an order, read inside the writing transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingTarget {
    pub order_id: i64,
    pub tts_order_id: String,
    pub status: String,
    pub shipping_type: ShippingType,
    /// `fulfillments.shipped_at`: TikTok accepted a shipment of this order.
    pub shipped_at: Option<i64>,
    /// Every tracking number the order already carries (work log, packages, shipments not pending).
    pub shipped_tracking: Vec<String>,
    /// The person-entered number waiting for the ship stage, if any.
    pub pending: Option<Shipment>,
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    id: i64,
    tts_order_id: String,
    status: String,
    #[sqlx(try_from = "String")]
    shipping_type: ShippingType,
    shipped_at: Option<i64>,
    tracking_number: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Text {
    value: String,
}

#[derive(sqlx::FromRow)]
struct IdText {
    id: i64,
    value: String,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    state: String,
}

/// What settling a shipment did to the person-entered numbers of the order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// The shipped number was the pending manual one: that row is now `submitted`.
    pub manual: bool,
    /// Pending manual numbers that did not ship (entered while a call with another number was in flight).
    pub superseded: Vec<String>,
}

impl Store {
    /// The order as manual tracking entry sees it, inside `tx` (on SQLite the writer lock makes the
    /// checks and the write one atomic step).
    pub async fn tracking_target(&self, tx: &mut DbTx, order_id: i64) -> Result<TrackingTarget> {
        self.check_tx(tx)?;
        if self.backend() == creatorflow_queue::Backend::Postgres {
            // Lock the work log first so a concurrent "shipped" commit cannot slip between our checks and
            // our write (SQLite's single writer gives the same for free).
            exec!(tx_ex(tx), "SELECT order_id FROM fulfillments WHERE order_id = ? FOR UPDATE", order_id)?;
        }
        let row = fetch_opt!(
            tx_ex(tx),
            TargetRow,
            "SELECT o.id, o.tts_order_id, o.status, o.shipping_type, f.shipped_at, f.tracking_number \
             FROM orders o LEFT JOIN fulfillments f ON f.order_id = o.id WHERE o.id = ?",
            order_id
        )?
        .ok_or(StoreError::OrderNotFound(order_id))?;
        let sql = format!("SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE order_id = ? ORDER BY id");
        let shipments = fetch_all!(tx_ex(tx), Shipment, &sql, order_id)?;
        let packages = fetch_all!(
            tx_ex(tx),
            Text,
            "SELECT tracking_number AS value FROM packages WHERE order_id = ? AND tracking_number IS NOT NULL",
            order_id
        )?;
        let mut shipped_tracking: Vec<String> = row.tracking_number.into_iter().collect();
        shipped_tracking.extend(packages.into_iter().map(|t| t.value).filter(|t| !t.is_empty()));
        let mut pending = None;
        for s in shipments {
            if s.source == EventSource::User && s.status == ShipmentStatus::Pending {
                pending = Some(s);
            } else if s.status != ShipmentStatus::Failed {
                shipped_tracking.push(s.tracking_number);
            }
        }
        shipped_tracking.sort();
        shipped_tracking.dedup();
        Ok(TrackingTarget {
            order_id: row.id,
            tts_order_id: row.tts_order_id,
            status: row.status,
            shipping_type: row.shipping_type,
            shipped_at: row.shipped_at,
            shipped_tracking,
            pending,
        })
    }

    /// Replaces the order's pending manual tracking number (at most one waits per order) in `tx`.
    /// A replaced number never reached TikTok, so its row goes; the timeline keeps the history.
    pub async fn put_manual_tracking(
        &self,
        tx: &mut DbTx,
        order_id: i64,
        tracking_number: &str,
        shipping_provider_id: Option<&str>,
        shipping_provider: Option<&str>,
    ) -> Result<Shipment> {
        self.check_tx(tx)?;
        let replaced = exec!(
            tx_ex(tx),
            "DELETE FROM shipments WHERE order_id = ? AND source = 'user' AND status = 'pending'",
            order_id
        )?;
        let s = NewShipment {
            order_id,
            package_id: None,
            tracking_number: tracking_number.to_owned(),
            shipping_provider_id: shipping_provider_id.map(str::to_owned),
            shipping_provider: shipping_provider.map(str::to_owned),
            status: ShipmentStatus::Pending,
            source: EventSource::User,
            shipped_at: None,
        };
        // The new number becomes searchable at once (record_shipment adds it to the search text); a
        // replaced one must stop matching, so then the text is recomputed from the rows left.
        let shipment = self.record_shipment(tx, &s).await?;
        if replaced > 0 {
            self.recompute_search(tx, order_id).await?;
        }
        Ok(shipment)
    }

    /// The person-entered tracking number waiting for the ship stage, if any.
    pub async fn pending_manual_tracking(&self, order_id: i64) -> Result<Option<Shipment>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE order_id = ? AND source = 'user' AND status = 'pending' \
             ORDER BY id DESC LIMIT 1"
        );
        Ok(fetch_opt!(c.ex(), Shipment, &sql, order_id)?)
    }

    /// Which of `order_ids` have a person-entered tracking number waiting (`settle_manual_tracking`
    /// has nothing to do for the others): one read for a whole group of recorded shipments.
    pub async fn orders_with_pending_manual_tx(&self, tx: &mut DbTx, order_ids: &[i64]) -> Result<HashSet<i64>> {
        self.check_tx(tx)?;
        order_ids_in(tx, order_ids, |chunk| {
            Query::select()
                .distinct()
                .column("order_id")
                .from("shipments")
                .and_where(Expr::col("order_id").is_in(chunk.iter().copied()))
                .and_where(Expr::col("source").eq("user"))
                .and_where(Expr::col("status").eq("pending"))
                .to_owned()
        })
        .await
    }

    /// After TikTok accepted a shipment with `tracking_number` (in the pipeline's transaction): the
    /// pending manual row of that number becomes `submitted`; other pending manual rows are marked
    /// `failed` (they never shipped) and returned so the timeline can say so.
    pub async fn settle_manual_tracking(
        &self,
        tx: &mut DbTx,
        order_id: i64,
        tracking_number: Option<&str>,
        shipping_provider_id: Option<&str>,
    ) -> Result<Settled> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        let manual = match tracking_number {
            Some(t) => {
                exec!(
                    tx_ex(tx),
                    "UPDATE shipments SET status = 'submitted', shipped_at = ?, \
                     shipping_provider_id = COALESCE(shipping_provider_id, ?) \
                     WHERE order_id = ? AND source = 'user' AND status = 'pending' AND tracking_number = ?",
                    now,
                    shipping_provider_id,
                    order_id,
                    t
                )? > 0
            }
            None => false,
        };
        let left = fetch_all!(
            tx_ex(tx),
            IdText,
            "SELECT id, tracking_number AS value FROM shipments \
             WHERE order_id = ? AND source = 'user' AND status = 'pending'",
            order_id
        )?;
        for row in &left {
            exec!(tx_ex(tx), "UPDATE shipments SET status = 'failed' WHERE id = ?", row.id)?;
        }
        Ok(Settled { manual, superseded: left.into_iter().map(|r| r.value).collect() })
    }

    /// The newest job holding `unique_key` and its state (to revive a ship job a person can unblock).
    pub async fn job_by_unique_key(&self, unique_key: &str) -> Result<Option<(i64, String)>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(fetch_opt!(
            c.ex(),
            JobRow,
            "SELECT id, state FROM jobs WHERE unique_key = ? ORDER BY id DESC LIMIT 1",
            unique_key
        )?
        .map(|j| (j.id, j.state)))
    }

    /// The TikTok order id and package id of a local package (to name its label file).
    pub async fn package_names(&self, package_id: i64) -> Result<Option<(String, String)>> {
        #[derive(sqlx::FromRow)]
        struct Names {
            tts_order_id: String,
            tts_package_id: String,
        }
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(fetch_opt!(
            c.ex(),
            Names,
            "SELECT o.tts_order_id, p.tts_package_id FROM packages p JOIN orders o ON o.id = p.order_id WHERE p.id = ?",
            package_id
        )?
        .map(|n| (n.tts_order_id, n.tts_package_id)))
    }

    /// For a page of the CSV export: per order, its line items (`SKU × product` texts, in id order)
    /// and its tracking numbers, in two statements for the whole page.
    pub async fn export_extras(&self, order_ids: &[i64]) -> Result<HashMap<i64, (Vec<String>, Vec<String>)>> {
        let mut out: HashMap<i64, (Vec<String>, Vec<String>)> = HashMap::new();
        if order_ids.is_empty() {
            return Ok(out);
        }
        // Ids are our own integers; a page holds at most MAX_PAGE of them, under every bind limit.
        let marks = vec!["?"; order_ids.len()].join(", ");
        let items_sql = format!(
            "SELECT order_id AS id, CASE WHEN seller_sku = '' THEN product_name \
             ELSE seller_sku || ' ' || product_name END AS value \
             FROM line_items WHERE order_id IN ({marks}) ORDER BY order_id, id"
        );
        let tracking_sql = format!(
            "SELECT order_id AS id, tracking_number AS value FROM packages \
             WHERE order_id IN ({marks}) AND tracking_number IS NOT NULL AND tracking_number <> '' \
             UNION SELECT order_id AS id, tracking_number AS value FROM shipments \
             WHERE order_id IN ({marks}) AND status <> 'failed' ORDER BY 1, 2"
        );
        let mut c = ReadConn::acquire(&self.db).await?;
        let items = fetch_in(&mut c, &items_sql, order_ids, 1).await?;
        let tracking = fetch_in(&mut c, &tracking_sql, order_ids, 2).await?;
        for r in items {
            out.entry(r.id).or_default().0.push(r.value);
        }
        for r in tracking {
            let e = out.entry(r.id).or_default();
            if !e.1.contains(&r.value) {
                e.1.push(r.value);
            }
        }
        Ok(out)
    }
}

/// Runs `sql` with `ids` bound `times` times over (one `IN (...)` list per occurrence).
async fn fetch_in(c: &mut ReadConn, sql: &str, ids: &[i64], times: usize) -> Result<Vec<IdText>> {
    use super::exec::{Ex, sql_for};
    use creatorflow_queue::Backend;
    Ok(match c.ex() {
        Ex::Sqlite(conn) => {
            let mut q = sqlx::query_as::<_, IdText>(sqlx::AssertSqlSafe(sql_for(Backend::Sqlite, sql)));
            for _ in 0..times {
                for id in ids {
                    q = q.bind(*id);
                }
            }
            q.fetch_all(&mut *conn).await?
        }
        Ex::Pg(conn) => {
            let mut q = sqlx::query_as::<_, IdText>(sqlx::AssertSqlSafe(sql_for(Backend::Postgres, sql)));
            for _ in 0..times {
                for id in ids {
                    q = q.bind(*id);
                }
            }
            q.fetch_all(&mut *conn).await?
        }
    })
}

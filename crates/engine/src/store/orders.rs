//! Orders: version-guarded upsert (with line items, packages and search kept in step); reads of one
//! order are in `lookup.rs`.

use creatorflow_queue::DbTx;
use sqlx::types::Json;

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{Ex, exec, fetch_all, fetch_opt, tx_ex};
use super::model::{LineItem, Order, OrderSummary, UpsertOutcome};
use super::search::{search_text, with_tokens};

/// Statuses in which the seller still has to ship: only these orders can be "at risk".
const AWAITING_SHIPMENT: [&str; 2] = ["AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"];

/// Columns of [`OrderSummary`] (money read back as its exact text).
pub(crate) const SUMMARY_COLUMNS: &str = "id, creator_id, shop_id, tts_order_id, status, create_time, \
     update_time, paid_time, buyer_name, shipping_type, rts_sla_time, shipping_due_time, ship_by_time, \
     CAST(total_amount AS TEXT) AS total_amount, currency, awaiting_shipment, synced_at";

/// What an upsert needs of the cached row of an order.
#[derive(sqlx::FromRow)]
pub(super) struct Existing {
    pub(super) id: i64,
    pub(super) update_time: i64,
    pub(super) status: String,
    pub(super) search_text: String,
}

/// Whether a version is stale against the cached row: older, or of the same second without a status
/// further along.
pub(super) fn is_stale(e: &Existing, order: &Order) -> bool {
    e.update_time > order.update_time || (e.update_time == order.update_time && !wins_tie(&e.status, &order.status))
}

#[derive(sqlx::FromRow)]
struct PkgKey {
    id: i64,
    tts_package_id: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct Id {
    pub(crate) id: i64,
}

#[derive(sqlx::FromRow)]
struct Text {
    value: String,
}

pub(super) fn validate(order: &Order) -> Result<()> {
    let n = order.tts_order_id.chars().count();
    if n == 0 || n > 64 {
        return Err(StoreError::InvalidInput {
            field: "tts_order_id",
            value: clip(&order.tts_order_id),
        });
    }
    Ok(())
}

/// How far along its life an order status is. TikTok's `update_time` has one-second resolution, and
/// an order can change twice within one second (paid and shipped by this pipeline, paid and cancelled
/// by the buyer): a version of the same second as the cached one is newer when its status is further
/// along, because statuses only move forward. Unknown statuses have no rank and never win a tie.
fn lifecycle_rank(status: &str) -> Option<u8> {
    Some(match status {
        "UNPAID" => 0,
        "ON_HOLD" => 1,
        "AWAITING_SHIPMENT" => 2,
        "PARTIALLY_SHIPPING" => 3,
        "AWAITING_COLLECTION" => 4,
        "IN_TRANSIT" => 5,
        "DELIVERED" => 6,
        "COMPLETED" => 7,
        "CANCELLED" => 8,
        _ => return None,
    })
}

/// Whether a version `(update_time, status)` of the same second as the cached one supersedes it.
fn wins_tie(cached_status: &str, status: &str) -> bool {
    matches!((lifecycle_rank(cached_status), lifecycle_rank(status)), (Some(a), Some(b)) if b > a)
}

pub(super) fn ship_by(order: &Order) -> Option<i64> {
    match (order.rts_sla_time, order.shipping_due_time) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the seller still has to ship `order`.
pub(super) fn awaiting_shipment(order: &Order) -> bool {
    AWAITING_SHIPMENT.contains(&order.status.as_str())
}

/// The text an order is found by: ids and tracking numbers (also ones entered locally), SKUs, the
/// buyer, then product and SKU names.
pub(super) fn order_search_text(order: &Order, local_tracking: &[&str]) -> String {
    let mut fields: Vec<&str> = vec![&order.tts_order_id];
    fields.extend(order.packages.iter().filter_map(|p| p.tracking_number.as_deref()));
    fields.extend(local_tracking.iter().copied());
    for li in &order.line_items {
        fields.extend([li.seller_sku.as_str(), li.sku_id.as_str()]);
    }
    fields.push(&order.buyer_name);
    for li in &order.line_items {
        fields.extend([li.product_name.as_str(), li.sku_name.as_str()]);
    }
    search_text(fields)
}

impl Store {
    /// Insert or update one order version inside the caller's transaction. A version whose
    /// `update_time` is older than the cached one, or of the same second without a status further
    /// along (see [`lifecycle_rank`]), is ignored ([`UpsertOutcome::Stale`]).
    /// Line items are replaced; packages are upserted and vanished ones dropped unless a shipment or
    /// label refers to them; the search index follows in the same transaction.
    pub async fn upsert_order(&self, tx: &mut DbTx, order: &Order) -> Result<UpsertOutcome> {
        self.check_tx(tx)?;
        validate(order)?;
        let existing = fetch_opt!(
            tx_ex(tx),
            Existing,
            "SELECT id, update_time, status, search_text FROM orders WHERE shop_id = ? AND tts_order_id = ?",
            order.shop_id,
            &order.tts_order_id,
        )?;
        if let Some(e) = &existing
            && is_stale(e, order)
        {
            return Ok(UpsertOutcome::Stale { id: e.id });
        }
        // Tracking numbers entered locally stay searchable after a remote update.
        let local_tracking: Vec<Text> = match &existing {
            Some(e) => fetch_all!(
                tx_ex(tx),
                Text,
                "SELECT tracking_number AS value FROM shipments WHERE order_id = ?",
                e.id
            )?,
            None => Vec::new(),
        };
        let tracking: Vec<&str> = local_tracking.iter().map(|t| t.value.as_str()).collect();
        let text = order_search_text(order, &tracking);
        let awaiting = awaiting_shipment(order);
        let now = self.now_ms();

        let id = match &existing {
            None => {
                let creator = fetch_opt!(
                    tx_ex(tx),
                    Id,
                    "SELECT creator_id AS id FROM shops WHERE id = ?",
                    order.shop_id
                )?
                .ok_or(StoreError::ShopNotFound(order.shop_id))?;
                let creator_id = creator.id;
                let row = fetch_opt!(
                    tx_ex(tx),
                    Id,
                    "INSERT INTO orders (creator_id, shop_id, tts_order_id, status, create_time, update_time, \
                     paid_time, buyer_name, shipping_type, rts_sla_time, shipping_due_time, total_amount, \
                     currency, recipient_address, raw, ship_by_time, awaiting_shipment, search_text, synced_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?num, ?, ?, ?, ?, ?, ?, ?) \
                     RETURNING id",
                    creator_id,
                    order.shop_id,
                    &order.tts_order_id,
                    &order.status,
                    order.create_time,
                    order.update_time,
                    order.paid_time,
                    &order.buyer_name,
                    order.shipping_type.as_str(),
                    order.rts_sla_time,
                    order.shipping_due_time,
                    order.total_amount.as_str(),
                    &order.currency,
                    order.recipient_address.as_ref().map(Json),
                    Json(&order.raw),
                    ship_by(order),
                    awaiting,
                    &text,
                    now,
                )?
                .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                row.id
            }
            Some(e) => {
                if update_cached_rows(tx, &[(order, e, text.as_str())], now).await?.is_empty() {
                    return Ok(UpsertOutcome::Stale { id: e.id });
                }
                e.id
            }
        };

        // A new order has no child rows yet: skip the clean-up statements (sync inserts in bulk).
        let is_new = existing.is_none();
        self.replace_line_items(tx, id, &order.line_items, is_new)
            .await?;
        self.sync_packages(tx, id, order, is_new).await?;
        // A new version with the same searchable text (a status change, the usual update) leaves
        // the index alone: re-indexing costs two statements.
        let old_text = existing.as_ref().map(|e| e.search_text.as_str());
        if old_text != Some(text.as_str()) {
            fts_replace(tx_ex(tx), id, old_text, &text).await?;
        }

        Ok(match existing {
            None => UpsertOutcome::Inserted { id },
            Some(e) => UpsertOutcome::Updated {
                id,
                previous_status: e.status,
            },
        })
    }

    /// Upsert many orders in one transaction (see [`Store::upsert_orders_tx`]).
    pub async fn upsert_orders(&self, orders: &[Order]) -> Result<Vec<UpsertOutcome>> {
        let mut tx = self.begin().await?;
        let out = self.upsert_orders_tx(&mut tx, orders).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn replace_line_items(
        &self,
        tx: &mut DbTx,
        order_id: i64,
        items: &[LineItem],
        is_new: bool,
    ) -> Result<()> {
        if !is_new {
            exec!(
                tx_ex(tx),
                "DELETE FROM line_items WHERE order_id = ?",
                order_id
            )?;
        }
        for li in items {
            exec!(
                tx_ex(tx),
                "INSERT INTO line_items (order_id, tts_line_item_id, product_id, product_name, sku_id, \
                 sku_name, seller_sku, sale_price, currency, display_status, tts_package_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?num, ?, ?, ?) \
                 ON CONFLICT (order_id, tts_line_item_id) DO NOTHING",
                order_id,
                &li.tts_line_item_id,
                &li.product_id,
                &li.product_name,
                &li.sku_id,
                &li.sku_name,
                &li.seller_sku,
                li.sale_price.as_str(),
                &li.currency,
                &li.display_status,
                li.tts_package_id.as_deref(),
            )?;
        }
        Ok(())
    }

    async fn sync_packages(
        &self,
        tx: &mut DbTx,
        order_id: i64,
        order: &Order,
        is_new: bool,
    ) -> Result<()> {
        for p in &order.packages {
            exec!(
                tx_ex(tx),
                "INSERT INTO packages (order_id, tts_package_id, status, tracking_number, \
                 shipping_provider_id, shipping_provider) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (order_id, tts_package_id) DO UPDATE SET status = excluded.status, \
                 tracking_number = excluded.tracking_number, \
                 shipping_provider_id = excluded.shipping_provider_id, \
                 shipping_provider = excluded.shipping_provider",
                order_id,
                &p.tts_package_id,
                &p.status,
                p.tracking_number.as_deref(),
                p.shipping_provider_id.as_deref(),
                p.shipping_provider.as_deref(),
            )?;
        }
        if is_new {
            return Ok(());
        }
        let known = fetch_all!(
            tx_ex(tx),
            PkgKey,
            "SELECT id, tts_package_id FROM packages WHERE order_id = ?",
            order_id
        )?;
        for k in known {
            if order
                .packages
                .iter()
                .any(|p| p.tts_package_id == k.tts_package_id)
            {
                continue;
            }
            drop_unlisted_package(tx, k.id).await?;
        }
        Ok(())
    }

    /// Make `extra` (a tracking number recorded locally) searchable for an order: its tokens join the
    /// stored search text, or, near the token cap, the text is recomputed from the order's rows.
    pub(crate) async fn add_to_search(&self, tx: &mut DbTx, order_id: i64, extra: &str) -> Result<()> {
        self.update_search(tx, order_id, Some(extra)).await
    }

    /// Recompute an order's search text from its rows: after a searchable value was removed (a
    /// replaced tracking number), which appending cannot express.
    pub(crate) async fn recompute_search(&self, tx: &mut DbTx, order_id: i64) -> Result<()> {
        self.update_search(tx, order_id, None).await
    }

    async fn update_search(&self, tx: &mut DbTx, order_id: i64, extra: Option<&str>) -> Result<()> {
        let old = fetch_opt!(
            tx_ex(tx),
            Text,
            "SELECT search_text AS value FROM orders WHERE id = ?",
            order_id
        )?
        .ok_or(StoreError::OrderNotFound(order_id))?;
        let text = match extra.and_then(|e| with_tokens(&old.value, e)) {
            Some(text) => text,
            None => self.search_text_of_rows(tx, order_id).await?,
        };
        if text == old.value {
            return Ok(());
        }
        exec!(
            tx_ex(tx),
            "UPDATE orders SET search_text = ? WHERE id = ?",
            &text,
            order_id
        )?;
        fts_replace(tx_ex(tx), order_id, Some(&old.value), &text).await
    }

    /// An order's search text computed from its stored rows, fields in [`order_search_text`]'s order.
    pub(super) async fn search_text_of_rows(&self, tx: &mut DbTx, order_id: i64) -> Result<String> {
        let parts = fetch_all!(
            tx_ex(tx),
            Text,
            "SELECT tts_order_id AS value FROM orders WHERE id = ? \
             UNION ALL SELECT tracking_number FROM packages WHERE order_id = ? AND tracking_number IS NOT NULL \
             UNION ALL SELECT tracking_number FROM shipments WHERE order_id = ? \
             UNION ALL SELECT seller_sku FROM line_items WHERE order_id = ? \
             UNION ALL SELECT sku_id FROM line_items WHERE order_id = ? \
             UNION ALL SELECT buyer_name FROM orders WHERE id = ? \
             UNION ALL SELECT product_name FROM line_items WHERE order_id = ? \
             UNION ALL SELECT sku_name FROM line_items WHERE order_id = ?",
            order_id,
            order_id,
            order_id,
            order_id,
            order_id,
            order_id,
            order_id,
            order_id,
        )?;
        Ok(search_text(parts.iter().map(|p| p.value.as_str())))
    }

    /// Fill `at_risk` from the clock and the risk window.
    pub(crate) fn mark_at_risk(&self, orders: &mut [OrderSummary]) {
        let before = self.at_risk_before();
        for o in orders {
            o.at_risk = o.awaiting_shipment && o.ship_by_time.is_some_and(|t| t <= before);
        }
    }
}

/// A package TikTok no longer lists (split / combined) goes, unless local work refers to it.
pub(super) async fn drop_unlisted_package(tx: &mut DbTx, package_id: i64) -> Result<()> {
    exec!(
        tx_ex(tx),
        "DELETE FROM packages WHERE id = ? \
         AND NOT EXISTS (SELECT 1 FROM shipments WHERE package_id = ?) \
         AND NOT EXISTS (SELECT 1 FROM labels WHERE package_id = ?)",
        package_id,
        package_id,
        package_id,
    )?;
    Ok(())
}

/// Keep the SQLite FTS5 index in step (PostgreSQL's tsvector is a generated column).
pub(super) async fn fts_replace(ex: Ex<'_>, id: i64, old: Option<&str>, new: &str) -> Result<()> {
    let Ex::Sqlite(c) = ex else {
        return Ok(());
    };
    if let Some(old) = old {
        // External-content FTS5: removing an entry needs the exact text it was indexed with.
        sqlx::query(
            "INSERT INTO order_fts (order_fts, rowid, search_text) VALUES ('delete', ?, ?)",
        )
        .bind(id)
        .bind(old)
        .execute(&mut *c)
        .await?;
    }
    sqlx::query("INSERT INTO order_fts (rowid, search_text) VALUES (?, ?)")
        .bind(id)
        .bind(new)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Writes newer versions over cached rows (`rows`: the version, its cached row, its search text)
/// in one statement; the ids written. A row that moved on meanwhile (stale) is left alone: the
/// UPDATE is guarded by the version too, because PostgreSQL writers may race between our read and
/// this write, and a same-second version replaces only the exact version it won the tie against
/// (`is_stale`'s rule, in SQL). One statement for a detail call's fifty re-read orders: an UPDATE
/// each was 40 % of the pipeline's statements, each a round trip to the writer while it is held.
pub(super) async fn update_cached_rows(tx: &mut DbTx, rows: &[(&Order, &Existing, &str)], now: i64) -> Result<Vec<i64>> {
    use sea_query::Value;
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?num, ?, ?, ?, ?, ?, ?, ?)";
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 17 + 1);
    for (o, e, text) in rows {
        let tie_with = (e.update_time == o.update_time).then(|| e.status.clone());
        values.extend([
            e.id.into(),
            o.status.clone().into(),
            o.create_time.into(),
            o.update_time.into(),
            o.paid_time.into(),
            o.buyer_name.clone().into(),
            o.shipping_type.as_str().to_owned().into(),
            o.rts_sla_time.into(),
            o.shipping_due_time.into(),
            o.total_amount.as_str().to_owned().into(),
            o.currency.clone().into(),
            Value::Json(o.recipient_address.clone().map(Box::new)),
            Value::Json(Some(Box::new(o.raw.clone()))),
            ship_by(o).into(),
            awaiting_shipment(o).into(),
            text.to_string().into(),
            tie_with.into(),
        ]);
    }
    values.push(now.into());
    let sql = format!(
        "WITH v (vid, status, create_time, update_time, paid_time, buyer_name, shipping_type, rts_sla_time, \
         shipping_due_time, total_amount, currency, recipient_address, raw, ship_by_time, awaiting_shipment, \
         search_text, tie_status) AS (VALUES {}) \
         UPDATE orders SET status = v.status, create_time = v.create_time, update_time = v.update_time, \
         paid_time = v.paid_time, buyer_name = v.buyer_name, shipping_type = v.shipping_type, \
         rts_sla_time = v.rts_sla_time, shipping_due_time = v.shipping_due_time, total_amount = v.total_amount, \
         currency = v.currency, recipient_address = v.recipient_address, raw = v.raw, \
         ship_by_time = v.ship_by_time, awaiting_shipment = v.awaiting_shipment, search_text = v.search_text, \
         synced_at = ? \
         FROM v WHERE orders.id = v.vid AND (orders.update_time < v.update_time \
         OR (orders.update_time = v.update_time AND orders.status = v.tie_status)) \
         RETURNING orders.id",
        vec![ROW; rows.len()].join(", ")
    );
    let values = sea_query_sqlx::SqlxValues(sea_query::Values(values));
    let ids: Vec<(i64,)> = match tx {
        DbTx::Sqlite(t) => {
            let sql = super::exec::sql_for(creatorflow_queue::Backend::Sqlite, &sql);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
        DbTx::Postgres(t) => {
            let sql = super::exec::sql_for(creatorflow_queue::Backend::Postgres, &sql);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
    };
    Ok(ids.into_iter().map(|r| r.0).collect())
}

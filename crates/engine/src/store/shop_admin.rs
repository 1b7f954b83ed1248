//! What the console's shop and order commands need beyond CRUD: shops by name, orders by TikTok id
//! across shops, and purging a removed shop with everything cached for it.

use creatorflow_queue::DbTx;

use super::error::{Result, StoreError};
use super::exec::{Ex, ReadConn, exec, fetch_all, fetch_opt, tx_ex};
use super::model::{Reservation, Shop};
use super::orders::Id;
use super::Store;

const SHOP_COLUMNS: &str = "id, creator_id, name, tts_shop_id, cipher, region, app_key, api_base_url, \
     auth_base_url, handover_method, priority, paused, status, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

#[derive(sqlx::FromRow)]
struct Held {
    sku: String,
    n: i64,
}

/// What [`Store::purge_shop`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub orders: u64,
    /// Units of tracked stock given back: reserved by validate for orders that never shipped.
    pub units_released: i64,
}

impl Store {
    /// A creator's shops of this name, oldest first. The console keeps names unique (it updates the shop
    /// of an existing name); the schema does not, so code that created shops directly may have made two.
    pub async fn shops_by_name(&self, creator_id: i64, name: &str) -> Result<Vec<Shop>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE creator_id = ? AND name = ? ORDER BY id");
        Ok(fetch_all!(c.ex(), Shop, &sql, creator_id, name)?)
    }

    /// A shop by its TikTok id and API base (the unique pair), whatever its name.
    pub async fn shop_by_remote(&self, api_base_url: &str, tts_shop_id: &str) -> Result<Option<Shop>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE api_base_url = ? AND tts_shop_id = ?");
        Ok(fetch_opt!(c.ex(), Shop, &sql, api_base_url, tts_shop_id)?)
    }

    /// How many shops (of any creator) use this app key.
    pub async fn shops_with_app_key(&self, app_key: &str) -> Result<i64> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let row = fetch_opt!(c.ex(), Count, "SELECT COUNT(*) AS n FROM shops WHERE app_key = ?", app_key)?;
        Ok(row.map_or(0, |r| r.n))
    }

    /// Local ids of a creator's cached orders with this TikTok order id (one per shop that has it).
    pub async fn order_ids_by_remote(&self, creator_id: i64, tts_order_id: &str) -> Result<Vec<i64>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let rows = fetch_all!(
            c.ex(),
            Id,
            "SELECT id FROM orders WHERE creator_id = ? AND tts_order_id = ? ORDER BY id",
            creator_id,
            tts_order_id
        )?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Local ids of every cached order of a shop.
    pub async fn order_ids_of_shop(&self, shop_id: i64) -> Result<Vec<i64>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let rows = fetch_all!(c.ex(), Id, "SELECT id FROM orders WHERE shop_id = ? ORDER BY id", shop_id)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Delete a shop and everything cached for it inside the caller's transaction: its orders with their
    /// line items, packages, shipments, labels, timeline and fulfillment log (ON DELETE CASCADE), their
    /// search entries, and its sync cursors; tracked stock reserved for its unshipped orders is released. TikTok keeps the orders; adding the shop again re-syncs them.
    pub async fn purge_shop(&self, tx: &mut DbTx, shop_id: i64) -> Result<Purged> {
        self.check_tx(tx)?;
        let creator = fetch_opt!(tx_ex(tx), Count, "SELECT creator_id AS n FROM shops WHERE id = ?", shop_id)?
            .ok_or(StoreError::ShopNotFound(shop_id))?
            .n;
        // Stock the validate stage reserved for orders that never shipped would stay reserved forever
        // once the orders are gone (ship consumes it; a cancellation releases it): give it back.
        let held = fetch_all!(
            tx_ex(tx),
            Held,
            "SELECT li.seller_sku AS sku, COUNT(*) AS n FROM line_items li \
             JOIN fulfillments f ON f.order_id = li.order_id JOIN orders o ON o.id = li.order_id \
             WHERE o.shop_id = ? AND f.stock_reserved = ? AND f.shipped_at IS NULL AND li.seller_sku <> '' \
             GROUP BY li.seller_sku ORDER BY li.seller_sku",
            shop_id,
            true
        )?;
        let mut units_released = 0;
        for h in held {
            match self.release(tx, creator, &h.sku, h.n).await {
                Ok(Reservation::Reserved) => units_released += h.n,
                Ok(Reservation::Untracked) => {}
                // Someone set the count by hand since: release what is left rather than fail the removal.
                Err(StoreError::ReleaseExceedsReserved { reserved, .. }) if reserved > 0 => {
                    self.release(tx, creator, &h.sku, reserved).await?;
                    units_released += reserved;
                }
                Err(StoreError::ReleaseExceedsReserved { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if let Ex::Sqlite(c) = tx_ex(tx) {
            // External-content FTS5: an entry is removed with the exact text it was indexed with.
            sqlx::query(
                "INSERT INTO order_fts (order_fts, rowid, search_text) \
                 SELECT 'delete', id, search_text FROM orders WHERE shop_id = ?",
            )
            .bind(shop_id)
            .execute(&mut *c)
            .await?;
        }
        let orders = exec!(tx_ex(tx), "DELETE FROM orders WHERE shop_id = ?", shop_id)?;
        // The caller commits; a stage that still finds the shop cached finds none of its orders.
        self.shop_cache.forget();
        match exec!(tx_ex(tx), "DELETE FROM shops WHERE id = ?", shop_id)? {
            0 => Err(StoreError::ShopNotFound(shop_id)),
            _ => Ok(Purged { orders, units_released }),
        }
    }
}

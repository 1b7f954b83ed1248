//! Stock by seller SKU. Reservations are single guarded UPDATEs, so concurrent reservers can never take
//! a tracked SKU below zero available (SQLite: one writer; PostgreSQL: the row lock re-checks the guard),
//! and CHECK constraints back the invariant in the schema.

use creatorflow_queue::DbTx;

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{ReadConn, exec, fetch_opt, tx_ex};
use super::model::{InventoryItem, Reservation};

const COLUMNS: &str = "creator_id, seller_sku, tracked, on_hand, reserved, updated_at";

fn check(sku: &str, qty: i64) -> Result<()> {
    let n = sku.chars().count();
    if n == 0 || n > 256 {
        return Err(StoreError::InvalidInput {
            field: "seller sku",
            value: clip(sku),
        });
    }
    if qty <= 0 {
        return Err(StoreError::InvalidInput {
            field: "quantity",
            value: qty.to_string(),
        });
    }
    Ok(())
}

impl Store {
    /// Set a SKU's stock count and whether it is tracked (creating the row); keeps its reservations.
    /// Fails with [`StoreError::OutOfStock`] if a tracked count would fall below what is reserved.
    pub async fn set_stock(
        &self,
        creator_id: i64,
        sku: &str,
        tracked: bool,
        on_hand: i64,
    ) -> Result<InventoryItem> {
        if on_hand < 0 {
            return Err(StoreError::InvalidInput {
                field: "on_hand",
                value: on_hand.to_string(),
            });
        }
        check(sku, 1)?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "INSERT INTO inventory (creator_id, seller_sku, tracked, on_hand, reserved, updated_at) \
             VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (creator_id, seller_sku) DO UPDATE SET \
             tracked = excluded.tracked, on_hand = excluded.on_hand, updated_at = excluded.updated_at \
             WHERE NOT excluded.tracked OR inventory.reserved <= excluded.on_hand RETURNING {COLUMNS}"
        );
        let row = fetch_opt!(
            tx_ex(&mut tx),
            InventoryItem,
            &sql,
            creator_id,
            sku,
            tracked,
            on_hand,
            self.now_ms()
        )?;
        let Some(item) = row else {
            let cur = self.inventory_in(&mut tx, creator_id, sku).await?;
            return Err(StoreError::OutOfStock {
                sku: clip(sku),
                requested: cur.as_ref().map_or(0, |c| c.reserved),
                available: on_hand,
            });
        };
        tx.commit().await?;
        Ok(item)
    }

    pub async fn get_inventory(&self, creator_id: i64, sku: &str) -> Result<Option<InventoryItem>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql =
            format!("SELECT {COLUMNS} FROM inventory WHERE creator_id = ? AND seller_sku = ?");
        Ok(fetch_opt!(c.ex(), InventoryItem, &sql, creator_id, sku)?)
    }

    async fn inventory_in(
        &self,
        tx: &mut DbTx,
        creator_id: i64,
        sku: &str,
    ) -> Result<Option<InventoryItem>> {
        let sql =
            format!("SELECT {COLUMNS} FROM inventory WHERE creator_id = ? AND seller_sku = ?");
        Ok(fetch_opt!(tx_ex(tx), InventoryItem, &sql, creator_id, sku)?)
    }

    /// Reserve `qty` units in the caller's transaction. Untracked or unknown SKUs are not limited.
    /// A tracked SKU without enough available units fails with [`StoreError::OutOfStock`] and changes
    /// nothing (roll the transaction back to undo earlier reservations of the same order).
    pub async fn reserve(
        &self,
        tx: &mut DbTx,
        creator_id: i64,
        sku: &str,
        qty: i64,
    ) -> Result<Reservation> {
        self.check_tx(tx)?;
        check(sku, qty)?;
        let n = exec!(
            tx_ex(tx),
            "UPDATE inventory SET reserved = reserved + ?, updated_at = ? \
             WHERE creator_id = ? AND seller_sku = ? AND tracked = ? AND on_hand - reserved >= ?",
            qty,
            self.now_ms(),
            creator_id,
            sku,
            true,
            qty,
        )?;
        if n == 1 {
            return Ok(Reservation::Reserved);
        }
        match self.inventory_in(tx, creator_id, sku).await? {
            Some(item) if item.tracked => Err(StoreError::OutOfStock {
                sku: clip(sku),
                requested: qty,
                available: item.available(),
            }),
            _ => Ok(Reservation::Untracked),
        }
    }

    /// Give back `qty` reserved units (an order cancelled before shipping).
    pub async fn release(
        &self,
        tx: &mut DbTx,
        creator_id: i64,
        sku: &str,
        qty: i64,
    ) -> Result<Reservation> {
        self.check_tx(tx)?;
        check(sku, qty)?;
        let n = exec!(
            tx_ex(tx),
            "UPDATE inventory SET reserved = reserved - ?, updated_at = ? \
             WHERE creator_id = ? AND seller_sku = ? AND tracked = ? AND reserved >= ?",
            qty,
            self.now_ms(),
            creator_id,
            sku,
            true,
            qty,
        )?;
        if n == 1 {
            return Ok(Reservation::Reserved);
        }
        match self.inventory_in(tx, creator_id, sku).await? {
            Some(item) if item.tracked => Err(StoreError::ReleaseExceedsReserved {
                sku: clip(sku),
                requested: qty,
                reserved: item.reserved,
            }),
            _ => Ok(Reservation::Untracked),
        }
    }

    /// Reserved units leave with the parcel: on_hand and reserved both drop by `qty`.
    pub async fn consume(
        &self,
        tx: &mut DbTx,
        creator_id: i64,
        sku: &str,
        qty: i64,
    ) -> Result<Reservation> {
        self.check_tx(tx)?;
        check(sku, qty)?;
        let n = exec!(
            tx_ex(tx),
            "UPDATE inventory SET reserved = reserved - ?, on_hand = on_hand - ?, updated_at = ? \
             WHERE creator_id = ? AND seller_sku = ? AND tracked = ? AND reserved >= ?",
            qty,
            qty,
            self.now_ms(),
            creator_id,
            sku,
            true,
            qty,
        )?;
        if n == 1 {
            return Ok(Reservation::Reserved);
        }
        match self.inventory_in(tx, creator_id, sku).await? {
            Some(item) if item.tracked => Err(StoreError::ReleaseExceedsReserved {
                sku: clip(sku),
                requested: qty,
                reserved: item.reserved,
            }),
            _ => Ok(Reservation::Untracked),
        }
    }
}

//! Stock by seller SKU. Reservations are single guarded UPDATEs, so concurrent reservers can never take
//! a tracked SKU below zero available (SQLite: one writer; PostgreSQL: the row lock re-checks the guard),
//! and CHECK constraints back the invariant in the schema.

use std::collections::{BTreeSet, HashMap};

use creatorflow_queue::DbTx;
use sea_query::{Expr, ExprTrait, LockType, Order, Query};

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{ID_ROWS, ReadConn, exec, fetch_opt, fetch_stmt, tx_ex};
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

/// One order's units per seller SKU, for [`Store::reserve_many_tx`].
pub struct StockRequest<'a> {
    pub creator_id: i64,
    pub units: &'a [(String, i64)],
}

impl Store {
    /// Reserves stock for a group of orders in the caller's transaction (validate's group commit):
    /// one read of the tracked rows involved, the checks in memory in the group's order, then one
    /// guarded UPDATE per SKU taken. Per order: `Ok(true)` when it took tracked stock, `Ok(false)`
    /// when all its SKUs are untracked, or the error (out of stock, a bad SKU),
    /// in which case it takes nothing and the other orders are unaffected.
    pub async fn reserve_many_tx(&self, tx: &mut DbTx, orders: &[StockRequest<'_>]) -> Result<Vec<Result<bool>>> {
        self.check_tx(tx)?;
        let mut available = self.tracked_available_tx(tx, orders).await?;
        let mut taken: HashMap<(i64, &str), i64> = HashMap::new();
        let mut answers = Vec::with_capacity(orders.len());
        for order in orders {
            let answer = (|| {
                let mut reserved = false;
                for (sku, qty) in order.units {
                    check(sku, *qty)?;
                    if let Some(left) = available.get(&order.creator_id).and_then(|skus| skus.get(sku.as_str())) {
                        if *left < *qty {
                            return Err(StoreError::OutOfStock { sku: clip(sku), requested: *qty, available: *left });
                        }
                        reserved = true;
                    }
                }
                Ok(reserved)
            })();
            if let Ok(true) = answer {
                for (sku, qty) in order.units {
                    if let Some(left) = available.get_mut(&order.creator_id).and_then(|skus| skus.get_mut(sku.as_str())) {
                        *left -= qty;
                        *taken.entry((order.creator_id, sku.as_str())).or_default() += qty;
                    }
                }
            }
            answers.push(answer);
        }
        let now = self.now_ms();
        for ((creator_id, sku), qty) in taken {
            let n = exec!(
                tx_ex(tx),
                "UPDATE inventory SET reserved = reserved + ?, updated_at = ? \
                 WHERE creator_id = ? AND seller_sku = ? AND tracked = ? AND on_hand - reserved >= ?",
                qty,
                now,
                creator_id,
                sku,
                true,
                qty,
            )?;
            if n != 1 {
                // The rows were read in this transaction (locked on PostgreSQL): only a concurrent
                // writer outside the store's rules gets here. Nothing of the group is kept.
                return Err(StoreError::OutOfStock { sku: clip(sku), requested: qty, available: 0 });
            }
        }
        Ok(answers)
    }

    /// Units available per creator and tracked SKU among `orders`' SKUs; PostgreSQL locks the rows.
    async fn tracked_available_tx(&self, tx: &mut DbTx, orders: &[StockRequest<'_>]) -> Result<HashMap<i64, HashMap<String, i64>>> {
        let creators: BTreeSet<i64> = orders.iter().map(|o| o.creator_id).collect();
        let skus: BTreeSet<&str> = orders.iter().flat_map(|o| o.units.iter().map(|(s, _)| s.as_str())).collect();
        let skus: Vec<&str> = skus.into_iter().collect();
        let mut found = HashMap::new();
        for chunk in skus.chunks(ID_ROWS) {
            let mut stmt = Query::select();
            stmt.columns(["creator_id", "seller_sku", "on_hand", "reserved"])
                .from("inventory")
                .and_where(Expr::col("tracked").eq(true))
                .and_where(Expr::col("creator_id").is_in(creators.iter().copied()))
                .and_where(Expr::col("seller_sku").is_in(chunk.iter().copied()));
            if matches!(tx, DbTx::Postgres(_)) {
                // One lock order for every group (the SKUs sorted), so two never wait on each other.
                stmt.order_by("creator_id", Order::Asc).order_by("seller_sku", Order::Asc).lock(LockType::Update);
            }
            for row in fetch_stmt::<Stock, _>(tx, &stmt).await? {
                found.entry(row.creator_id).or_insert_with(HashMap::new).insert(row.seller_sku, row.on_hand - row.reserved);
            }
        }
        Ok(found)
    }
}

#[derive(sqlx::FromRow)]
struct Stock {
    creator_id: i64,
    seller_sku: String,
    on_hand: i64,
    reserved: i64,
}

//! The engine's local cache: shops, orders with their line items, packages, shipments, labels and
//! timeline, inventory, sync cursors, webhook receipts and per-minute metric rollups, over SQLite or PostgreSQL (migrations 0002).
//!
//! Writers take the caller's [`DbTx`] so the sync and the pipeline can commit cache rows, cursors and
//! queue jobs (`Queue::insert_tx`) atomically; readers use the read side of the [`Db`]. Static statements
//! are written once with `?` placeholders (rewritten to `$n` for PostgreSQL); the dynamic order list is
//! built with sea-query.

mod audit;
mod error;
mod exec;
mod fulfillments;
mod inventory;
mod labels;
mod list;
mod lookup;
mod metrics;
mod model;
mod orders;
mod orders_bulk;
mod records;
mod search;
mod shop_admin;
mod shop_cache;
mod shipped;
mod shops;
mod tracking;

use std::sync::Arc;

use creatorflow_queue::{Backend, Clock, Db, DbTx, SystemClock};

pub use audit::{AuditAction, AuditEvent, NewAuditEvent};
pub use error::{Result, StoreError};
pub(crate) use error::clip;
pub use fulfillments::{Fulfillment, NewFulfillment, WorkOrder};
pub use inventory::StockRequest;
pub use labels::{LabelProgress, LabelWork, NewLabel};
pub use shop_admin::Purged;
pub use list::{MAX_PAGE, OrderFilter, OrderPage, PageCursor, PageRequest};
pub use lookup::{OrderStatusView, TrackingInfo};
pub use metrics::MetricRollup;
pub use tracking::{Settled, TrackingTarget};
pub use model::{
    Amount, EventSource, HandoverMethod, InventoryItem, Label, LineItem, NewOrderEvent,
    NewShipment, NewShop, Order, OrderDetail, OrderEvent, OrderSummary, Package, PackageRecord,
    Reservation, Shipment, ShipmentStatus, ShippingType, Shop, ShopPatch, ShopStatus, StatusCount,
    UpsertOutcome, WebhookReceipt,
};

/// The default local creator (migration 0002 creates it).
pub const DEFAULT_CREATOR_ID: i64 = 1;

/// Default "at risk" window: an unshipped order whose ship-by time is within 24 hours.
pub const DEFAULT_AT_RISK_WINDOW_S: i64 = 24 * 3600;

/// The local cache over a [`Db`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    clock: Arc<dyn Clock>,
    at_risk_window_s: i64,
    shop_cache: Arc<shop_cache::ShopCache>,
}

impl Store {
    /// A store on the system clock.
    pub fn new(db: Db) -> Self {
        Self::with_clock(db, Arc::new(SystemClock))
    }

    /// A store on an injected clock (tests, simulations).
    pub fn with_clock(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            at_risk_window_s: DEFAULT_AT_RISK_WINDOW_S,
            shop_cache: Arc::default(),
        }
    }

    /// How close to its ship-by time an unshipped order counts as at risk (seconds).
    pub fn at_risk_window(mut self, seconds: i64) -> Self {
        self.at_risk_window_s = seconds;
        self
    }

    /// The clock every local timestamp comes from.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Begin a write transaction (see [`Db::begin`]: on SQLite it holds the one writer until it ends).
    pub async fn begin(&self) -> Result<DbTx> {
        Ok(self.db.begin().await?)
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Ship-by times before this (seconds) are at risk now.
    fn at_risk_before(&self) -> i64 {
        self.now_ms().div_euclid(1000) + self.at_risk_window_s
    }

    fn check_tx(&self, tx: &DbTx) -> Result<()> {
        if tx.backend() != self.db.backend() {
            return Err(StoreError::BackendMismatch {
                store: self.db.backend().name(),
                tx: tx.backend().name(),
            });
        }
        Ok(())
    }

    fn backend(&self) -> Backend {
        self.db.backend()
    }
}

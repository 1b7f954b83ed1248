//! Stage 1, validate: wait while the buyer has not paid or TikTok holds the order, stop for a
//! cancellation, check the address, reserve stock for tracked SKUs, then hand the order to ship.

use creatorflow_queue::{JobError, Outcome};

use super::validate_write::Validated;
use super::{OrderJob, Pipeline, kinds, store_error};
use crate::store::{NewOrderEvent, StoreError, WorkOrder};

stage_worker!(Validate, kinds::VALIDATE, OrderJob, validate);

/// What is missing from an address TikTok needs for a parcel, if anything.
fn address_problem(order: &WorkOrder) -> Option<String> {
    let Some(a) = order.recipient_address.as_ref() else { return Some("no recipient address".into()) };
    let has = |k: &str| a.get(k).and_then(|v| v.as_str()).is_some_and(|s| !s.trim().is_empty());
    let mut missing = Vec::new();
    if !has("name") {
        missing.push("name");
    }
    if !has("full_address") && !has("address_line1") {
        missing.push("street address");
    }
    if !has("postal_code") {
        missing.push("postal code");
    }
    (!missing.is_empty()).then(|| format!("recipient address lacks {}", missing.join(", ")))
}

impl Pipeline {
    async fn validate(&self, job: &OrderJob) -> Result<Outcome, JobError> {
        let order_id = job.order_id;
        let Some((order, _)) = self.stage_order(order_id).await? else {
            return Err(JobError::permanent("order_missing", format!("order {order_id} is not in the local cache")));
        };
        let shop = self.store().cached_shop(order.shop_id).await.map_err(store_error)?;
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        match order.status.as_str() {
            "UNPAID" | "ON_HOLD" => return Ok(Outcome::Snooze(self.config().wait_outside)),
            "CANCELLED" => return self.cancel_work(&order, &shop, "cancelled before shipping").await,
            "AWAITING_SHIPMENT" | "PARTIALLY_SHIPPING" => {}
            // Shipped elsewhere (Seller Center, another device): nothing for us to do.
            _ => return Ok(Outcome::Complete),
        }
        if let Some(problem) = address_problem(&order) {
            return Err(JobError::permanent("address_incomplete", format!("order {}: {problem}", order.tts_order_id)));
        }
        if order.package_ids.is_empty() {
            return Err(JobError::permanent("no_package", format!("order {} has no package to ship", order.tts_order_id)));
        }
        let write = Validated {
            order_id: order.id,
            creator_id: shop.creator_id,
            package_ids: order.package_ids.clone(),
            units: order.units_by_sku().into_iter().map(|(sku, n)| (sku.to_owned(), n)).collect(),
            ship_job: self.stage_job(kinds::SHIP, order.id, &shop, order.ship_by_time).map_err(super::engine_error)?,
        };
        match self.validate_writer().run(self.store(), self.queue(), self.metrics(), write).await? {
            Ok(()) => Ok(Outcome::Complete),
            Err(e @ StoreError::OutOfStock { .. }) => {
                Err(JobError::permanent("out_of_stock", format!("order {}: {e}", order.tts_order_id)))
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// An order cancelled before it shipped: give back its stock and stop.
    pub(super) async fn cancel_work(
        &self,
        order: &WorkOrder,
        shop: &crate::store::Shop,
        why: &str,
    ) -> Result<Outcome, JobError> {
        self.take_arrival(order.id);
        let mut tx = self.store().begin().await.map_err(store_error)?;
        if self.store().clear_stock_reserved(&mut tx, order.id).await.map_err(store_error)? {
            for (sku, qty) in order.units_by_sku() {
                self.store().release(&mut tx, shop.creator_id, sku, qty).await.map_err(store_error)?;
            }
        }
        let ev = NewOrderEvent::pipeline("cancelled", why, None);
        self.store().append_event(&mut tx, order.id, &ev).await.map_err(store_error)?;
        tx.commit().await.map_err(|e| JobError::retryable("database", e.to_string()))?;
        self.metrics().incr("orders.cancelled_before_shipping", 1);
        Ok(Outcome::Cancel(format!("order {} {why}", order.tts_order_id)))
    }
}

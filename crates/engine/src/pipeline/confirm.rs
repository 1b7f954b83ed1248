//! Stage 4, confirm: read the order back from TikTok (batched order detail), cache the new version and
//! record the tracking number, so the local cache shows what TikTok shows.


use creatorflow_queue::{JobError, Outcome};

use super::{OrderJob, Pipeline, engine_error, kinds, store_error};
use crate::store::{EventSource, NewOrderEvent};

stage_worker!(Confirm, kinds::CONFIRM, OrderJob, confirm);

/// TikTok statuses that show the parcel left the seller.
const SHIPPED_STATUSES: [&str; 5] = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED", "PARTIALLY_SHIPPING"];

impl Pipeline {
    async fn confirm(&self, job: &OrderJob) -> Result<Outcome, JobError> {
        let order_id = job.order_id;
        let Some((order, log)) = self.stage_order(order_id).await? else {
            return Ok(Outcome::Cancel(format!("order {order_id} was removed")));
        };
        let f = Self::validated(&order, log)?;
        if f.confirmed_at.is_some() {
            return Ok(Outcome::Complete);
        }
        let shop = self.store().cached_shop(order.shop_id).await.map_err(store_error)?;
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        let client = self.connections().client(&shop).map_err(engine_error)?;
        let local = match self.refresh_batched(&shop, &client, &order.tts_order_id).await {
            Ok(Some(refreshed)) => refreshed.into_job_result()?,
            Ok(None) => return Err(JobError::retryable("order_not_found", format!("tiktok does not return order {}", order.tts_order_id))),
            Err(failure) => return self.job_outcome(&shop, &failure).await,
        };
        let status = local.status.clone();
        let tracking = local.packages.iter().find_map(|p| p.tracking_number.clone()).filter(|t| !t.is_empty());
        if !SHIPPED_STATUSES.contains(&status.as_str()) {
            return Err(JobError::retryable(
                "not_shipped_remotely",
                format!("order {} is {status} on tiktok after our ship call", order.tts_order_id),
            ));
        }
        let mut tx = self.store().begin().await.map_err(store_error)?;
        if let Some(t) = &tracking {
            self.record_tracking(&mut tx, order.id, t).await.map_err(store_error)?;
        }
        self.store().mark_confirmed(&mut tx, order.id).await.map_err(store_error)?;
        let ev = NewOrderEvent {
            source: EventSource::Pipeline,
            kind: "confirmed".into(),
            message: format!("tiktok shows the order {status}{}", tracking.map(|t| format!(", tracking {t}")).unwrap_or_default()),
            data: None,
        };
        self.store().append_event(&mut tx, order.id, &ev).await.map_err(store_error)?;
        tx.commit().await.map_err(|e| JobError::retryable("database", e.to_string()))?;
        self.metrics().incr("orders.confirmed", 1);
        Ok(Outcome::Complete)
    }
}

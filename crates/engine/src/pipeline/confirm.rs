//! Stage 4, confirm: read the order back from TikTok (batched order detail), cache the new version and
//! record the tracking number, so the local cache shows what TikTok shows. The writes are group
//! commits (group.rs), like the label stage's.

use creatorflow_queue::{JobError, Outcome, Queue};

use super::group::GroupOp;
use super::label::record_tracking;
use super::{OrderJob, Pipeline, engine_error, kinds, store_error};
use crate::store::{NewOrderEvent, Store};

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
        let write = ConfirmWrite { order_id, status, tracking };
        self.confirm_writer().run(self.store(), self.queue(), self.metrics(), write).await?;
        self.metrics().incr("orders.confirmed", 1);
        Ok(Outcome::Complete)
    }
}

/// One confirm job's finding, committed with other jobs' (group.rs): each was its own write
/// transaction (tracking, work-log mark, timeline entry) queued behind the pipeline's others.
pub(crate) struct ConfirmWrite {
    order_id: i64,
    /// TikTok's status of the order, one of SHIPPED_STATUSES.
    status: String,
    tracking: Option<String>,
}

impl GroupOp for ConfirmWrite {
    const GROUPS_COUNTER: &'static str = "confirms.write_batches";
    const OPS_COUNTER: &'static str = "confirms.stored";
    const MAX: usize = 256;
    type Reply = ();

    /// One transaction: the tracking numbers learnt, the work-log marks and the timeline entries.
    async fn run(store: &Store, _queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<()>> {
        let mut tx = store.begin().await?;
        let learnt: Vec<(i64, &str)> = group.iter().filter_map(|w| Some((w.order_id, w.tracking.as_deref()?))).collect();
        record_tracking(store, &mut tx, &learnt).await?;
        let ids: Vec<i64> = group.iter().map(|w| w.order_id).collect();
        store.mark_confirmed_tx(&mut tx, &ids).await?;
        let entries: Vec<NewOrderEvent> = group
            .iter()
            .map(|w| {
                let tracking = w.tracking.as_ref().map(|t| format!(", tracking {t}")).unwrap_or_default();
                NewOrderEvent::pipeline("confirmed", format!("tiktok shows the order {}{tracking}", w.status), None)
            })
            .collect();
        let events: Vec<(i64, &NewOrderEvent)> = ids.iter().copied().zip(&entries).collect();
        store.append_events_tx(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(vec![(); group.len()])
    }
}

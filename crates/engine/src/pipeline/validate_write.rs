//! Validate's write as a group commit (group.rs): for each order that passed its checks, the
//! stock reservation, the work log, the timeline entry and the ship job, for a whole group of
//! concurrent validate jobs in one transaction of set-based statements.

use creatorflow_queue::{NewJob, Queue};
use serde_json::json;

use super::group::GroupOp;
use crate::store::{NewFulfillment, NewOrderEvent, StockRequest, Store, StoreError};

/// An order validate passed, to hand to ship.
pub(crate) struct Validated {
    pub(crate) order_id: i64,
    pub(crate) creator_id: i64,
    pub(crate) package_ids: Vec<String>,
    /// Units per seller SKU, reserved where the SKU is tracked.
    pub(crate) units: Vec<(String, i64)>,
    pub(crate) ship_job: NewJob,
}

impl GroupOp for Validated {
    const GROUPS_COUNTER: &'static str = "validations.write_batches";
    const OPS_COUNTER: &'static str = "validations.stored";
    const MAX: usize = 256;
    /// `Err` when this order's stock could not be reserved (nothing of it was written).
    type Reply = Result<(), StoreError>;

    async fn run(store: &Store, queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<Self::Reply>> {
        let mut tx = store.begin().await?;
        let ids: Vec<i64> = group.iter().map(|w| w.order_id).collect();
        // A re-run of validate (its work log exists) reserves nothing again and only re-queues ship.
        let started = store.started_orders_tx(&mut tx, &ids).await?;
        let fresh: Vec<&Validated> = group.iter().filter(|w| !started.contains(&w.order_id)).collect();
        let requests: Vec<StockRequest<'_>> =
            fresh.iter().map(|w| StockRequest { creator_id: w.creator_id, units: &w.units }).collect();
        let reservations = store.reserve_many_tx(&mut tx, &requests).await?;

        let mut failed = std::collections::HashMap::new();
        let mut logs = Vec::with_capacity(fresh.len());
        let mut events = Vec::with_capacity(fresh.len());
        for (w, reserved) in fresh.iter().zip(reservations) {
            match reserved {
                Ok(stock_reserved) => {
                    logs.push(NewFulfillment { order_id: w.order_id, package_ids: &w.package_ids, stock_reserved });
                    let ev = NewOrderEvent::pipeline(
                        "validated",
                        "address complete, stock reserved; queued for shipping",
                        Some(json!({ "stock_reserved": stock_reserved })),
                    );
                    events.push((w.order_id, ev));
                }
                Err(e) => {
                    failed.insert(w.order_id, e);
                }
            }
        }
        store.start_fulfillments_tx(&mut tx, &logs).await?;
        let refs: Vec<(i64, &NewOrderEvent)> = events.iter().map(|(id, e)| (*id, e)).collect();
        store.append_events_tx(&mut tx, &refs).await?;
        let jobs: Vec<NewJob> =
            group.iter().filter(|w| !failed.contains_key(&w.order_id)).map(|w| w.ship_job.clone()).collect();
        queue.insert_many_tx(&mut tx, &jobs).await?;
        tx.commit().await?;
        queue.wake();
        Ok(group.iter().map(|w| failed.remove(&w.order_id).map_or(Ok(()), Err)).collect())
    }
}

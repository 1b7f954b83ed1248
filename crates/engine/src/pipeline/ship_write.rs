//! The ship stage's two writes as group commits (group.rs): the intent committed before a ship
//! call, and the recorded shipment after it (work log, stock, manual tracking, shipment row, timeline,
//! the label and confirm jobs). Each was its own write transaction per order, queued for SQLite's one
//! writer behind every other stage's; in groups they share one.

use std::collections::HashSet;

use creatorflow_queue::{DbTx, NewJob, Queue};
use serde_json::json;

use super::group::GroupOp;
use crate::store::{NewOrderEvent, NewShipment, Store};

/// A ship job's intent (`ship_requested_at`), durable before its call: a later attempt that finds it
/// asks TikTok before shipping again.
pub(crate) struct ShipIntent {
    pub(crate) order_id: i64,
}

impl GroupOp for ShipIntent {
    const GROUPS_COUNTER: &'static str = "ship_intents.write_batches";
    const OPS_COUNTER: &'static str = "ship_intents.stored";
    const MAX: usize = 256;
    type Reply = ();

    async fn run(store: &Store, _queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<()>> {
        let mut tx = store.begin().await?;
        let ids: Vec<i64> = group.iter().map(|w| w.order_id).collect();
        store.mark_ship_requested(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(vec![(); group.len()])
    }
}

/// A shipment TikTok accepted (or already had), to record once.
pub(crate) struct ShippedWrite {
    pub(crate) order_id: i64,
    pub(crate) creator_id: i64,
    /// Units per seller SKU, consumed from the stock validate reserved.
    pub(crate) units: Vec<(String, i64)>,
    pub(crate) tracking_number: Option<String>,
    pub(crate) provider_id: Option<String>,
    /// The stage jobs that follow: label (TikTok shipping) and confirm.
    pub(crate) next_jobs: Vec<NewJob>,
    /// When the shipment is recorded (the clock's ms).
    pub(crate) shipped_at: i64,
}

impl GroupOp for ShippedWrite {
    const GROUPS_COUNTER: &'static str = "shipments.write_batches";
    const OPS_COUNTER: &'static str = "shipments.stored";
    const MAX: usize = 256;
    /// True for the write that recorded the shipment; false if it was recorded before.
    type Reply = bool;

    /// One transaction: each order's work log, stock and shipment rows, then the timeline entries
    /// and the next jobs of the whole group in multi-row statements.
    async fn run(store: &Store, queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<bool>> {
        let mut tx = store.begin().await?;
        let marks: Vec<(i64, Option<&str>)> = group.iter().map(|w| (w.order_id, w.tracking_number.as_deref())).collect();
        let marked = store.mark_shipped_tx(&mut tx, &marks).await?;
        let ids: Vec<i64> = marked.keys().copied().collect();
        let with_manual = store.orders_with_pending_manual_tx(&mut tx, &ids).await?;
        let mut newly = Vec::with_capacity(group.len());
        let mut recorded = HashSet::with_capacity(marked.len());
        let mut shipments = Vec::new();
        let mut events = Vec::new();
        for w in group {
            // An order listed twice ships once: its first write records it, as one by one.
            let Some(&stock_reserved) = marked.get(&w.order_id).filter(|_| recorded.insert(w.order_id)) else {
                newly.push(false);
                continue;
            };
            w.record(store, &mut tx, stock_reserved, &with_manual, &mut shipments, &mut events).await?;
            newly.push(true);
        }
        store.record_shipments_tx(&mut tx, &shipments).await?;
        let refs: Vec<(i64, &NewOrderEvent)> = events.iter().map(|(id, e)| (*id, e)).collect();
        store.append_events_tx(&mut tx, &refs).await?;
        let jobs: Vec<NewJob> = group.iter().flat_map(|w| w.next_jobs.iter().cloned()).collect();
        queue.insert_many_tx(&mut tx, &jobs).await?;
        tx.commit().await?;
        queue.wake();
        Ok(newly)
    }
}

impl ShippedWrite {
    /// The rest of a newly shipped order's rows, in the group's transaction: its stock and manual
    /// tracking here, its shipment row to `shipments` and its timeline entries to `events`.
    async fn record(
        &self,
        store: &Store,
        tx: &mut DbTx,
        stock_reserved: bool,
        with_manual: &HashSet<i64>,
        shipments: &mut Vec<NewShipment>,
        events: &mut Vec<(i64, NewOrderEvent)>,
    ) -> crate::store::Result<()> {
        let tracking = self.tracking_number.as_deref();
        if stock_reserved {
            for (sku, qty) in &self.units {
                store.consume(tx, self.creator_id, sku, *qty).await?;
            }
        }
        let mut manual = false;
        if with_manual.contains(&self.order_id) {
            let settled = store.settle_manual_tracking(tx, self.order_id, tracking, self.provider_id.as_deref()).await?;
            manual = settled.manual;
            if !settled.superseded.is_empty() {
                let message = format!(
                    "tracking {} was entered while a ship call was under way; tiktok has {}",
                    settled.superseded.join(", "),
                    tracking.unwrap_or("its own number")
                );
                let data = Some(json!({ "superseded": settled.superseded }));
                events.push((self.order_id, NewOrderEvent::pipeline("manual_tracking_superseded", message, data)));
            }
        }
        if let Some(t) = tracking
            && !manual
        {
            shipments.push(NewShipment::pipeline(self.order_id, t, self.provider_id.clone(), self.shipped_at));
        }
        let message = match tracking {
            Some(t) => format!("shipped, tracking {t}"),
            None => "shipped with TikTok logistics".into(),
        };
        events.push((self.order_id, NewOrderEvent::pipeline("shipped", message, Some(json!({ "tracking_number": tracking })))));
        Ok(())
    }
}

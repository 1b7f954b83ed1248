//! Order sync per shop: a first backfill, then incremental polling by `update_time` with an overlap
//! window, token paging and a cursor persisted in the same transaction as the orders it covers. Every
//! version goes through the store's stale-ignoring upsert, and the pipeline decides in that same
//! transaction which fulfillment job the change calls for (see `pipeline::plan`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiktok_shop::models::order::{
    Order as RemoteOrder, OrderSearchFilter, OrderSearchPage, PackageItemStatus, ShippingType as RemoteShippingType,
    SortField, SortOrder,
};

use crate::error::EngineError;
use crate::pipeline::{CallFailure, Pipeline};
use crate::store::{Amount, LineItem, Order, Package, Shop, ShippingType};

/// The cursor stream name of the order sync.
pub const ORDERS_STREAM: &str = "orders";

/// How the sync walks a shop's orders.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Orders per search page (TikTok allows 1–100).
    pub page_size: u32,
    /// Every pass re-reads this many seconds before the watermark: TikTok's `update_time` is in
    /// seconds and versions written in the same second as our last read would otherwise be missed.
    pub overlap_secs: i64,
    /// The first pass of a process, and then one pass every this many seconds, reach back this far
    /// instead: a version that TikTok's search shows late is read by the next such pass (webhooks and
    /// the reconciliation pass repair the rest). Every pass reaching back a minute re-read each
    /// recent order on every poll: at 8 orders/s and a 250 ms poll, ~2,000 stale orders a second
    /// fetched, decoded and compared (BENCHMARKS.md, stop 14).
    pub wide_overlap_secs: i64,
    /// How far back the first sync of a shop reaches.
    pub backfill_secs: i64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self { page_size: 100, overlap_secs: 2, wide_overlap_secs: 60, backfill_secs: 30 * 24 * 3600 }
    }
}

/// The persisted position: the newest `update_time` committed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub update_time: i64,
}

/// What one sync pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub pages: u32,
    pub fetched: u64,
    pub inserted: u64,
    pub updated: u64,
    pub stale: u64,
    /// Remote orders that could not be mapped (logged with the reason; see [`to_local`]).
    pub rejected: u64,
    pub jobs_enqueued: u64,
}

impl SyncReport {
    /// True when the pass found nothing new or changed.
    pub fn is_quiet(&self) -> bool {
        self.inserted == 0 && self.updated == 0
    }
}

/// Why a remote order cannot be cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("order has no id")]
    MissingId,
    #[error("order {0} has neither create_time nor update_time")]
    MissingTimes(String),
    #[error("order {id} has shipping type {value:?}, which this version does not know how to fulfil")]
    UnknownShippingType { id: String, value: String },
    #[error("order {id}: {detail}")]
    Invalid { id: String, detail: String },
}

fn amount(d: Option<rust_decimal::Decimal>) -> Result<Amount, String> {
    let s = d.map(|d| d.normalize().to_string()).unwrap_or_else(|| "0".to_owned());
    Amount::parse(&s).map_err(|e| e.to_string())
}

/// Maps one remote order to the cache's shape. Unknown statuses are kept as given; what the pipeline
/// cannot act on safely (no id, no times, an unknown shipping type) is rejected with a reason.
pub fn to_local(shop_id: i64, o: &RemoteOrder) -> Result<Order, RejectReason> {
    if o.id.trim().is_empty() {
        return Err(RejectReason::MissingId);
    }
    let id = o.id.clone();
    let (create_time, update_time) = match (o.create_time, o.update_time) {
        (Some(c), Some(u)) => (c, u),
        (Some(c), None) => (c, c),
        (None, Some(u)) => (u, u),
        (None, None) => return Err(RejectReason::MissingTimes(id)),
    };
    let shipping_type = match &o.shipping_type {
        Some(RemoteShippingType::Tiktok) | None => ShippingType::Tiktok,
        Some(RemoteShippingType::Seller) => ShippingType::Seller,
        Some(RemoteShippingType::Other(v)) => {
            return Err(RejectReason::UnknownShippingType { id, value: v.clone() });
        }
    };
    let invalid = |detail: String| RejectReason::Invalid { id: id.clone(), detail };
    let payment = o.payment.as_ref();
    let currency = payment.and_then(|p| p.currency.clone()).unwrap_or_default();
    let total_amount = amount(payment.and_then(|p| p.total_amount)).map_err(invalid)?;
    let mut line_items = Vec::with_capacity(o.line_items.len());
    for li in &o.line_items {
        line_items.push(LineItem {
            tts_line_item_id: li.id.clone(),
            product_id: li.product_id.clone().unwrap_or_default(),
            product_name: li.product_name.clone().unwrap_or_default(),
            sku_id: li.sku_id.clone().unwrap_or_default(),
            sku_name: li.sku_name.clone().unwrap_or_default(),
            seller_sku: li.seller_sku.clone().unwrap_or_default(),
            sale_price: amount(li.sale_price).map_err(invalid)?,
            currency: li.currency.clone().unwrap_or_else(|| currency.clone()),
            display_status: li.display_status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            tts_package_id: li.package_id.clone(),
        });
    }
    let packages = o
        .packages
        .iter()
        .map(|p| {
            let item = o.line_items.iter().find(|li| li.package_id.as_deref() == Some(p.id.as_str()));
            Package {
                tts_package_id: p.id.clone(),
                status: item
                    .and_then(|li| li.package_status.as_ref())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| PackageItemStatus::ToFulfill.as_str().to_owned()),
                tracking_number: item.and_then(|li| li.tracking_number.clone()).or_else(|| o.tracking_number.clone()),
                shipping_provider_id: o.shipping_provider_id.clone(),
                shipping_provider: o.shipping_provider.clone(),
            }
        })
        .collect();
    let address = o.recipient_address.as_ref();
    Ok(Order {
        shop_id,
        tts_order_id: id,
        status: o.status.as_str().to_owned(),
        create_time,
        update_time,
        paid_time: o.paid_time,
        buyer_name: address.and_then(|a| a.name.clone()).unwrap_or_default(),
        shipping_type,
        rts_sla_time: o.rts_sla_time,
        shipping_due_time: o.shipping_due_time,
        total_amount,
        currency,
        recipient_address: address.and_then(|a| serde_json::to_value(a).ok()),
        raw: serde_json::to_value(o).unwrap_or(Value::Null),
        line_items,
        packages,
    })
}

impl Pipeline {
    /// One sync pass over a shop: every order updated since the cursor (minus the overlap), page by
    /// page, each page committed with its jobs and the advanced cursor.
    pub async fn sync_shop(&self, shop: &Shop) -> Result<SyncReport, SyncFailure> {
        let client = self.connections().client(shop).map_err(SyncFailure::Engine)?;
        let now_s = self.now_ms().div_euclid(1000);
        let cursor: Option<Cursor> = self
            .store()
            .get_cursor(shop.id, ORDERS_STREAM)
            .await
            .map_err(|e| SyncFailure::Engine(e.into()))?
            .and_then(|v| serde_json::from_value(v).ok());
        let sync = &self.config().sync;
        let wide = self.wide_pass_due(shop.id, now_s);
        let since = match cursor {
            Some(c) if wide => c.update_time - sync.wide_overlap_secs,
            Some(c) => c.update_time - sync.overlap_secs,
            None => now_s - sync.backfill_secs,
        };
        let filter = OrderSearchFilter { update_time_ge: Some(since.max(0)), ..Default::default() };
        let first = OrderSearchPage {
            sort_field: Some(SortField::UpdateTime),
            sort_order: Some(SortOrder::Asc),
            ..OrderSearchPage::first(self.config().sync.page_size)
        };
        // The next page is fetched while this one is written: a 10,000-order spike is 100 pages, and
        // paying API latency and the page's commit one after the other would double the sync time.
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let fetcher = {
            let (p, shop, client) = (self.clone(), shop.clone(), client.clone());
            tokio::spawn(async move {
                let mut page = first;
                loop {
                    let r = p.call(&shop, "POST /order/202309/orders/search", client.search_orders(&filter, &page)).await;
                    let next = r.as_ref().ok().and_then(|resp| resp.next_token().map(str::to_owned));
                    if tx.send((r, std::time::Instant::now())).await.is_err() {
                        return;
                    }
                    match next {
                        Some(t) => page.page_token = Some(t),
                        None => return,
                    }
                }
            })
        };
        let mut report = SyncReport::default();
        let mut watermark = cursor.map(|c| c.update_time).unwrap_or(since);
        let result = async {
            while let Some((resp, received)) = rx.recv().await {
                let resp = resp.map_err(SyncFailure::Call)?;
                report.pages += 1;
                report.fetched += resp.orders.len() as u64;
                let mut local = Vec::with_capacity(resp.orders.len());
                for o in &resp.orders {
                    match to_local(shop.id, o) {
                        Ok(order) => local.push(order),
                        Err(reason) => {
                            report.rejected += 1;
                            self.metrics().incr("sync.rejected", 1);
                            tracing::warn!(shop = %shop.name, %reason, "sync: order not cached");
                        }
                    }
                }
                if let Some(max) = local.iter().map(|o| o.update_time).max() {
                    watermark = watermark.max(max);
                }
                let (p, owned_shop) = (self.clone(), shop.clone());
                let write = async move { p.ingest(&owned_shop, &local, Some(Cursor { update_time: watermark }), Some(received)).await };
                let page_report = creatorflow_queue::on_writer_lane(self.store().db(), write).await.map_err(SyncFailure::Engine)?;
                report.inserted += page_report.inserted;
                report.updated += page_report.updated;
                report.stale += page_report.stale;
                report.jobs_enqueued += page_report.jobs_enqueued;
            }
            Ok(())
        }
        .await;
        fetcher.abort();
        result?;
        if wide {
            self.wide_pass_done(shop.id, now_s);
        }
        self.metrics().incr("sync.orders_fetched", report.fetched);
        Ok(report)
    }

    /// Upserts order versions (from a sync page, a webhook-triggered fetch or a reconciliation pass)
    /// with the jobs they call for, and the cursor when given, in one transaction. `received`: when
    /// the versions arrived from TikTok, for new work's overhead metric (`None`: not new work).
    pub async fn ingest(
        &self,
        shop: &Shop,
        orders: &[Order],
        cursor: Option<Cursor>,
        received: Option<std::time::Instant>,
    ) -> Result<SyncReport, EngineError> {
        let mut report = SyncReport::default();
        let mut tx = self.store().begin().await?;
        let outcomes = self.store().upsert_orders_tx(&mut tx, orders).await?;
        for outcome in &outcomes {
            match outcome {
                crate::store::UpsertOutcome::Inserted { .. } => report.inserted += 1,
                crate::store::UpsertOutcome::Updated { .. } => report.updated += 1,
                crate::store::UpsertOutcome::Stale { .. } => report.stale += 1,
            }
        }
        report.jobs_enqueued = self.plan(&mut tx, shop, orders, &outcomes).await?;
        if let Some(c) = cursor {
            self.store().set_cursor(&mut tx, shop.id, ORDERS_STREAM, &json!(c)).await?;
        }
        tx.commit().await.map_err(|e| EngineError::Store(e.into()))?;
        self.queue().wake();
        if let Some(at) = received {
            self.note_arrivals(orders, &outcomes, at);
        }
        Ok(report)
    }
}

/// Why a sync pass stopped early (the orders of pages already committed stay committed).
#[derive(Debug)]
pub enum SyncFailure {
    Call(CallFailure),
    Engine(EngineError),
}

impl std::fmt::Display for SyncFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncFailure::Call(c) => write!(f, "{c}"),
            SyncFailure::Engine(e) => write!(f, "{e}"),
        }
    }
}

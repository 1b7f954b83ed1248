//! Coalescing concurrent jobs into TikTok's batch endpoints. Under a 50 QPS limit per API, one batch
//! ship call of 50 packages is what lets a 10,000-order spike drain in seconds: each ship job hands its
//! package to its shop's batcher and awaits its own result; the batcher waits a few milliseconds for
//! company (or not at all once 50 are queued) and makes one call. Order detail (≤ 50 ids) works alike,
//! and caches what it read as one page (one transaction for the batch, as the sync's pages are) before
//! it answers: confirm, refresh and the ship stage's re-reads all want the new version cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiktok_shop::ShopClient;
use tiktok_shop::models::fulfillment::{BatchItemError, BatchShipPackage, ShipPackageRequest};
use tiktok_shop::models::order::Order as RemoteOrder;
use tokio::sync::{mpsc, oneshot};

use super::{CallFailure, Pipeline};
use crate::store::{Order, Shop};

/// Most packages per batch ship call and ids per order detail call (TikTok's limits).
pub const MAX_BATCH: usize = 50;

/// What became of one package handed to the ship batcher.
#[derive(Debug, Clone)]
pub enum ShipResult {
    Shipped,
    /// TikTok refused this package (the batch call itself succeeded).
    Refused(BatchItemError),
    /// The call failed or was not made: the outcome of a made call is unknown.
    Failed(CallFailure),
}

struct ShipItem {
    package: BatchShipPackage,
    /// The result and how long the call took (zero when none was made): the pipeline's own
    /// overhead is measured without the time spent in TikTok's API.
    reply: oneshot::Sender<(ShipResult, Duration)>,
}

struct DetailItem {
    order_id: String,
    reply: oneshot::Sender<Result<Option<Refreshed>, CallFailure>>,
}

/// One order read back from TikTok by the detail batcher.
#[derive(Debug, Clone)]
pub(crate) enum Refreshed {
    /// Cached with its batch: the store holds this version (or a newer one it already had).
    Cached(Order),
    /// TikTok's answer for it does not convert into an order (why): its job fails permanently.
    Bad(String),
    /// Caching failed (the database error): its job retries.
    NotCached(String),
}

impl Refreshed {
    /// The cached order, or the job error its failure means.
    pub(crate) fn into_job_result(self) -> Result<Order, creatorflow_queue::JobError> {
        match self {
            Refreshed::Cached(o) => Ok(o),
            Refreshed::Bad(why) => Err(creatorflow_queue::JobError::permanent("bad_remote_order", why)),
            Refreshed::NotCached(e) => Err(creatorflow_queue::JobError::retryable("database", e)),
        }
    }
}

/// One ship and one detail batcher per shop, started on first use.
#[derive(Default)]
pub struct Batchers {
    ship: Mutex<HashMap<i64, mpsc::UnboundedSender<ShipItem>>>,
    detail: Mutex<HashMap<i64, mpsc::UnboundedSender<DetailItem>>>,
}

/// Takes the first item, then whatever else is queued, waiting up to `linger` for more, up to `max`.
pub(super) async fn collect<T>(rx: &mut mpsc::UnboundedReceiver<T>, linger: Duration, max: usize) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(item)) => batch.push(item),
                Ok(None) | Err(_) => break,
            },
        }
    }
    Some(batch)
}

impl Pipeline {
    /// Ships one package through its shop's batcher: the result, and the time the call took.
    pub(crate) async fn ship_batched(&self, shop: &Shop, client: &ShopClient, package: BatchShipPackage) -> (ShipResult, Duration) {
        let (reply, rx) = oneshot::channel();
        let tx = {
            let mut map = self.batchers().ship.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(shop.id)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(self.clone().ship_loop(shop.clone(), client.clone(), rx));
                    tx
                })
                .clone()
        };
        if tx.send(ShipItem { package, reply }).is_err() {
            self.batchers().ship.lock().unwrap_or_else(|p| p.into_inner()).remove(&shop.id);
            let stopped = tiktok_shop::Error::InvalidArgument {
                name: "ship batcher",
                value: shop.name.clone(),
                reason: "stopped; the job will run again",
            };
            return (ShipResult::Failed(CallFailure::Api(Arc::new(stopped))), Duration::ZERO);
        }
        rx.await.unwrap_or_else(|_| {
            let dropped = tiktok_shop::Error::InvalidArgument {
                name: "ship batcher",
                value: shop.name.clone(),
                reason: "dropped the request; the job will verify and run again",
            };
            (ShipResult::Failed(CallFailure::Api(Arc::new(dropped))), Duration::ZERO)
        })
    }

    async fn ship_loop(self, shop: Shop, client: ShopClient, mut rx: mpsc::UnboundedReceiver<ShipItem>) {
        while let Some(batch) = collect(&mut rx, self.config().batch_linger, MAX_BATCH).await {
            // Calls overlap (the client's limiter paces them); the loop goes back to collecting.
            tokio::spawn(self.clone().ship_call(shop.clone(), client.clone(), batch));
        }
    }

    async fn ship_call(self, shop: Shop, client: ShopClient, batch: Vec<ShipItem>) {
        let host = shop.api_base_url.clone();
        let admit = match self.breakers().admit(&host) {
            Ok(admit) => admit,
            Err(u) => return reply_all(batch, CallFailure::Offline(u)),
        };
        let gate = self.breakers().gate(&host, admit);
        self.metrics().incr("ship.batches", 1);
        self.metrics().incr("ship.batched_packages", batch.len() as u64);
        let started = Instant::now();
        if let [single] = batch.as_slice() {
            let endpoint = "POST /fulfillment/202309/packages/{package_id}/ship";
            let p = &single.package;
            let body = ShipPackageRequest {
                handover_method: p.handover_method.clone(),
                pickup_slot: p.pickup_slot.clone(),
                self_shipment: p.self_shipment.clone(),
            };
            let r = tiktok_shop::gated(gate, client.ship_package(&p.id, &body)).await;
            if let Err(tiktok_shop::Error::Withheld { .. }) = &r {
                return reply_all(batch, self.withheld(&host));
            }
            let took = started.elapsed();
            self.record_call(&host, endpoint, started, r.as_ref().err());
            let result = match r {
                Ok(()) => ShipResult::Shipped,
                Err(e) => ShipResult::Failed(CallFailure::Api(Arc::new(e))),
            };
            if let Some(item) = batch.into_iter().next() {
                let _ = item.reply.send((result, took));
            }
            return;
        }
        let endpoint = "POST /fulfillment/202309/packages/ship";
        let packages: Vec<BatchShipPackage> = batch.iter().map(|i| i.package.clone()).collect();
        let r = tiktok_shop::gated(gate, client.ship_packages(&packages)).await;
        if let Err(tiktok_shop::Error::Withheld { .. }) = &r {
            return reply_all(batch, self.withheld(&host));
        }
        let took = started.elapsed();
        self.record_call(&host, endpoint, started, r.as_ref().err());
        match r {
            Ok(resp) => {
                let mut refused: HashMap<String, BatchItemError> = HashMap::new();
                for err in resp.errors {
                    if let Some(id) = err.detail.as_ref().and_then(|d| d.package_id.clone()) {
                        refused.insert(id, err);
                    }
                }
                for item in batch {
                    let result = match refused.remove(&item.package.id) {
                        Some(err) => ShipResult::Refused(err),
                        None => ShipResult::Shipped,
                    };
                    let _ = item.reply.send((result, took));
                }
            }
            Err(e) => {
                let failure = CallFailure::Api(Arc::new(e));
                for item in batch {
                    let _ = item.reply.send((ShipResult::Failed(failure.clone()), took));
                }
            }
        }
    }

    /// One order read back from TikTok through its shop's detail batcher and cached (`None`: TikTok
    /// does not know it).
    pub(crate) async fn refresh_batched(
        &self,
        shop: &Shop,
        client: &ShopClient,
        tts_order_id: &str,
    ) -> Result<Option<Refreshed>, CallFailure> {
        let (reply, rx) = oneshot::channel();
        let tx = {
            let mut map = self.batchers().detail.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(shop.id)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(self.clone().detail_loop(shop.clone(), client.clone(), rx));
                    tx
                })
                .clone()
        };
        let stopped = || {
            CallFailure::Api(Arc::new(tiktok_shop::Error::InvalidArgument {
                name: "detail batcher",
                value: shop.name.clone(),
                reason: "stopped; the job will run again",
            }))
        };
        if tx.send(DetailItem { order_id: tts_order_id.to_owned(), reply }).is_err() {
            self.batchers().detail.lock().unwrap_or_else(|p| p.into_inner()).remove(&shop.id);
            return Err(stopped());
        }
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }

    async fn detail_loop(self, shop: Shop, client: ShopClient, mut rx: mpsc::UnboundedReceiver<DetailItem>) {
        while let Some(batch) = collect(&mut rx, self.config().batch_linger, MAX_BATCH).await {
            tokio::spawn(self.clone().detail_call(shop.clone(), client.clone(), batch));
        }
    }

    async fn detail_call(self, shop: Shop, client: ShopClient, batch: Vec<DetailItem>) {
        let mut ids: Vec<String> = batch.iter().map(|i| i.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let remote = match self.call(&shop, "GET /order/202309/orders", client.get_orders(&ids)).await {
            Ok(orders) => orders,
            Err(f) => {
                for item in batch {
                    let _ = item.reply.send(Err(f.clone()));
                }
                return;
            }
        };
        let received = Instant::now();
        let by_id = self.cache_page(&shop, &remote, received).await;
        for item in batch {
            let _ = item.reply.send(Ok(by_id.get(&item.order_id).cloned()));
        }
    }

    /// Caches the orders of one detail call in one transaction (one by one if that fails, so one
    /// bad row does not fail the rest).
    async fn cache_page(&self, shop: &Shop, remote: &[RemoteOrder], received: Instant) -> HashMap<String, Refreshed> {
        let mut out = HashMap::new();
        let mut locals = Vec::new();
        for o in remote {
            match crate::sync::to_local(shop.id, o) {
                Ok(local) => locals.push(local),
                Err(why) => {
                    out.insert(o.id.clone(), Refreshed::Bad(why.to_string()));
                }
            }
        }
        // On the writer lane (creatorflow_queue::on_writer_lane), which needs work it can own.
        let (p, owned_shop) = (self.clone(), shop.clone());
        let write = async move { (p.ingest(&owned_shop, &locals, None, Some(received)).await, locals) };
        let (all, locals) = creatorflow_queue::on_writer_lane(self.store().db(), write).await;
        let alone = locals.len() == 1;
        for local in locals {
            let result = match &all {
                Ok(_) => Ok(()),
                Err(e) if alone => Err(e.to_string()),
                Err(_) => self.ingest(shop, std::slice::from_ref(&local), None, Some(received)).await.map(|_| ()).map_err(|e| e.to_string()),
            };
            let key = local.tts_order_id.clone();
            let refreshed = match result {
                Ok(()) => Refreshed::Cached(local),
                Err(e) => Refreshed::NotCached(e),
            };
            out.insert(key, refreshed);
        }
        out
    }
}

/// Every request of a ship batch fails the same way, before anything was sent.
fn reply_all(batch: Vec<ShipItem>, failure: CallFailure) {
    for item in batch {
        let _ = item.reply.send((ShipResult::Failed(failure.clone()), Duration::ZERO));
    }
}

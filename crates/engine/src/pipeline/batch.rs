//! Coalescing concurrent jobs into TikTok's batch endpoints. Under a 50 QPS limit per API, one batch
//! ship call of 50 packages is what lets a 10,000-order spike drain in seconds: each ship job hands its
//! package to its shop's batcher and awaits its own result; the batcher waits a few milliseconds for
//! company (or not at all once 50 are queued) and makes one call. Order detail (≤ 50 ids) works alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiktok_shop::ShopClient;
use tiktok_shop::models::fulfillment::{BatchItemError, BatchShipPackage, ShipPackageRequest};
use tiktok_shop::models::order::Order as RemoteOrder;
use tokio::sync::{mpsc, oneshot};

use super::{CallFailure, Pipeline};
use crate::store::Shop;

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
    reply: oneshot::Sender<ShipResult>,
}

struct DetailItem {
    order_id: String,
    reply: oneshot::Sender<Result<Option<RemoteOrder>, CallFailure>>,
}

/// One ship and one detail batcher per shop, started on first use.
#[derive(Default)]
pub struct Batchers {
    ship: Mutex<HashMap<i64, mpsc::UnboundedSender<ShipItem>>>,
    detail: Mutex<HashMap<i64, mpsc::UnboundedSender<DetailItem>>>,
}

/// Takes the first item, then whatever else is queued, waiting up to `linger` for more.
async fn collect<T>(rx: &mut mpsc::UnboundedReceiver<T>, linger: Duration) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < MAX_BATCH {
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
    /// Ships one package through its shop's batcher.
    pub(crate) async fn ship_batched(&self, shop: &Shop, client: &ShopClient, package: BatchShipPackage) -> ShipResult {
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
            return ShipResult::Failed(CallFailure::Api(Arc::new(tiktok_shop::Error::InvalidArgument {
                name: "ship batcher",
                value: shop.name.clone(),
                reason: "stopped; the job will run again",
            })));
        }
        rx.await.unwrap_or_else(|_| {
            ShipResult::Failed(CallFailure::Api(Arc::new(tiktok_shop::Error::InvalidArgument {
                name: "ship batcher",
                value: shop.name.clone(),
                reason: "dropped the request; the job will verify and run again",
            })))
        })
    }

    async fn ship_loop(self, shop: Shop, client: ShopClient, mut rx: mpsc::UnboundedReceiver<ShipItem>) {
        while let Some(batch) = collect(&mut rx, self.config().batch_linger).await {
            // Calls overlap (the client's limiter paces them); the loop goes back to collecting.
            tokio::spawn(self.clone().ship_call(shop.clone(), client.clone(), batch));
        }
    }

    async fn ship_call(self, shop: Shop, client: ShopClient, batch: Vec<ShipItem>) {
        let host = shop.api_base_url.clone();
        if let Err(u) = self.breakers().admit(&host) {
            for item in batch {
                let _ = item.reply.send(ShipResult::Failed(CallFailure::Offline(u.clone())));
            }
            return;
        }
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
            let r = client.ship_package(&p.id, &body).await;
            self.record_call(&host, endpoint, started, r.as_ref().err());
            let result = match r {
                Ok(()) => ShipResult::Shipped,
                Err(e) => ShipResult::Failed(CallFailure::Api(Arc::new(e))),
            };
            if let Some(item) = batch.into_iter().next() {
                let _ = item.reply.send(result);
            }
            return;
        }
        let endpoint = "POST /fulfillment/202309/packages/ship";
        let packages: Vec<BatchShipPackage> = batch.iter().map(|i| i.package.clone()).collect();
        let r = client.ship_packages(&packages).await;
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
                    let _ = item.reply.send(result);
                }
            }
            Err(e) => {
                let failure = CallFailure::Api(Arc::new(e));
                for item in batch {
                    let _ = item.reply.send(ShipResult::Failed(failure.clone()));
                }
            }
        }
    }

    /// The remote version of one order through its shop's detail batcher (`None`: TikTok does not know it).
    pub(crate) async fn order_detail_batched(
        &self,
        shop: &Shop,
        client: &ShopClient,
        tts_order_id: &str,
    ) -> Result<Option<RemoteOrder>, CallFailure> {
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
        while let Some(batch) = collect(&mut rx, self.config().batch_linger).await {
            tokio::spawn(self.clone().detail_call(shop.clone(), client.clone(), batch));
        }
    }

    async fn detail_call(self, shop: Shop, client: ShopClient, batch: Vec<DetailItem>) {
        let mut ids: Vec<String> = batch.iter().map(|i| i.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        match self.call(&shop, "GET /order/202309/orders", client.get_orders(&ids)).await {
            Ok(orders) => {
                let by_id: HashMap<String, RemoteOrder> = orders.into_iter().map(|o| (o.id.clone(), o)).collect();
                for item in batch {
                    let _ = item.reply.send(Ok(by_id.get(&item.order_id).cloned()));
                }
            }
            Err(f) => {
                for item in batch {
                    let _ = item.reply.send(Err(f.clone()));
                }
            }
        }
    }
}

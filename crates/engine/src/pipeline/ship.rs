//! Stage 2, ship — exactly once. The intent (`ship_requested_at`) is committed before the call; a job
//! that finds it set without a recorded shipment (a timeout, a reset, a crash between the call and our
//! commit) reads the remote package state first and records a shipment TikTok already has instead of
//! shipping again. TikTok shipping goes through the shop's batcher (batch endpoint, ≤ 50 packages);
//! seller shipping takes the tracking number a person entered (manual entry, CSV import) or else books
//! one with the carrier adapter, and marks the package shipped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use creatorflow_queue::{JobError, Outcome};
use tiktok_shop::models::fulfillment::{BatchShipPackage, HandoverMethod, PackageStatus, SelfShipment};
use tiktok_shop::{Error as ApiError, ErrorKind, ShopClient};

use super::batch::{Refreshed, ShipResult};
use super::ship_write::{ShipIntent, ShippedWrite};
use super::{CallFailure, OrderJob, Pipeline, engine_error, kinds, store_error};
use crate::store::{HandoverMethod as LocalHandover, ShippingType, Shop, WorkOrder};

/// TikTok's answer "this package was shipped already" (sandbox code; the spec gives none).
const ALREADY_SHIPPED: i64 = 21011005;
/// TikTok's answer "the order was cancelled" (sandbox code; the spec gives none).
const ORDER_CANCELLED: i64 = 21011013;

stage_worker!(Ship, kinds::SHIP, OrderJob, ship);

/// What TikTok says about one package.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Remote {
    Shipped { tracking_number: Option<String> },
    NotShipped,
    Cancelled,
}

/// How one ship call ended.
enum Attempted {
    Shipped { tracking_number: Option<String>, provider_id: Option<String> },
    /// TikTok answered with a refusal: the package is certainly not shipped by this call.
    Refused { code: i64, message: String, error: Option<Arc<ApiError>> },
    /// No answer we can trust: the package may or may not be shipped.
    Unknown(CallFailure),
}

fn clearly_refused(e: &ApiError) -> bool {
    matches!(e.kind(), ErrorKind::BusinessRule | ErrorKind::InvalidRequest | ErrorKind::Reauthorize | ErrorKind::Throttled)
}

impl Pipeline {
    async fn ship(&self, job: &OrderJob) -> Result<Outcome, JobError> {
        let order_id = job.order_id;
        let Some((order, log)) = self.stage_order(order_id).await? else {
            return Err(JobError::permanent("order_missing", format!("order {order_id} is not in the local cache")));
        };
        let f = Self::validated(&order, log)?;
        let shop = self.store().cached_shop(order.shop_id).await.map_err(store_error)?;
        if f.shipped_at.is_some() {
            return self.after_shipped(&order, &shop, None, None, None).await;
        }
        if order.status == "CANCELLED" {
            return self.cancel_work(&order, &shop, "cancelled while waiting to ship").await;
        }
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        let client = self.connections().client(&shop).map_err(engine_error)?;
        let packages = f.package_ids();
        // Time spent in TikTok's API by this job: the pipeline's own overhead is measured without it.
        let mut api = Duration::ZERO;
        if f.ship_requested_at.is_some() {
            // An earlier call may have shipped it: ask TikTok before calling again.
            let remote = self.timed(&mut api, self.remote_state(&shop, &client, &packages)).await;
            match remote {
                Ok(Remote::Shipped { tracking_number }) => {
                    self.metrics().incr("ship.recovered_after_unknown_outcome", 1);
                    return self.after_shipped(&order, &shop, tracking_number, None, Some(api)).await;
                }
                Ok(Remote::Cancelled) => return self.cancel_work(&order, &shop, "cancelled on TikTok").await,
                Ok(Remote::NotShipped) => {}
                Err(failure) => return self.job_outcome(&shop, &failure).await,
            }
        }
        let booking = match order.shipping_type {
            ShippingType::Tiktok => None,
            ShippingType::Seller => match self.timed(&mut api, self.seller_booking(&shop, &client, &order)).await {
                Ok(Some(b)) => Some(b),
                // Nobody entered a tracking number yet: manual entry and CSV import wake this job.
                Ok(None) => return Ok(Outcome::Snooze(self.config().wait_outside)),
                Err(stop) => return stop,
            },
        };
        let intent = ShipIntent { order_id: order.id };
        self.ship_intent_writer().run(self.store(), self.queue(), self.metrics(), intent).await?;

        let (attempted, took) = match &booking {
            None => self.ship_tiktok(&shop, &client, &packages).await,
            Some(b) => self.ship_seller(&shop, &client, &packages, b).await,
        };
        api += took;
        match attempted {
            Attempted::Shipped { tracking_number, provider_id } => {
                self.after_shipped(&order, &shop, tracking_number, provider_id, Some(api)).await
            }
            Attempted::Refused { code, message, error } => {
                if code == ALREADY_SHIPPED {
                    let remote = self.timed(&mut api, self.remote_state(&shop, &client, &packages)).await;
                    return match remote {
                        Ok(Remote::Shipped { tracking_number }) => {
                            self.after_shipped(&order, &shop, tracking_number, None, Some(api)).await
                        }
                        Ok(_) => Err(JobError::retryable("ship_conflict", format!("tiktok says shipped ({message}) but the package is not"))),
                        Err(failure) => self.job_outcome(&shop, &failure).await,
                    };
                }
                if code == ORDER_CANCELLED {
                    self.refresh_order(&shop, &client, &order).await;
                    return self.cancel_work(&order, &shop, "cancelled on TikTok").await;
                }
                match error {
                    Some(e) => self.job_outcome(&shop, &CallFailure::Api(e)).await,
                    None if code == 21011044 => Ok(Outcome::Snooze(self.config().on_hold_retry)),
                    None => Err(JobError::permanent("business_rule", format!("ship refused (code {code}: {message})"))),
                }
            }
            Attempted::Unknown(failure) => {
                if matches!(failure, CallFailure::Offline(_)) {
                    return self.job_outcome(&shop, &failure).await;
                }
                self.metrics().incr("ship.unknown_outcome", 1);
                let remote = self.timed(&mut api, self.remote_state(&shop, &client, &packages)).await;
                match remote {
                    Ok(Remote::Shipped { tracking_number }) => {
                        let provider = booking.map(|b| b.shipping_provider_id);
                        self.after_shipped(&order, &shop, tracking_number, provider, Some(api)).await
                    }
                    Ok(Remote::Cancelled) => self.cancel_work(&order, &shop, "cancelled on TikTok").await,
                    Ok(Remote::NotShipped) => self.job_outcome(&shop, &failure).await,
                    // The intent stays committed: the next attempt asks TikTok first.
                    Err(verify_failure) => self.job_outcome(&shop, &verify_failure).await,
                }
            }
        }
    }

    /// `fut`, with the time it took added to `api` (the job's time in TikTok's API).
    async fn timed<T>(&self, api: &mut Duration, fut: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let r = fut.await;
        *api += started.elapsed();
        r
    }

    /// Ships every package of a TikTok-shipped order: how it went, and the time spent in ship calls.
    async fn ship_tiktok(&self, shop: &Shop, client: &ShopClient, packages: &[String]) -> (Attempted, Duration) {
        let handover = match shop.handover_method {
            LocalHandover::Pickup => HandoverMethod::Pickup,
            LocalHandover::DropOff => HandoverMethod::DropOff,
        };
        let mut api = Duration::ZERO;
        for id in packages {
            let p = BatchShipPackage { id: id.clone(), handover_method: handover.clone(), pickup_slot: None, self_shipment: None };
            let (result, took) = self.ship_batched(shop, client, p).await;
            api += took;
            match result {
                ShipResult::Shipped => {}
                ShipResult::Refused(err) => return (Attempted::Refused { code: err.code, message: err.message, error: None }, api),
                ShipResult::Failed(CallFailure::Api(e)) if clearly_refused(&e) => {
                    let refused = Attempted::Refused { code: e.code().unwrap_or_default(), message: e.to_string(), error: Some(e) };
                    return (refused, api);
                }
                ShipResult::Failed(f) => return (Attempted::Unknown(f), api),
            }
        }
        (Attempted::Shipped { tracking_number: None, provider_id: None }, api)
    }

    /// Seller shipping: the package is marked shipped with the carrier's tracking number through the same
    /// batch endpoint (`self_shipment`), so a spike of seller-shipped orders also drains at 50 packages
    /// a call.
    async fn ship_seller(&self, shop: &Shop, client: &ShopClient, packages: &[String], b: &super::Booking) -> (Attempted, Duration) {
        let handover = match shop.handover_method {
            LocalHandover::Pickup => HandoverMethod::Pickup,
            LocalHandover::DropOff => HandoverMethod::DropOff,
        };
        let mut api = Duration::ZERO;
        for id in packages {
            let p = BatchShipPackage {
                id: id.clone(),
                handover_method: handover.clone(),
                pickup_slot: None,
                self_shipment: Some(SelfShipment {
                    tracking_number: b.tracking_number.clone(),
                    shipping_provider_id: b.shipping_provider_id.clone(),
                }),
            };
            let (result, took) = self.ship_batched(shop, client, p).await;
            api += took;
            match result {
                ShipResult::Shipped => {}
                ShipResult::Refused(err) => return (Attempted::Refused { code: err.code, message: err.message, error: None }, api),
                ShipResult::Failed(CallFailure::Api(e)) if clearly_refused(&e) => {
                    let refused = Attempted::Refused { code: e.code().unwrap_or_default(), message: e.to_string(), error: Some(e) };
                    return (refused, api);
                }
                ShipResult::Failed(f) => return (Attempted::Unknown(f), api),
            }
        }
        let shipped = Attempted::Shipped { tracking_number: Some(b.tracking_number.clone()), provider_id: Some(b.shipping_provider_id.clone()) };
        (shipped, api)
    }

    /// The tracking number a seller-shipped order ships with: one a person entered (manual entry or CSV
    /// import) wins over the carrier adapter, because that person chose how this parcel travels.
    /// `Ok(None)`: wait for a person. `Err(stop)`: what the job returns instead.
    async fn seller_booking(
        &self,
        shop: &Shop,
        client: &ShopClient,
        order: &WorkOrder,
    ) -> Result<Option<super::Booking>, Result<Outcome, JobError>> {
        let manual = self.store().pending_manual_tracking(order.id).await.map_err(|e| Err(store_error(e)))?;
        let Some(manual) = manual else {
            return match self.book(shop, client, order).await {
                Ok(b) => Ok(b),
                Err(failure) => Err(self.job_outcome(shop, &failure).await),
            };
        };
        if let Some(id) = manual.shipping_provider_id.clone() {
            return Ok(Some(super::Booking { tracking_number: manual.tracking_number, shipping_provider_id: id }));
        }
        // A provider given by name (entered offline, where TikTok's list cannot be read) is resolved
        // against the providers of the order's delivery option now.
        let name = manual.shipping_provider.clone().unwrap_or_default();
        let option = self.delivery_option(order.id).await;
        let endpoint = "GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers";
        let providers = match self.call(shop, endpoint, client.shipping_providers(&option)).await {
            Ok(p) => p,
            Err(failure) => return Err(self.job_outcome(shop, &failure).await),
        };
        match providers.iter().find(|p| p.name.trim().eq_ignore_ascii_case(name.trim()) || p.id == name.trim()) {
            Some(p) => Ok(Some(super::Booking { tracking_number: manual.tracking_number, shipping_provider_id: p.id.clone() })),
            None => {
                let known: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
                Err(Err(JobError::permanent(
                    "unknown_shipping_provider",
                    format!(
                        "order {}: shipping provider {name:?} of tracking {} is not one TikTok offers for this \
                         order ({}); enter the tracking number again with one of these",
                        order.tts_order_id,
                        manual.tracking_number,
                        known.join(", ")
                    ),
                )))
            }
        }
    }

    /// The order's delivery option (its shipping providers depend on it).
    async fn delivery_option(&self, order_id: i64) -> String {
        let raw = self.store().get_order(order_id).await.ok().map(|d| d.raw);
        raw.as_ref()
            .and_then(|r| r.get("delivery_option_id"))
            .and_then(|v| v.as_str())
            .unwrap_or("default")
            .to_owned()
    }

    /// A tracking number for a seller-shipped order from the carrier adapter (`None`: wait for a person).
    async fn book(&self, shop: &Shop, client: &ShopClient, order: &WorkOrder) -> Result<Option<super::Booking>, CallFailure> {
        let Some(carrier) = self.carrier() else { return Ok(None) };
        let option = self.delivery_option(order.id).await;
        // The adapter's TikTok calls go through the breaker one by one (carrier.rs says why).
        carrier.book(&super::TikTokLookup::new(self, shop, client), order, &option).await
    }

    /// The remote state of an order's packages: shipped only if every package left TO_FULFILL.
    async fn remote_state(&self, shop: &Shop, client: &ShopClient, packages: &[String]) -> Result<Remote, CallFailure> {
        let mut tracking = None;
        for id in packages {
            let d = self
                .call(shop, "GET /fulfillment/202309/packages/{package_id}", client.package_detail(id))
                .await?;
            match d.package_status {
                Some(PackageStatus::Cancelled) => return Ok(Remote::Cancelled),
                Some(PackageStatus::Processing | PackageStatus::Fulfilling | PackageStatus::Completed) => {
                    tracking = tracking.or(d.tracking_number.filter(|t| !t.is_empty()));
                }
                // TO_FULFILL (not a shipped state) or absent.
                Some(PackageStatus::Other(_)) | None => return Ok(Remote::NotShipped),
            }
        }
        Ok(Remote::Shipped { tracking_number: tracking })
    }

    /// Re-reads one order from TikTok into the cache (after TikTok told us something changed).
    pub(super) async fn refresh_order(&self, shop: &Shop, client: &ShopClient, order: &WorkOrder) {
        if let Ok(Some(Refreshed::Bad(e) | Refreshed::NotCached(e))) = self.refresh_batched(shop, client, &order.tts_order_id).await {
            tracing::warn!(order = %order.tts_order_id, error = %e, "could not cache the refreshed order");
        }
    }

    /// Records the shipment (once), consumes the reserved stock and queues label and confirm: a group
    /// commit with other ship jobs' (ship_write.rs).
    async fn after_shipped(
        &self,
        order: &WorkOrder,
        shop: &Shop,
        tracking_number: Option<String>,
        provider_id: Option<String>,
        api_time: Option<Duration>,
    ) -> Result<Outcome, JobError> {
        let mut next_jobs = Vec::with_capacity(2);
        if order.shipping_type == ShippingType::Tiktok {
            next_jobs.push(self.stage_job(kinds::LABEL, order.id, shop, order.ship_by_time).map_err(engine_error)?);
        }
        next_jobs.push(self.stage_job(kinds::CONFIRM, order.id, shop, order.ship_by_time).map_err(engine_error)?);
        let write = ShippedWrite {
            order_id: order.id,
            creator_id: shop.creator_id,
            units: order.units_by_sku().into_iter().map(|(sku, n)| (sku.to_owned(), n)).collect(),
            tracking_number,
            provider_id,
            next_jobs,
            shipped_at: self.now_ms(),
        };
        let newly = self.shipped_writer().run(self.store(), self.queue(), self.metrics(), write).await?;
        let arrived = self.take_arrival(order.id);
        if newly && let Some(api) = api_time {
            let from_s = order.paid_time.unwrap_or(order.create_time);
            self.metrics().record_ms("order_to_fulfillment", (self.now_ms() - from_s * 1000).max(0) as f64);
            self.metrics().incr("orders.shipped", 1);
            if let Some(arrived) = arrived {
                let own = arrived.elapsed().saturating_sub(api);
                self.metrics().record_ms(super::metric_names::PIPELINE_OVERHEAD, own.as_secs_f64() * 1000.0);
            }
        }
        Ok(Outcome::Complete)
    }
}

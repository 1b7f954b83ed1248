//! Tracking numbers for seller-shipped orders. A carrier adapter books the parcel with the seller's
//! carrier and returns its tracking number; without one, the ship stage waits for a person to enter
//! the tracking number (or import it from CSV).
//!
//! An adapter reads TikTok only through [`TikTokLookup`], whose calls go through the API host's
//! breaker one by one. The breaker must hear of a call only when one was made: an adapter that
//! answers from its own cache has not talked to TikTok, and a success reported for it would close an
//! open breaker in the middle of an outage (and let every parked job at the dead host at once).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tiktok_shop::ShopClient;
use tiktok_shop::models::fulfillment::ShippingProvider;

use super::{CallFailure, Pipeline};
use crate::store::{Shop, WorkOrder};

/// The endpoint name of TikTok's shipping providers (metrics, breaker).
pub(crate) const SHIPPING_PROVIDERS: &str =
    "GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers";

/// A booked parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub tracking_number: String,
    /// TikTok's id of the carrier (from the shop's shipping providers).
    pub shipping_provider_id: String,
}

pub type BookingFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Booking>, CallFailure>> + Send + 'a>>;

/// What a carrier adapter may read from TikTok for the shop it books for. Each call is one remote
/// call through the API host's breaker (refused while the host is down: `CallFailure::Offline`).
pub struct TikTokLookup<'a> {
    pipeline: &'a Pipeline,
    shop: &'a Shop,
    client: &'a ShopClient,
}

impl<'a> TikTokLookup<'a> {
    pub(crate) fn new(pipeline: &'a Pipeline, shop: &'a Shop, client: &'a ShopClient) -> Self {
        Self { pipeline, shop, client }
    }

    /// TikTok's shipping providers for a delivery option.
    pub async fn shipping_providers(&self, delivery_option_id: &str) -> Result<Vec<ShippingProvider>, CallFailure> {
        self.pipeline.call(self.shop, SHIPPING_PROVIDERS, self.client.shipping_providers(delivery_option_id)).await
    }
}

/// Books a parcel for an order. `Ok(None)`: this carrier cannot take it (a person must).
pub trait CarrierAdapter: Send + Sync + std::fmt::Debug {
    fn book<'a>(&'a self, tiktok: &'a TikTokLookup<'a>, order: &'a WorkOrder, delivery_option_id: &'a str) -> BookingFuture<'a>;
}

/// The demo shop's carrier: takes TikTok's first shipping provider for the order's delivery option
/// and makes up a tracking number from the order id. For the built-in demo and tests only.
#[derive(Debug, Default)]
pub struct DemoCarrier {
    /// Provider id per delivery option: one lookup per option, not one per order.
    providers: Mutex<HashMap<String, Option<String>>>,
}

impl CarrierAdapter for DemoCarrier {
    fn book<'a>(&'a self, tiktok: &'a TikTokLookup<'a>, order: &'a WorkOrder, delivery_option_id: &'a str) -> BookingFuture<'a> {
        Box::pin(async move {
            let cached = self.providers.lock().unwrap_or_else(|p| p.into_inner()).get(delivery_option_id).cloned();
            let provider = match cached {
                Some(p) => p,
                None => {
                    let list = tiktok.shipping_providers(delivery_option_id).await?;
                    let first = list.first().map(|p| p.id.clone());
                    self.providers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(delivery_option_id.to_owned(), first.clone());
                    first
                }
            };
            let Some(shipping_provider_id) = provider else { return Ok(None) };
            let digits: String = order.tts_order_id.chars().filter(char::is_ascii_alphanumeric).take(40).collect();
            Ok(Some(Booking { tracking_number: format!("CF{digits}"), shipping_provider_id }))
        })
    }
}

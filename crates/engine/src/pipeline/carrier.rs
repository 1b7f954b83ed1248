//! Tracking numbers for seller-shipped orders. A carrier adapter books the parcel with the seller's
//! carrier and returns its tracking number; without one, the ship stage waits for a person to enter
//! the tracking number (or import it from CSV).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tiktok_shop::ShopClient;

use crate::store::WorkOrder;

/// A booked parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub tracking_number: String,
    /// TikTok's id of the carrier (from the shop's shipping providers).
    pub shipping_provider_id: String,
}

pub type BookingFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Booking>, tiktok_shop::Error>> + Send + 'a>>;

/// Books a parcel for an order. `Ok(None)`: this carrier cannot take it (a person must).
pub trait CarrierAdapter: Send + Sync + std::fmt::Debug {
    fn book<'a>(&'a self, client: &'a ShopClient, order: &'a WorkOrder, delivery_option_id: &'a str) -> BookingFuture<'a>;
}

/// The demo shop's carrier: takes TikTok's first shipping provider for the order's delivery option
/// and makes up a tracking number from the order id. For the built-in demo and tests only.
#[derive(Debug, Default)]
pub struct DemoCarrier {
    /// Provider id per delivery option: one lookup per option, not one per order.
    providers: Mutex<HashMap<String, Option<String>>>,
}

impl CarrierAdapter for DemoCarrier {
    fn book<'a>(&'a self, client: &'a ShopClient, order: &'a WorkOrder, delivery_option_id: &'a str) -> BookingFuture<'a> {
        Box::pin(async move {
            let cached = self.providers.lock().unwrap_or_else(|p| p.into_inner()).get(delivery_option_id).cloned();
            let provider = match cached {
                Some(p) => p,
                None => {
                    let list = client.shipping_providers(delivery_option_id).await?;
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

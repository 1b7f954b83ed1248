//! Reviewing orders offline: the filtered order list and one order in full (line items, packages,
//! shipments, whether a label is cached, timeline). Reads only the local cache.

use serde::{Deserialize, Serialize};

use super::Console;
use crate::error::EngineError;
use crate::store::{DEFAULT_CREATOR_ID, OrderDetail, OrderFilter, OrderPage, PageCursor, PageRequest, StoreError};

/// Which orders to list; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderQuery {
    /// Any of these TikTok statuses (`AWAITING_SHIPMENT`, ...; empty: all).
    pub statuses: Vec<String>,
    /// Every word a prefix of a word of the order id, buyer name, product, SKU or tracking number.
    pub search: Option<String>,
    /// Only this shop (by local name).
    pub shop: Option<String>,
    /// Only unshipped orders whose ship-by time is within 24 hours (or past).
    pub at_risk: bool,
    /// Page size (1–500, default 100).
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<PageCursor>,
}

impl Console {
    /// One page of cached orders, newest first.
    pub async fn list_orders(&self, q: &OrderQuery) -> Result<OrderPage, EngineError> {
        let shop_id = match &q.shop {
            Some(name) => Some(
                self.shop_named(name)
                    .await?
                    .ok_or_else(|| EngineError::ShopNotFound { name: name.clone() })?
                    .id,
            ),
            None => None,
        };
        let filter = OrderFilter {
            statuses: q.statuses.iter().map(|s| s.trim().to_ascii_uppercase()).collect(),
            shop_id,
            at_risk: q.at_risk,
            text: q.search.clone(),
            ..OrderFilter::default()
        };
        let page = PageRequest { limit: q.limit.unwrap_or(100), after: q.after };
        Ok(self.store.list_orders(&filter, page).await?)
    }

    /// One order in full. `id` is a TikTok order id or a local id: a TikTok id is tried first (support
    /// staff paste those from buyer messages; TikTok ids are 18+ digits, local ids small, so the two
    /// never meet in practice), then a local id.
    pub async fn show_order(&self, id: &str) -> Result<OrderDetail, EngineError> {
        let id = id.trim();
        if id.is_empty() || id.chars().count() > 64 {
            return Err(EngineError::InvalidInput {
                field: "order id",
                value: id.chars().take(64).collect(),
                reason: "must be a local order id or a TikTok order id".into(),
            });
        }
        let remote = self.store.order_ids_by_remote(DEFAULT_CREATOR_ID, id).await?;
        let local = match remote.as_slice() {
            [one] => *one,
            [] => id.parse::<i64>().map_err(|_| EngineError::OrderNotFound { id: id.to_owned() })?,
            many => return Err(EngineError::AmbiguousOrder { id: id.to_owned(), local_ids: many.to_vec() }),
        };
        match self.store.get_order(local).await {
            Ok(d) => Ok(d),
            Err(StoreError::OrderNotFound(_)) => Err(EngineError::OrderNotFound { id: id.to_owned() }),
            Err(e) => Err(e.into()),
        }
    }
}

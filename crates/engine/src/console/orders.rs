//! Reviewing orders offline: the filtered order list, the filters' choices (shops, status counts), one
//! order in full (line items, address, packages, shipments, whether a label is cached, timeline) or its
//! lean status ("where is order X"), and a cached label's PDF. Reads only the local cache. Manual
//! tracking is in `tracking.rs`, CSV in `orders_csv.rs`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Console;
use crate::error::EngineError;
use crate::store::{
    DEFAULT_CREATOR_ID, OrderDetail, OrderFilter, OrderPage, OrderStatusView, PageCursor, PageRequest, StatusCount,
    StoreError,
};

/// Which orders to list; every filter is optional and they combine with AND. Every field may be left
/// out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct OrderQuery {
    /// Any of these TikTok statuses (`AWAITING_SHIPMENT`, ...; empty: all).
    pub statuses: Vec<String>,
    /// Every word a prefix of a word of the order id, buyer name, product, SKU or tracking number.
    pub search: Option<String>,
    /// Only this shop (by local name).
    pub shop: Option<String>,
    /// Created at or after this time (TikTok's `create_time`, Unix seconds).
    pub created_from: Option<i64>,
    /// Created before this time (Unix seconds).
    pub created_to: Option<i64>,
    /// Only unshipped orders whose ship-by time is within 24 hours (or past).
    pub at_risk: bool,
    /// Page size (1–500, default 100).
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<PageCursor>,
}

/// A shop as the order filters offer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ShopChoice {
    pub id: i64,
    pub name: String,
}

/// What the order filters can choose from: the shops and the cached orders per status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderFacets {
    pub shops: Vec<ShopChoice>,
    /// Per TikTok status, sorted by status.
    pub statuses: Vec<StatusCount>,
    /// All cached orders.
    pub total: i64,
}

/// A cached shipping label, ready to open or save (base64 keeps it one JSON string on both transports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LabelFile {
    pub package_id: i64,
    /// `SHIPPING_LABEL`, ...
    pub document_type: String,
    /// A file name to save it under: `label-<tiktok order id>-<package>.pdf`.
    pub file_name: String,
    /// Unix ms when it was downloaded from TikTok.
    pub fetched_at: i64,
    /// The PDF, base64 (standard alphabet, padded).
    pub pdf_base64: String,
}

/// Longest search text accepted (the store keeps at most 16 words of it).
const MAX_SEARCH_CHARS: usize = 512;

impl Console {
    /// The query as the store's filter: shop name resolved, statuses upper-cased, bounds checked.
    pub(super) async fn order_filter(&self, q: &OrderQuery) -> Result<OrderFilter, EngineError> {
        let shop_id = match q.shop.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(name) => Some(
                self.shop_named(name)
                    .await?
                    .ok_or_else(|| EngineError::ShopNotFound { name: name.to_owned() })?
                    .id,
            ),
            None => None,
        };
        if let Some(text) = &q.search
            && text.chars().count() > MAX_SEARCH_CHARS
        {
            return Err(EngineError::InvalidInput {
                field: "search",
                value: text.chars().take(64).collect(),
                reason: format!("is longer than {MAX_SEARCH_CHARS} characters"),
            });
        }
        if let (Some(from), Some(to)) = (q.created_from, q.created_to)
            && from > to
        {
            return Err(EngineError::InvalidInput {
                field: "created range",
                value: format!("{from}..{to}"),
                reason: "the start is after the end".into(),
            });
        }
        Ok(OrderFilter {
            statuses: q
                .statuses
                .iter()
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect(),
            shop_id,
            created_from: q.created_from,
            created_to: q.created_to,
            at_risk: q.at_risk,
            text: q.search.clone(),
            ..OrderFilter::default()
        })
    }

    /// One page of cached orders, newest first.
    pub async fn list_orders(&self, q: &OrderQuery) -> Result<OrderPage, EngineError> {
        let filter = self.order_filter(q).await?;
        let page = PageRequest { limit: q.limit.unwrap_or(100), after: q.after };
        Ok(self.store.list_orders(&filter, page).await?)
    }

    /// The shops and status counts the order filters offer.
    pub async fn order_facets(&self) -> Result<OrderFacets, EngineError> {
        let shops = self
            .store
            .list_shops(DEFAULT_CREATOR_ID)
            .await?
            .into_iter()
            .map(|s| ShopChoice { id: s.id, name: s.name })
            .collect();
        let statuses = self.store.count_by_status(DEFAULT_CREATOR_ID, None).await?;
        let total = statuses.iter().map(|s| s.count).sum();
        Ok(OrderFacets { shops, statuses, total })
    }

    /// One order in full. `id` is a TikTok order id or a local id: a TikTok id is tried first (support
    /// staff paste those from buyer messages; TikTok ids are 18+ digits, local ids small, so the two
    /// never meet in practice), then a local id. One statement when the TikTok id is cached
    /// (`store/lookup.rs`).
    pub async fn show_order(&self, id: &str) -> Result<OrderDetail, EngineError> {
        let id = checked_order_id(id)?;
        let found = self.store.order_details_by_remote(DEFAULT_CREATOR_ID, id).await?;
        match one_order(id, found, |d| d.order.id)? {
            Some(d) => Ok(d),
            None => match self.store.get_order(local_order_id(id)?).await {
                Ok(d) => Ok(d),
                Err(StoreError::OrderNotFound(_)) => Err(EngineError::OrderNotFound { id: id.to_owned() }),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// "Where is order X": the order's status, last update, ship-by time and tracking, without the rest
    /// of the detail — one indexed statement. `id` as for [`Console::show_order`].
    pub async fn order_status(&self, id: &str) -> Result<OrderStatusView, EngineError> {
        let id = checked_order_id(id)?;
        let found = self.store.order_status_by_remote(DEFAULT_CREATOR_ID, id).await?;
        match one_order(id, found, |s| s.id)? {
            Some(s) => Ok(s),
            None => self
                .store
                .order_status(local_order_id(id)?)
                .await?
                .ok_or_else(|| EngineError::OrderNotFound { id: id.to_owned() }),
        }
    }

    /// The local id of the order `id` names (a TikTok order id first, then a local id).
    pub(super) async fn resolve_order(&self, id: &str) -> Result<i64, EngineError> {
        let id = checked_order_id(id)?;
        let remote = self.store.order_ids_by_remote(DEFAULT_CREATOR_ID, id).await?;
        match one_order(id, remote, |l| *l)? {
            Some(local) => Ok(local),
            None => local_order_id(id),
        }
    }

    /// The cached label PDF of a package (local package id, as the order detail lists it).
    pub async fn label_pdf(&self, package_id: i64) -> Result<LabelFile, EngineError> {
        let not_cached = || EngineError::LabelNotCached { package_id };
        let label = self.store.get_label(package_id).await?.ok_or_else(not_cached)?;
        let (tts_order, tts_package) = self.store.package_names(package_id).await?.ok_or_else(not_cached)?;
        let safe = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).take(40).collect::<String>();
        Ok(LabelFile {
            package_id,
            document_type: label.document_type,
            file_name: format!("label-{}-{}.pdf", safe(&tts_order), safe(&tts_package)),
            fetched_at: label.fetched_at,
            pdf_base64: base64(&label.pdf),
        })
    }
}

/// An order id as typed (trimmed), refused when empty or longer than any id.
fn checked_order_id(id: &str) -> Result<&str, EngineError> {
    let id = id.trim();
    if id.is_empty() || id.chars().count() > 64 {
        return Err(EngineError::InvalidInput {
            field: "order id",
            value: id.chars().take(64).collect(),
            reason: "must be a local order id or a TikTok order id".into(),
        });
    }
    Ok(id)
}

/// The orders found by TikTok id: the one, none (then `id` may be a local id), or an error naming
/// every local id when several shops have that TikTok id.
fn one_order<T>(id: &str, mut found: Vec<T>, local_id: impl Fn(&T) -> i64) -> Result<Option<T>, EngineError> {
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(EngineError::AmbiguousOrder { id: id.to_owned(), local_ids: found.iter().map(local_id).collect() }),
    }
}

/// `id` as a local order id (it matched no TikTok id).
fn local_order_id(id: &str) -> Result<i64, EngineError> {
    id.parse::<i64>().map_err(|_| EngineError::OrderNotFound { id: id.to_owned() })
}

/// Standard base64 with padding (RFC 4648 §4); a label is a few kB, so a table walk is plenty.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}

//! Domain types of the local cache. TikTok's times (`*_time`) are Unix seconds as on the wire; local
//! times (`*_at`) are Unix milliseconds. Money is an exact decimal string ([`Amount`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::error::{StoreError, clip};

/// Declares a TEXT enum whose value set is ours (a CHECK constraint guards the column).
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $column:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The value stored in the database (and sent on the wire).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self, StoreError> {
                match s.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(StoreError::UnknownValue { column: $column, value: clip(&s) }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// How a shop hands parcels to the carrier.
    HandoverMethod, "shops.handover_method", { Pickup => "PICKUP", DropOff => "DROP_OFF" }
);
text_enum!(
    /// Whether the shop's authorization is usable.
    ShopStatus, "shops.status", { Active => "active", Deauthorized => "deauthorized" }
);
text_enum!(
    /// Who ships the order: TikTok's logistics or the seller's own carrier.
    ShippingType, "orders.shipping_type", { Tiktok => "TIKTOK", Seller => "SELLER" }
);
text_enum!(
    /// Where a timeline event or a shipment record came from.
    EventSource, "source", { Sync => "sync", Webhook => "webhook", Pipeline => "pipeline", User => "user" }
);
text_enum!(
    /// Local progress of a shipment record.
    ShipmentStatus, "shipments.status", {
        Pending => "pending", Submitted => "submitted", Confirmed => "confirmed", Failed => "failed"
    }
);

/// An exact decimal amount as a string (`"12.50"`, `"-3"`): never a float, so no rounding ever happens
/// between TikTok, the cache and the screen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(try_from = "String", into = "String")]
#[ts(type = "string")]
pub struct Amount(String);

impl Amount {
    /// Validate a decimal string: optional `-`, 1–30 digits, optional `.` and 1–12 digits.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let body = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let digits = |p: &str, max: usize| {
            !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
        };
        if digits(int, 30) && frac.is_none_or(|f| digits(f, 12)) {
            Ok(Amount(s.to_owned()))
        } else {
            Err(StoreError::InvalidAmount(clip(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Amount {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Amount::parse(&s)
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> String {
        a.0
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A shop to add. Holds no secrets: tokens and the app secret live in the OS keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShop {
    /// Owner; `None` means the default local creator (id 1).
    pub creator_id: Option<i64>,
    pub name: String,
    pub tts_shop_id: String,
    pub cipher: String,
    pub region: String,
    pub app_key: String,
    pub api_base_url: String,
    pub auth_base_url: String,
    pub handover_method: HandoverMethod,
    pub priority: i64,
}

/// A shop as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, ts_rs::TS)]
pub struct Shop {
    pub id: i64,
    pub creator_id: i64,
    pub name: String,
    pub tts_shop_id: String,
    pub cipher: String,
    pub region: String,
    pub app_key: String,
    pub api_base_url: String,
    pub auth_base_url: String,
    #[sqlx(try_from = "String")]
    pub handover_method: HandoverMethod,
    pub priority: i64,
    pub paused: bool,
    #[sqlx(try_from = "String")]
    pub status: ShopStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Changes to a shop; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopPatch {
    pub name: Option<String>,
    pub cipher: Option<String>,
    pub region: Option<String>,
    pub api_base_url: Option<String>,
    pub auth_base_url: Option<String>,
    pub handover_method: Option<HandoverMethod>,
    pub priority: Option<i64>,
    pub paused: Option<bool>,
    pub status: Option<ShopStatus>,
}

/// One version of a TikTok order, as the sync maps it from the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Local shop id.
    pub shop_id: i64,
    pub tts_order_id: String,
    /// TikTok's status as given (unknown future statuses are stored too).
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
    pub paid_time: Option<i64>,
    pub buyer_name: String,
    pub shipping_type: ShippingType,
    pub rts_sla_time: Option<i64>,
    pub shipping_due_time: Option<i64>,
    pub total_amount: Amount,
    pub currency: String,
    pub recipient_address: Option<Value>,
    /// The remote order verbatim.
    pub raw: Value,
    pub line_items: Vec<LineItem>,
    pub packages: Vec<Package>,
}

/// One line item (one unit: TikTok has no quantity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct LineItem {
    pub tts_line_item_id: String,
    pub product_id: String,
    pub product_name: String,
    pub sku_id: String,
    pub sku_name: String,
    pub seller_sku: String,
    #[sqlx(try_from = "String")]
    pub sale_price: Amount,
    pub currency: String,
    pub display_status: String,
    pub tts_package_id: Option<String>,
}

/// A TikTok package of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub tts_package_id: String,
    /// TikTok's package status as given.
    pub status: String,
    pub tracking_number: Option<String>,
    pub shipping_provider_id: Option<String>,
    pub shipping_provider: Option<String>,
}

/// What [`super::Store::upsert_order`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpsertOutcome {
    /// A new order row.
    Inserted { id: i64 },
    /// A newer version replaced the cached one.
    Updated { id: i64, previous_status: String },
    /// The cached version is as new or newer (`update_time`): nothing was written.
    Stale { id: i64 },
}

impl UpsertOutcome {
    /// The local order id.
    pub fn id(&self) -> i64 {
        match self {
            UpsertOutcome::Inserted { id }
            | UpsertOutcome::Updated { id, .. }
            | UpsertOutcome::Stale { id } => *id,
        }
    }
}

/// An order row, as the list and the detail view show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct OrderSummary {
    pub id: i64,
    pub creator_id: i64,
    pub shop_id: i64,
    pub tts_order_id: String,
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
    pub paid_time: Option<i64>,
    pub buyer_name: String,
    #[sqlx(try_from = "String")]
    pub shipping_type: ShippingType,
    pub rts_sla_time: Option<i64>,
    pub shipping_due_time: Option<i64>,
    /// The earlier of `rts_sla_time` and `shipping_due_time` (seconds).
    pub ship_by_time: Option<i64>,
    #[sqlx(try_from = "String")]
    pub total_amount: Amount,
    pub currency: String,
    pub awaiting_shipment: bool,
    /// Awaiting shipment and the ship-by time is within the store's risk window of now.
    #[sqlx(skip)]
    pub at_risk: bool,
    pub synced_at: i64,
}

/// A package as stored, with whether a label PDF is cached for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct PackageRecord {
    pub id: i64,
    pub order_id: i64,
    pub tts_package_id: String,
    pub status: String,
    pub tracking_number: Option<String>,
    pub shipping_provider_id: Option<String>,
    pub shipping_provider: Option<String>,
    pub has_label: bool,
}

/// A shipment to record (manual tracking entry, or the pipeline after shipping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShipment {
    pub order_id: i64,
    pub package_id: Option<i64>,
    pub tracking_number: String,
    pub shipping_provider_id: Option<String>,
    pub shipping_provider: Option<String>,
    pub status: ShipmentStatus,
    pub source: EventSource,
    pub shipped_at: Option<i64>,
}

impl NewShipment {
    /// A shipment the pipeline learnt from TikTok (ship, label or confirm): submitted, of the whole
    /// order (no package).
    pub fn pipeline(order_id: i64, tracking_number: &str, shipping_provider_id: Option<String>, shipped_at: i64) -> Self {
        NewShipment {
            order_id,
            package_id: None,
            tracking_number: tracking_number.to_owned(),
            shipping_provider_id,
            shipping_provider: None,
            status: ShipmentStatus::Submitted,
            source: EventSource::Pipeline,
            shipped_at: Some(shipped_at),
        }
    }
}

/// A shipment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct Shipment {
    pub id: i64,
    pub order_id: i64,
    pub package_id: Option<i64>,
    pub tracking_number: String,
    pub shipping_provider_id: Option<String>,
    pub shipping_provider: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: ShipmentStatus,
    #[sqlx(try_from = "String")]
    pub source: EventSource,
    pub shipped_at: Option<i64>,
    pub created_at: i64,
}

/// A timeline entry to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrderEvent {
    pub source: EventSource,
    pub kind: String,
    pub message: String,
    pub data: Option<Value>,
}

impl NewOrderEvent {
    /// An entry the pipeline writes (a stage's outcome).
    pub fn pipeline(kind: &str, message: impl Into<String>, data: Option<Value>) -> Self {
        NewOrderEvent { source: EventSource::Pipeline, kind: kind.to_owned(), message: message.into(), data }
    }
}

/// A timeline entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct OrderEvent {
    pub id: i64,
    pub order_id: i64,
    pub at: i64,
    #[sqlx(try_from = "String")]
    pub source: EventSource,
    pub kind: String,
    pub message: String,
    #[sqlx(json(nullable))]
    #[ts(type = "unknown")]
    pub data: Option<Value>,
}

/// Everything the order detail view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct OrderDetail {
    pub order: OrderSummary,
    /// TikTok's address object as given (JSON; the UI reads the fields it knows).
    #[ts(type = "Record<string, unknown> | null")]
    pub recipient_address: Option<Value>,
    /// The remote order verbatim.
    #[ts(type = "unknown")]
    pub raw: Value,
    pub line_items: Vec<LineItem>,
    pub packages: Vec<PackageRecord>,
    pub shipments: Vec<Shipment>,
    /// Oldest first.
    pub timeline: Vec<OrderEvent>,
}

/// A cached shipping label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Label {
    pub package_id: i64,
    pub document_type: String,
    pub pdf: Vec<u8>,
    pub fetched_at: i64,
}

/// Stock of one seller SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct InventoryItem {
    pub creator_id: i64,
    pub seller_sku: String,
    pub tracked: bool,
    pub on_hand: i64,
    pub reserved: i64,
    pub updated_at: i64,
}

impl InventoryItem {
    /// Units that can still be reserved.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// What a reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reservation {
    /// Units were reserved on a tracked SKU.
    Reserved,
    /// The SKU is not tracked (or unknown): nothing limits it.
    Untracked,
}

/// A webhook push to remember for dedupe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookReceipt {
    pub tts_notification_id: String,
    pub tts_shop_id: String,
    pub r#type: i64,
    pub payload: Value,
}

/// Orders count by TikTok status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

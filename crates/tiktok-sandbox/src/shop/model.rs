//! The shop's orders, line items and packages, and how they render on the wire.
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Unpaid,
    OnHold,
    AwaitingShipment,
    PartiallyShipping,
    AwaitingCollection,
    InTransit,
    Delivered,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        Self::Unpaid,
        Self::OnHold,
        Self::AwaitingShipment,
        Self::PartiallyShipping,
        Self::AwaitingCollection,
        Self::InTransit,
        Self::Delivered,
        Self::Completed,
        Self::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::OnHold => "ON_HOLD",
            Self::AwaitingShipment => "AWAITING_SHIPMENT",
            Self::PartiallyShipping => "PARTIALLY_SHIPPING",
            Self::AwaitingCollection => "AWAITING_COLLECTION",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShippingType {
    Tiktok,
    Seller,
}

impl ShippingType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tiktok => "TIKTOK",
            Self::Seller => "SELLER",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TIKTOK" => Some(Self::Tiktok),
            "SELLER" => Some(Self::Seller),
            _ => None,
        }
    }
}

/// How far a package has gone; the order's status follows its least advanced package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    ToFulfill,
    AwaitingCollection,
    InTransit,
    Delivered,
    Completed,
    Cancelled,
}

impl Stage {
    pub fn package_status(self) -> &'static str {
        match self {
            Self::ToFulfill => "TO_FULFILL",
            Self::AwaitingCollection => "PROCESSING",
            Self::InTransit => "FULFILLING",
            Self::Delivered | Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }
    pub fn next(self) -> Option<Self> {
        match self {
            Self::AwaitingCollection => Some(Self::InTransit),
            Self::InTransit => Some(Self::Delivered),
            Self::Delivered => Some(Self::Completed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: String,
    pub sku_id: String,
    pub product_id: String,
    pub product_name: String,
    pub sku_name: String,
    pub seller_sku: String,
    /// Minor units (pence); rendered as decimal strings like TikTok does.
    pub original_price: i64,
    pub sale_price: i64,
    pub package_id: String,
    pub cancel_reason: String,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub id: String,
    pub order_id: String,
    pub line_item_ids: Vec<String>,
    pub stage: Stage,
    pub shipped_at: Option<i64>,
    pub handover_method: Option<String>,
    pub tracking_number: String,
    pub shipping_provider_id: String,
    /// Token of the label document once one was issued.
    pub label_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: String,
    pub phone: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub create_time: i64,
    pub update_time: i64,
    pub paid_time: Option<i64>,
    pub user_id: String,
    pub buyer_message: String,
    pub shipping_type: ShippingType,
    pub delivery_option_id: String,
    pub package_ids: Vec<String>,
    pub line_items: Vec<LineItem>,
    pub shipping_fee: i64,
    pub recipient: Recipient,
    pub cancel_reason: String,
    pub cancellation_initiator: String,
    pub on_hold_until: Option<i64>,
    pub warehouse_id: String,
}

pub const CURRENCY: &str = "GBP";

/// Minor units to TikTok's decimal string ("12.50").
pub fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

impl Order {
    pub fn sub_total(&self) -> i64 {
        self.line_items.iter().map(|li| li.sale_price).sum()
    }

    pub fn is_on_hold(&self) -> bool {
        self.status == OrderStatus::OnHold
    }

    /// The wire form (fields the project reads, named as in 202309).
    pub fn to_json(&self, packages: &dyn Fn(&str) -> Option<Package>) -> Value {
        let pkgs: Vec<Package> = self
            .package_ids
            .iter()
            .filter_map(|p| packages(p))
            .collect();
        let tracking = pkgs
            .iter()
            .find(|p| !p.tracking_number.is_empty())
            .map(|p| (p.tracking_number.clone(), p.shipping_provider_id.clone()))
            .unwrap_or_default();
        let line_items: Vec<Value> = self
            .line_items
            .iter()
            .map(|li| {
                let pkg = pkgs.iter().find(|p| p.id == li.package_id);
                let stage = pkg.map(|p| p.stage).unwrap_or(Stage::ToFulfill);
                let display = if self.status == OrderStatus::Cancelled {
                    "CANCELLED"
                } else {
                    self.status.as_str()
                };
                json!({
                    "id": li.id, "sku_id": li.sku_id, "product_id": li.product_id,
                    "product_name": li.product_name, "sku_name": li.sku_name,
                    "seller_sku": li.seller_sku, "currency": CURRENCY,
                    "original_price": money(li.original_price), "sale_price": money(li.sale_price),
                    "display_status": display, "package_id": li.package_id,
                    "package_status": stage.package_status(),
                    "tracking_number": pkg.map(|p| p.tracking_number.clone()).unwrap_or_default(),
                    "cancel_reason": li.cancel_reason,
                })
            })
            .collect();
        let sub_total = self.sub_total();
        let tax = sub_total / 6; // UK VAT included in the price: 20% of the net.
        // ON_HOLD orders hide the address (TikTok: "address empty, cannot ship").
        let address = if self.is_on_hold() {
            json!({"name": "", "phone_number": "", "full_address": "", "address_line1": "",
                   "address_line2": "", "address_line3": "", "address_line4": "",
                   "postal_code": "", "region_code": "", "district_info": []})
        } else {
            let r = &self.recipient;
            json!({"name": r.name, "phone_number": r.phone,
                   "full_address": format!("{}, {}, {}, United Kingdom", r.line1, r.city, r.postal_code),
                   "address_line1": r.line1, "address_line2": "", "address_line3": "", "address_line4": "",
                   "postal_code": r.postal_code, "region_code": "GB",
                   "district_info": [
                       {"address_level_name": "country", "address_name": "United Kingdom", "address_level": "L0"},
                       {"address_level_name": "city", "address_name": r.city, "address_level": "L2"}]})
        };
        let rts_sla = self.paid_time.map(|p| p + 2 * 86400).unwrap_or(0);
        json!({
            "id": self.id,
            "status": self.status.as_str(),
            "create_time": self.create_time,
            "update_time": self.update_time,
            "paid_time": self.paid_time.unwrap_or(0),
            "user_id": self.user_id,
            "buyer_message": self.buyer_message,
            "shipping_type": self.shipping_type.as_str(),
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "delivery_option_id": self.delivery_option_id,
            "packages": self.package_ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            "tracking_number": tracking.0,
            "shipping_provider": crate::shop::provider_name(&tracking.1),
            "shipping_provider_id": tracking.1,
            "is_on_hold_order": self.is_on_hold(),
            "cancel_reason": self.cancel_reason,
            "cancellation_initiator": self.cancellation_initiator,
            "rts_sla_time": rts_sla,
            "shipping_due_time": if rts_sla > 0 { rts_sla + 86400 } else { 0 },
            "warehouse_id": self.warehouse_id,
            "payment": {
                "currency": CURRENCY,
                "sub_total": money(sub_total),
                "shipping_fee": money(self.shipping_fee),
                "tax": money(tax),
                "total_amount": money(sub_total + self.shipping_fee),
                "original_total_product_price": money(self.line_items.iter().map(|l| l.original_price).sum()),
                "seller_discount": money(self.line_items.iter().map(|l| l.original_price - l.sale_price).sum()),
            },
            "recipient_address": address,
            "line_items": line_items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_renders_decimal_strings() {
        assert_eq!(money(1250), "12.50");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-199), "-1.99");
    }

    #[test]
    fn statuses_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("SHIPPED"), None);
    }
}

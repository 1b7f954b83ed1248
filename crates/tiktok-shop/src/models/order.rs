//! Orders, line items, payments and addresses as returned by order search and order detail (202309).

use super::money;
use super::open_enum;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

open_enum!(
    /// Order status.
    OrderStatus {
        Unpaid = "UNPAID",
        OnHold = "ON_HOLD",
        AwaitingShipment = "AWAITING_SHIPMENT",
        PartiallyShipping = "PARTIALLY_SHIPPING",
        AwaitingCollection = "AWAITING_COLLECTION",
        InTransit = "IN_TRANSIT",
        Delivered = "DELIVERED",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
);

open_enum!(
    /// Who ships: TikTok's logistics or the seller's own carrier.
    ShippingType { Tiktok = "TIKTOK", Seller = "SELLER" }
);

open_enum!(
    FulfillmentType { BySeller = "FULFILLMENT_BY_SELLER", ByTiktok = "FULFILLMENT_BY_TIKTOK" }
);

open_enum!(
    /// Per-line-item package status.
    PackageItemStatus {
        ToFulfill = "TO_FULFILL",
        Processing = "PROCESSING",
        Fulfilling = "FULFILLING",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// 64-bit id as a string (JavaScript cannot hold it as a number).
    pub id: String,
    pub status: OrderStatus,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
    #[serde(default)]
    pub paid_time: Option<i64>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub buyer_message: Option<String>,
    #[serde(default)]
    pub shipping_type: Option<ShippingType>,
    #[serde(default)]
    pub fulfillment_type: Option<FulfillmentType>,
    #[serde(default)]
    pub delivery_option_id: Option<String>,
    #[serde(default)]
    pub packages: Vec<PackageRef>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub shipping_provider: Option<String>,
    #[serde(default)]
    pub shipping_provider_id: Option<String>,
    #[serde(default)]
    pub is_on_hold_order: Option<bool>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub cancellation_initiator: Option<String>,
    #[serde(default)]
    pub rts_sla_time: Option<i64>,
    #[serde(default)]
    pub shipping_due_time: Option<i64>,
    #[serde(default)]
    pub warehouse_id: Option<String>,
    #[serde(default)]
    pub payment: Option<Payment>,
    #[serde(default)]
    pub recipient_address: Option<Address>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    pub id: String,
}

/// Order amounts. All are exact decimals in `currency`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Payment {
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub sub_total: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub shipping_fee: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub seller_discount: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub platform_discount: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub total_amount: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub original_total_product_price: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub original_shipping_fee: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub tax: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub name: Option<String>,
    /// Masked by TikTok (`(+1)213*****82`).
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub full_address: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub address_line3: Option<String>,
    #[serde(default)]
    pub address_line4: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub district_info: Vec<DistrictInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DistrictInfo {
    #[serde(default)]
    pub address_level: Option<String>,
    #[serde(default)]
    pub address_level_name: Option<String>,
    #[serde(default)]
    pub address_name: Option<String>,
}

/// One line item is one unit: the API has no quantity field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: String,
    #[serde(default)]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub sku_name: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub original_price: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "money::deserialize_opt",
        serialize_with = "money::serialize_opt"
    )]
    pub sale_price: Option<Decimal>,
    #[serde(default)]
    pub display_status: Option<OrderStatus>,
    #[serde(default)]
    pub package_id: Option<String>,
    #[serde(default)]
    pub package_status: Option<PackageItemStatus>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
}

/// Filters of `POST /order/202309/orders/search` (the JSON body). All optional; `None` is not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrderSearchFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_status: Option<OrderStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time_ge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time_lt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_ge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_lt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_type: Option<ShippingType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_buyer_request_cancel: Option<bool>,
}

impl OrderSearchFilter {
    /// Orders updated in `[from, to)` (Unix seconds): the incremental-sync window.
    pub fn updated_between(from: i64, to: i64) -> Self {
        Self {
            update_time_ge: Some(from),
            update_time_lt: Some(to),
            ..Self::default()
        }
    }
}

open_enum!(SortField { CreateTime = "create_time", UpdateTime = "update_time" });
open_enum!(SortOrder { Asc = "ASC", Desc = "DESC" });

/// Paging and sorting of an order search (query parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearchPage {
    /// 1..=100, checked before sending.
    pub page_size: u32,
    pub page_token: Option<String>,
    pub sort_field: Option<SortField>,
    pub sort_order: Option<SortOrder>,
}

impl OrderSearchPage {
    pub fn first(page_size: u32) -> Self {
        Self {
            page_size,
            page_token: None,
            sort_field: None,
            sort_order: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSearchResponse {
    /// Empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub orders: Vec<Order>,
}

impl OrderSearchResponse {
    /// The token for the next page, or `None` when this was the last one.
    pub fn next_token(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetailResponse {
    #[serde(default)]
    pub orders: Vec<Order>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn order_decodes_tolerantly() {
        let json = r#"{
            "id":"576684019603311365","status":"AWAITING_SHIPMENT","create_time":1664095000,
            "update_time":1664095610,"shipping_type":"TIKTOK","fulfillment_type":"FULFILLMENT_BY_SELLER",
            "packages":[{"id":"1152921504606846976"}],"brand_new_field":{"x":[1,2]},
            "payment":{"currency":"USD","sub_total":"19.98","shipping_fee":"0","total_amount":"21.57","tax":"1.59","mystery":"1"},
            "recipient_address":{"name":"A B","phone_number":"(+1)213*****82","postal_code":"90001","district_info":[{"address_level":"L0","address_name":"United States"}]},
            "line_items":[
              {"id":"li1","sku_id":"s1","sale_price":"9.99","original_price":"12.00","package_status":"TO_FULFILL","display_status":"AWAITING_SHIPMENT"},
              {"id":"li2","sale_price":"9.99","package_status":"TELEPORTING","display_status":"SOMETHING_NEW"}
            ]
        }"#;
        let o: Order = serde_json::from_str(json).unwrap();
        assert_eq!(o.status, OrderStatus::AwaitingShipment);
        let p = o.payment.as_ref().unwrap();
        assert_eq!(p.total_amount, Some(Decimal::from_str("21.57").unwrap()));
        assert_eq!(
            p.sub_total.unwrap() + p.tax.unwrap(),
            Decimal::from_str("21.57").unwrap()
        );
        assert_eq!(
            o.line_items[1].package_status,
            Some(PackageItemStatus::Other("TELEPORTING".into()))
        );
        assert_eq!(
            o.line_items[1].display_status.as_ref().map(|s| s.as_str()),
            Some("SOMETHING_NEW")
        );
        // Round trip keeps unknown enum values verbatim.
        let back = serde_json::to_string(&o).unwrap();
        assert!(
            back.contains("\"TELEPORTING\"") && back.contains("\"21.57\""),
            "{back}"
        );
        let again: Order = serde_json::from_str(&back).unwrap();
        assert_eq!(again, o);

        let unknown: Order =
            serde_json::from_str(r#"{"id":"1","status":"AWAITING_TELEPORT"}"#).unwrap();
        assert_eq!(
            unknown.status,
            OrderStatus::Other("AWAITING_TELEPORT".into())
        );
    }

    #[test]
    fn filter_serializes_only_what_is_set() {
        let f = OrderSearchFilter::updated_between(10, 20);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"update_time_ge":10,"update_time_lt":20}"#
        );
        assert_eq!(
            serde_json::to_string(&OrderSearchFilter::default()).unwrap(),
            "{}"
        );
        let r: OrderSearchResponse =
            serde_json::from_str(r#"{"next_page_token":"","orders":[]}"#).unwrap();
        assert_eq!(r.next_token(), None);
    }
}

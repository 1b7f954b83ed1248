//! Webhook pushes (typed events; unknown types kept raw) and webhook registration bodies.

use super::open_enum;
use super::order::OrderStatus;
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// The envelope of every push. `tts_notification_id` is the dedupe key (there is no timestamp in the
/// signature, so replays are possible and must be idempotent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookNotification {
    #[serde(rename = "type")]
    pub event_type: i64,
    #[serde(default)]
    pub tts_notification_id: Option<String>,
    #[serde(default)]
    pub shop_id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl WebhookNotification {
    /// Parses a raw (already verified) body.
    pub fn parse(raw_body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(raw_body).map_err(|e| Error::WebhookPayload {
            detail: e.to_string(),
        })
    }

    /// The typed event. Unknown types, and known types whose data does not match, are kept raw.
    pub fn event(&self) -> WebhookEvent {
        fn typed<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Option<T> {
            serde_json::from_value(v.clone()).ok()
        }
        let d = &self.data;
        let ev = match self.event_type {
            1 => typed(d).map(WebhookEvent::OrderStatusChange),
            3 => typed(d).map(WebhookEvent::RecipientAddressUpdate),
            4 => typed(d).map(WebhookEvent::PackageUpdate),
            6 => typed(d).map(WebhookEvent::SellerDeauthorization),
            7 => typed(d).map(WebhookEvent::UpcomingAuthorizationExpiration),
            11 => typed(d).map(WebhookEvent::CancellationStatusChange),
            12 => typed(d).map(WebhookEvent::ReturnStatusChange),
            _ => None,
        };
        ev.unwrap_or_else(|| WebhookEvent::Unknown {
            event_type: self.event_type,
            data: self.data.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    OrderStatusChange(OrderStatusChange),
    RecipientAddressUpdate(RecipientAddressUpdate),
    PackageUpdate(PackageUpdate),
    SellerDeauthorization(SellerDeauthorization),
    UpcomingAuthorizationExpiration(UpcomingAuthorizationExpiration),
    CancellationStatusChange(CancellationStatusChange),
    ReturnStatusChange(ReturnStatusChange),
    /// A type this version does not know (or whose data did not match), kept verbatim.
    Unknown {
        event_type: i64,
        data: serde_json::Value,
    },
}

/// Order status in a webhook: like [`OrderStatus`] but the cancel state arrives as `CANCEL` or
/// `CANCELLED` depending on the source; both map to `Cancelled`.
fn de_webhook_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OrderStatus, D::Error> {
    let s = String::deserialize(d)?;
    Ok(if s == "CANCEL" {
        OrderStatus::Cancelled
    } else {
        OrderStatus::from_wire(&s)
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderStatusChange {
    pub order_id: String,
    #[serde(deserialize_with = "de_webhook_status")]
    pub order_status: OrderStatus,
    #[serde(default)]
    pub is_on_hold_order: Option<bool>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecipientAddressUpdate {
    pub order_id: String,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PackageUpdate {
    #[serde(default)]
    pub sc_type: Option<String>,
    #[serde(default)]
    pub role_type: Option<String>,
    #[serde(default)]
    pub package_list: Vec<PackageUpdateItem>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PackageUpdateItem {
    pub package_id: String,
    #[serde(default)]
    pub order_id_list: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SellerDeauthorization {
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UpcomingAuthorizationExpiration {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub expiration_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CancellationStatusChange {
    pub order_id: String,
    #[serde(default)]
    pub cancellations_role: Option<String>,
    #[serde(default)]
    pub cancel_status: Option<String>,
    #[serde(default)]
    pub cancel_id: Option<String>,
    #[serde(default)]
    pub create_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReturnStatusChange {
    pub order_id: String,
    #[serde(default)]
    pub return_role: Option<String>,
    #[serde(default)]
    pub return_type: Option<String>,
    #[serde(default)]
    pub return_status: Option<String>,
    #[serde(default)]
    pub return_id: Option<String>,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

open_enum!(
    /// Event names used by webhook registration.
    WebhookEventType {
        OrderStatusChange = "ORDER_STATUS_CHANGE",
        RecipientAddressUpdate = "RECIPIENT_ADDRESS_UPDATE",
        PackageUpdate = "PACKAGE_UPDATE",
        SellerDeauthorization = "SELLER_DEAUTHORIZATION",
        UpcomingAuthorizationExpiration = "UPCOMING_AUTHORIZATION_EXPIRATION",
        CancellationStatusChange = "CANCELLATION_STATUS_CHANGE",
        ReturnStatusChange = "RETURN_STATUS_CHANGE",
    }
);

/// Body of `PUT /event/202309/webhooks`. Field order matches the published vector V3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRegistration {
    pub event_type: WebhookEventType,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct WebhookDeletion<'a> {
    pub event_type: &'a WebhookEventType,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookList {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub webhooks: Vec<WebhookInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookInfo {
    pub event_type: WebhookEventType,
    pub address: String,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> WebhookEvent {
        WebhookNotification::parse(s.as_bytes()).unwrap().event()
    }

    #[test]
    fn typed_events() {
        let vector = r#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
        let n = WebhookNotification::parse(vector.as_bytes()).unwrap();
        assert_eq!(n.shop_id.as_deref(), Some("7494726673780148744"));
        match n.event() {
            WebhookEvent::OrderStatusChange(c) => {
                assert_eq!(c.order_id, "576684019603311365");
                assert_eq!(c.order_status, OrderStatus::AwaitingShipment);
                assert_eq!(c.update_time, Some(1664095610));
            }
            other => panic!("{other:?}"),
        }
        for s in ["CANCEL", "CANCELLED"] {
            let body = format!(r#"{{"type":1,"data":{{"order_id":"1","order_status":"{s}"}}}}"#);
            match parse(&body) {
                WebhookEvent::OrderStatusChange(c) => {
                    assert_eq!(c.order_status, OrderStatus::Cancelled)
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            parse(r#"{"type":3,"data":{"order_id":"1","update_time":5}}"#),
            WebhookEvent::RecipientAddressUpdate(_)
        ));
        match parse(
            r#"{"type":4,"data":{"sc_type":"x","package_list":[{"package_id":"p","order_id_list":["o1","o2"]}]}}"#,
        ) {
            WebhookEvent::PackageUpdate(p) => {
                assert_eq!(p.package_list[0].order_id_list, vec!["o1", "o2"])
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":6,"data":{"message":"bye"}}"#),
            WebhookEvent::SellerDeauthorization(_)
        ));
        match parse(r#"{"type":7,"data":{"message":"soon","expiration_time":1700000000}}"#) {
            WebhookEvent::UpcomingAuthorizationExpiration(u) => {
                assert_eq!(u.expiration_time, Some(1700000000))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":11,"data":{"order_id":"1","cancel_status":"x","cancel_id":"c"}}"#),
            WebhookEvent::CancellationStatusChange(_)
        ));
        assert!(matches!(
            parse(r#"{"type":12,"data":{"order_id":"1","return_id":"r"}}"#),
            WebhookEvent::ReturnStatusChange(_)
        ));
        match parse(r#"{"type":99,"data":{"whatever":true}}"#) {
            WebhookEvent::Unknown { event_type, data } => {
                assert_eq!(event_type, 99);
                assert_eq!(data["whatever"], true);
            }
            other => panic!("{other:?}"),
        }
        // Known type with mismatching data is kept raw rather than dropped.
        assert!(matches!(
            parse(r#"{"type":1,"data":{"nope":1}}"#),
            WebhookEvent::Unknown { event_type: 1, .. }
        ));
        assert!(matches!(
            WebhookNotification::parse(b"not json"),
            Err(Error::WebhookPayload { .. })
        ));
    }

    #[test]
    fn registration_body_matches_vector_v3() {
        let r = WebhookRegistration {
            event_type: WebhookEventType::PackageUpdate,
            address: "https://partner.tiktokshop.com".into(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}"#
        );
    }
}

//! Fulfillment and logistics: ship package (single/batch), mark shipped with the seller's carrier,
//! update shipping info, package detail, shipping documents, shipping providers.

use super::open_enum;
use serde::{Deserialize, Serialize};

open_enum!(HandoverMethod { Pickup = "PICKUP", DropOff = "DROP_OFF" });

open_enum!(
    DocumentType {
        ShippingLabel = "SHIPPING_LABEL",
        PackingSlip = "PACKING_SLIP",
        ShippingLabelAndPackingSlip = "SHIPPING_LABEL_AND_PACKING_SLIP",
    }
);

open_enum!(DocumentSize { A6 = "A6", A5 = "A5" });
open_enum!(DocumentFormat { Pdf = "PDF", Zpl = "ZPL" });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupSlot {
    pub start_time: i64,
    pub end_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfShipment {
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

/// Body of `POST /fulfillment/202309/packages/{package_id}/ship`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipPackageRequest {
    pub handover_method: HandoverMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_slot: Option<PickupSlot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_shipment: Option<SelfShipment>,
}

/// One package of a batch ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchShipPackage {
    pub id: String,
    pub handover_method: HandoverMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_slot: Option<PickupSlot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_shipment: Option<SelfShipment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BatchShipRequest<'a> {
    pub packages: &'a [BatchShipPackage],
}

/// `data` of a batch call: `code: 0` overall, failures per item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchShipResponse {
    #[serde(default)]
    pub errors: Vec<BatchItemError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<BatchItemErrorDetail>,
}

impl BatchItemError {
    /// The business rule this item failed on, if it is a known one.
    pub fn rule(&self) -> Option<crate::error::BusinessRule> {
        crate::error::BusinessRule::from_code(self.code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchItemErrorDetail {
    #[serde(default)]
    pub package_id: Option<String>,
}

/// Body of `POST /fulfillment/202309/orders/{order_id}/packages` (seller ships with its own carrier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkShippedRequest {
    pub tracking_number: String,
    pub shipping_provider_id: String,
    /// Empty means the whole order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_line_item_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkShippedResponse {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_line_item_ids: Vec<String>,
    #[serde(default)]
    pub package_id: Option<String>,
    #[serde(default)]
    pub warning: Option<serde_json::Value>,
}

/// Body of `POST /fulfillment/202309/orders/{order_id}/shipping_info/update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateShippingInfoRequest {
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

open_enum!(
    PackageStatus {
        Processing = "PROCESSING",
        Fulfilling = "FULFILLING",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDetail {
    pub package_id: String,
    #[serde(default)]
    pub package_status: Option<PackageStatus>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub shipping_provider_id: Option<String>,
    #[serde(default)]
    pub shipping_provider_name: Option<String>,
    #[serde(default)]
    pub orders: Vec<PackageOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageOrder {
    pub id: String,
    #[serde(default)]
    pub skus: Vec<serde_json::Value>,
}

/// Query of `GET .../packages/{package_id}/shipping_documents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingDocumentQuery {
    pub document_type: DocumentType,
    pub document_size: Option<DocumentSize>,
    pub document_format: Option<DocumentFormat>,
}

impl Default for ShippingDocumentQuery {
    fn default() -> Self {
        Self {
            document_type: DocumentType::ShippingLabel,
            document_size: Some(DocumentSize::A6),
            document_format: Some(DocumentFormat::Pdf),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingDocument {
    /// Valid for 24 hours.
    pub doc_url: String,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingProvider {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShippingProvidersResponse {
    #[serde(default)]
    pub shipping_providers: Vec<ShippingProvider>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_match_the_wire() {
        let r = ShipPackageRequest {
            handover_method: HandoverMethod::DropOff,
            pickup_slot: None,
            self_shipment: Some(SelfShipment {
                tracking_number: "T1".into(),
                shipping_provider_id: "P1".into(),
            }),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"handover_method":"DROP_OFF","self_shipment":{"tracking_number":"T1","shipping_provider_id":"P1"}}"#
        );
        let m = MarkShippedRequest {
            tracking_number: "T".into(),
            shipping_provider_id: "P".into(),
            order_line_item_ids: vec![],
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"tracking_number":"T","shipping_provider_id":"P"}"#
        );
        let b: BatchShipResponse = serde_json::from_str(
            r#"{"errors":[{"code":21011044,"message":"on hold","detail":{"package_id":"p9"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            b.errors[0].rule(),
            Some(crate::error::BusinessRule::OrderOnHold)
        );
        assert_eq!(
            b.errors[0]
                .detail
                .as_ref()
                .and_then(|d| d.package_id.as_deref()),
            Some("p9")
        );
    }
}

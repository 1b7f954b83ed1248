//! Contract: ship (single and batch), duplicate ship, ON_HOLD, cancelled orders, SELLER shipping (mark
//! shipped + update shipping info and its 72-hour rule), package status advancing, label URL and PDF.
mod contract_common;

use contract_common::{quiet_config, start};
use tiktok_sandbox::{OrderSpec, OrderStatus as SbStatus, ShippingType as SbShipping};
use tiktok_shop::models::fulfillment::{
    BatchShipPackage, DocumentFormat, DocumentSize, DocumentType, HandoverMethod,
    MarkShippedRequest, PackageStatus, ShipPackageRequest, ShippingDocumentQuery,
    UpdateShippingInfoRequest,
};
use tiktok_shop::models::order::OrderStatus;
use tiktok_shop::{BusinessRule, Error, ErrorKind};

const ROYAL_MAIL: &str = "6617675021119438849";
const EVRI: &str = "6617675021119438850";

fn spec(status: SbStatus, shipping: SbShipping) -> OrderSpec {
    OrderSpec {
        status: Some(status),
        shipping_type: Some(shipping),
        line_items: Some(2),
        ..OrderSpec::default()
    }
}

fn pickup() -> ShipPackageRequest {
    ShipPackageRequest {
        handover_method: HandoverMethod::Pickup,
        pickup_slot: None,
        self_shipment: None,
    }
}

fn label_query() -> ShippingDocumentQuery {
    ShippingDocumentQuery {
        document_type: DocumentType::ShippingLabel,
        document_size: Some(DocumentSize::A6),
        document_format: Some(DocumentFormat::Pdf),
    }
}

#[tokio::test]
async fn ship_advances_package_and_order_and_serves_a_pdf_label() {
    let mut cfg = quiet_config(10);
    cfg.package_step_secs = 3600;
    let h = start(cfg).await;
    let order =
        h.sb.create_order(spec(SbStatus::AwaitingShipment, SbShipping::Tiktok));
    let pkg = h.sb.package_ids(&order)[0].clone();

    h.shop.ship_package(&pkg, &pickup()).await.expect("ship");
    let o = h.shop.get_orders(&[order.clone()]).await.expect("detail");
    assert_eq!(o[0].status, OrderStatus::AwaitingCollection);
    let d = h.shop.package_detail(&pkg).await.expect("package detail");
    assert_eq!(d.package_id, pkg);
    assert_eq!(d.package_status, Some(PackageStatus::Processing));
    assert!(d.tracking_number.as_deref().is_some_and(|t| !t.is_empty()));
    assert!(d.orders.iter().any(|po| po.id == order));

    // Label: a URL on the sandbox and a real PDF behind it, same tracking number as the package.
    let (doc, bytes) = h
        .shop
        .download_shipping_document(&pkg, &label_query())
        .await
        .expect("label");
    assert!(doc.doc_url.starts_with(h.sb.base_url()), "{}", doc.doc_url);
    assert_eq!(doc.tracking_number, d.tracking_number);
    assert!(bytes.starts_with(b"%PDF"), "label is a pdf");
    assert_eq!(h.stats().labels_served, 1);

    // The package moves on with time: in transit, then delivered.
    h.advance_secs(3600).await;
    let d = h.shop.package_detail(&pkg).await.expect("detail 2");
    assert_eq!(d.package_status, Some(PackageStatus::Fulfilling));
    h.advance_secs(3600).await;
    let d = h.shop.package_detail(&pkg).await.expect("detail 3");
    assert_eq!(d.package_status, Some(PackageStatus::Completed));
    let o = h.shop.get_orders(&[order]).await.expect("detail");
    assert_eq!(o[0].status, OrderStatus::Delivered);
    h.assert_clean();
}

#[tokio::test]
async fn duplicate_ship_is_a_business_rule_error_and_counted_once() {
    let h = start(quiet_config(11)).await;
    let order =
        h.sb.create_order(spec(SbStatus::AwaitingShipment, SbShipping::Tiktok));
    let pkg = h.sb.package_ids(&order)[0].clone();
    h.shop.ship_package(&pkg, &pickup()).await.expect("ship");
    let err = h.shop.ship_package(&pkg, &pickup()).await.expect_err("dup");
    match &err {
        Error::BusinessRule { rule, code, .. } => {
            assert_eq!(*rule, BusinessRule::Other);
            assert_eq!(*code, tiktok_sandbox::codes::PACKAGE_ALREADY_SHIPPED);
        }
        other => panic!("duplicate ship gave {other:?}"),
    }
    assert!(!err.is_transient(), "a duplicate ship must not be retried");
    let s = h.stats();
    assert_eq!(s.duplicate_ships, 1, "the one we made on purpose");
    assert_eq!(s.calls.get("packages.ship"), Some(&2), "no hidden retry");
    assert_eq!(s.rejected_signatures, 0);
}

#[tokio::test]
async fn on_hold_is_transient_and_ships_after_release() {
    let mut cfg = quiet_config(12);
    cfg.on_hold_secs = 3600;
    let h = start(cfg).await;
    let order =
        h.sb.create_order(spec(SbStatus::OnHold, SbShipping::Tiktok));
    let pkg = h.sb.package_ids(&order)[0].clone();
    let err = h
        .shop
        .ship_package(&pkg, &pickup())
        .await
        .expect_err("held");
    assert!(
        matches!(
            err,
            Error::BusinessRule {
                rule: BusinessRule::OrderOnHold,
                code: 21011044,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::BusinessRule);
    assert!(
        err.is_transient(),
        "ON_HOLD resolves by itself: retry later"
    );
    let o = h.shop.get_orders(&[order.clone()]).await.expect("detail");
    assert_eq!(o[0].status, OrderStatus::OnHold);
    assert_eq!(o[0].is_on_hold_order, Some(true));

    h.advance_secs(3601).await;
    h.shop
        .ship_package(&pkg, &pickup())
        .await
        .expect("released");
    h.assert_clean();
}

#[tokio::test]
async fn cancelled_order_cannot_ship() {
    let h = start(quiet_config(13)).await;
    // The buyer cancels a minute after ordering (OrderSpec's status does not create cancelled orders).
    let order = h.sb.create_order(OrderSpec {
        cancel_after_secs: Some(60),
        ..spec(SbStatus::AwaitingShipment, SbShipping::Tiktok)
    });
    h.advance_secs(61).await;
    let o = h.shop.get_orders(&[order.clone()]).await.expect("detail");
    assert_eq!(o[0].status, OrderStatus::Cancelled);
    let pkg = h.sb.package_ids(&order)[0].clone();
    let err = h
        .shop
        .ship_package(&pkg, &pickup())
        .await
        .expect_err("cancelled");
    match &err {
        Error::BusinessRule { rule, code, .. } => {
            assert_eq!(*rule, BusinessRule::Other);
            assert_eq!(*code, tiktok_sandbox::codes::ORDER_CANCELLED);
        }
        other => panic!("cancelled ship gave {other:?}"),
    }
    assert!(!err.is_transient());
    h.assert_clean();
}

#[tokio::test]
async fn batch_ship_reports_per_package_failures() {
    let h = start(quiet_config(14)).await;
    let ok1 =
        h.sb.create_order(spec(SbStatus::AwaitingShipment, SbShipping::Tiktok));
    let ok2 =
        h.sb.create_order(spec(SbStatus::AwaitingShipment, SbShipping::Tiktok));
    let held =
        h.sb.create_order(spec(SbStatus::OnHold, SbShipping::Tiktok));
    let pkgs: Vec<String> = [&ok1, &ok2, &held]
        .iter()
        .map(|o| h.sb.package_ids(o)[0].clone())
        .collect();
    let batch: Vec<BatchShipPackage> = pkgs
        .iter()
        .map(|id| BatchShipPackage {
            id: id.clone(),
            handover_method: HandoverMethod::DropOff,
            pickup_slot: None,
            self_shipment: None,
        })
        .collect();
    let r = h
        .shop
        .ship_packages(&batch)
        .await
        .expect("batch call succeeds");
    assert_eq!(r.errors.len(), 1, "{r:?}");
    let e = &r.errors[0];
    assert_eq!(e.rule(), Some(BusinessRule::OrderOnHold));
    assert_eq!(
        e.detail.as_ref().and_then(|d| d.package_id.as_deref()),
        Some(pkgs[2].as_str())
    );
    let o = h.shop.get_orders(&[ok1, ok2, held]).await.expect("detail");
    let st: Vec<OrderStatus> = o.into_iter().map(|o| o.status).collect();
    assert_eq!(
        st,
        vec![
            OrderStatus::AwaitingCollection,
            OrderStatus::AwaitingCollection,
            OrderStatus::OnHold
        ]
    );
    assert_eq!(h.stats().calls.get("packages.batch_ship"), Some(&1));
    h.assert_clean();
}

#[tokio::test]
async fn seller_shipping_mark_shipped_then_update_within_72_hours_only() {
    let h = start(quiet_config(15)).await;
    let order =
        h.sb.create_order(spec(SbStatus::AwaitingShipment, SbShipping::Seller));
    let detail = h.shop.get_orders(&[order.clone()]).await.expect("detail");
    let items: Vec<String> = detail[0].line_items.iter().map(|l| l.id.clone()).collect();
    let r = h
        .shop
        .mark_package_shipped(
            &order,
            &MarkShippedRequest {
                tracking_number: "RM123456789GB".into(),
                shipping_provider_id: ROYAL_MAIL.into(),
                order_line_item_ids: items.clone(),
            },
        )
        .await
        .expect("mark shipped");
    assert_eq!(r.order_id.as_deref(), Some(order.as_str()));
    let pkg = r.package_id.clone().expect("package id");
    let mut got_items = r.order_line_item_ids.clone();
    got_items.sort();
    let mut want = items;
    want.sort();
    assert_eq!(got_items, want);
    let d = h.shop.package_detail(&pkg).await.expect("package");
    assert_eq!(d.tracking_number.as_deref(), Some("RM123456789GB"));
    assert_eq!(d.shipping_provider_id.as_deref(), Some(ROYAL_MAIL));

    let fix = UpdateShippingInfoRequest {
        tracking_number: "EV0000000001".into(),
        shipping_provider_id: EVRI.into(),
    };
    h.shop
        .update_shipping_info(&order, &fix)
        .await
        .expect("update within 72 h");
    let d = h.shop.package_detail(&pkg).await.expect("package");
    assert_eq!(d.tracking_number.as_deref(), Some("EV0000000001"));
    assert_eq!(d.shipping_provider_id.as_deref(), Some(EVRI));

    h.advance_secs(73 * 3600).await;
    let err = h
        .shop
        .update_shipping_info(&order, &fix)
        .await
        .expect_err("too late");
    assert!(
        matches!(
            err,
            Error::BusinessRule {
                rule: BusinessRule::TrackingUpdateWindowClosed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    h.assert_clean();
}

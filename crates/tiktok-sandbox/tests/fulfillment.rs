//! Fulfillment over HTTP: ship, duplicate ship, ON_HOLD, labels, SELLER shipping, batch ship, the
//! 72-hour tracking rule, and buyer cancellations that land while an order waits.
mod common;

use common::{Req, quiet_config, start};
use tiktok_sandbox::{OrderSpec, OrderStatus, ShippingType, codes};

const DETAIL: &str = "/order/202309/orders";

#[tokio::test]
async fn ship_duplicate_on_hold_and_label() {
    let mut c = quiet_config();
    c.on_hold_secs = 3600;
    let h = start(c).await;
    let order = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        line_items: Some(2),
        ..OrderSpec::default()
    });
    let pkg = h.sb.package_ids(&order)[0].clone();
    let ship_path = format!("/fulfillment/202309/packages/{pkg}/ship");
    let r = h
        .send(Req::new("POST", &ship_path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let r = h
        .send(Req::new("POST", &ship_path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.code(), codes::PACKAGE_ALREADY_SHIPPED, "{}", r.text);
    let detail = h.send(Req::new("GET", DETAIL).q("ids", &order)).await;
    assert_eq!(
        detail.json["data"]["orders"][0]["status"],
        "AWAITING_COLLECTION"
    );

    let doc_path = format!("/fulfillment/202309/packages/{pkg}/shipping_documents");
    let r = h
        .send(
            Req::new("GET", &doc_path)
                .q("document_type", "SHIPPING_LABEL")
                .q("document_size", "A6")
                .q("document_format", "PDF"),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let url = r.json["data"]["doc_url"]
        .as_str()
        .expect("doc_url")
        .to_owned();
    assert!(url.starts_with(h.sb.base_url()));
    let pdf = h.http.get(&url).send().await.expect("label");
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF-"), "label is a PDF");
    assert!(bytes.ends_with(b"%%EOF\n"));

    let held = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::OnHold),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let held_pkg = h.sb.package_ids(&held)[0].clone();
    let held_path = format!("/fulfillment/202309/packages/{held_pkg}/ship");
    let r = h
        .send(Req::new("POST", &held_path).body(r#"{"handover_method":"DROP_OFF"}"#))
        .await;
    assert_eq!(r.code(), codes::ORDER_ON_HOLD);
    h.clock.advance_secs(3600);
    let r = h
        .send(Req::new("POST", &held_path).body(r#"{"handover_method":"DROP_OFF"}"#))
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);

    let s = h.sb.stats();
    assert_eq!(s.ship_calls.get(&pkg), Some(&2));
    assert_eq!(s.ship_calls.get(&held_pkg), Some(&2));
    assert_eq!(s.duplicate_ships, 1);
    assert_eq!(s.labels_served, 1);
}

#[tokio::test]
async fn seller_shipping_and_buyer_cancel_while_queued() {
    let h = start(quiet_config()).await;
    let order = h.sb.create_order(OrderSpec {
        shipping_type: Some(ShippingType::Seller),
        cancel_after_secs: Some(120),
        ..OrderSpec::default()
    });
    let pkg = h.sb.package_ids(&order)[0].clone();
    let ship_path = format!("/fulfillment/202309/packages/{pkg}/ship");
    // SELLER shipping without self_shipment is refused.
    let r = h
        .send(Req::new("POST", &ship_path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.code(), codes::SHIPPING_TYPE_MISMATCH);
    // The buyer cancels while the order waits in our queue.
    h.clock.advance_secs(120);
    let body = r#"{"self_shipment":{"tracking_number":"RM1234GB","shipping_provider_id":"6617675021119438849"}}"#;
    let r = h.send(Req::new("POST", &ship_path).body(body)).await;
    assert_eq!(r.code(), codes::ORDER_CANCELLED, "{}", r.text);
    let d = h.send(Req::new("GET", DETAIL).q("ids", &order)).await;
    assert_eq!(
        d.json["data"]["orders"][0]["cancellation_initiator"],
        "BUYER"
    );

    let providers = h
        .send(Req::new(
            "GET",
            "/logistics/202309/delivery_options/7091146663229654785/shipping_providers",
        ))
        .await;
    assert_eq!(providers.code(), 0);
    assert!(
        providers.json["data"]["shipping_providers"]
            .as_array()
            .is_some_and(|p| p.len() == 3)
    );
}

#[tokio::test]
async fn batch_ship_reports_per_package_errors_and_tracking_update_window() {
    let h = start(quiet_config()).await;
    let ok = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let held = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::OnHold),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let (p_ok, p_held) = (
        h.sb.package_ids(&ok)[0].clone(),
        h.sb.package_ids(&held)[0].clone(),
    );
    let body = format!(
        r#"{{"packages":[{{"id":"{p_ok}","handover_method":"PICKUP"}},{{"id":"{p_held}","handover_method":"PICKUP"}}]}}"#
    );
    let r = h
        .send(Req::new("POST", "/fulfillment/202309/packages/ship").body(&body))
        .await;
    assert_eq!(
        r.code(),
        0,
        "batch is code 0 with per-item errors: {}",
        r.text
    );
    let errors = r.json["data"]["errors"].as_array().expect("errors").clone();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], codes::ORDER_ON_HOLD);
    assert_eq!(errors[0]["detail"]["package_id"], p_held.as_str());

    // SELLER shipping: mark shipped with the seller's carrier, update tracking within 72 h only.
    let seller = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Seller),
        ..OrderSpec::default()
    });
    let mark = format!("/fulfillment/202309/orders/{seller}/packages");
    let r = h
        .send(Req::new("POST", &mark).body(r#"{"tracking_number":"RM1GB","shipping_provider_id":"6617675021119438850","order_line_item_ids":[]}"#))
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let update = format!("/fulfillment/202309/orders/{seller}/shipping_info/update");
    let body = r#"{"tracking_number":"RM2GB","shipping_provider_id":"6617675021119438850"}"#;
    assert_eq!(h.send(Req::new("POST", &update).body(body)).await.code(), 0);
    h.clock.advance_secs(72 * 3600 + 1);
    assert_eq!(
        h.send(Req::new("POST", &update).body(body)).await.code(),
        codes::TRACKING_UPDATE_REFUSED
    );
    let pkg = r.json["data"]["package_id"]
        .as_str()
        .expect("package_id")
        .to_owned();
    let d = h
        .send(Req::new(
            "GET",
            &format!("/fulfillment/202309/packages/{pkg}"),
        ))
        .await;
    assert_eq!(d.json["data"]["tracking_number"], "RM2GB");
    assert_eq!(
        d.json["data"]["package_status"], "COMPLETED",
        "72 h later the parcel is delivered"
    );
}

#[tokio::test]
async fn update_time_search_finds_what_changed() {
    let mut c = quiet_config();
    c.initial_orders = 30;
    let h = start(c).await;
    h.clock.advance_secs(10);
    let order = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let since = h.now_secs();
    h.clock.advance_secs(10);
    let pkg = h.sb.package_ids(&order)[0].clone();
    let path = format!("/fulfillment/202309/packages/{pkg}/ship");
    let r = h
        .send(Req::new("POST", &path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.code(), 0);
    let body = format!(r#"{{"update_time_ge":{}}}"#, since + 1);
    let r = h
        .send(
            Req::new("POST", "/order/202309/orders/search")
                .q("page_size", "50")
                .q("sort_field", "update_time")
                .q("sort_order", "ASC")
                .body(&body),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let ids: Vec<&str> = r.json["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(ids, vec![order.as_str()]);
}

#[tokio::test]
async fn a_separate_document_host_serves_labels_and_goes_down_alone() {
    let mut c = quiet_config();
    c.separate_document_host = true;
    let h = start(c).await;
    assert_ne!(h.sb.document_base_url(), h.sb.base_url());
    let order = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let pkg = h.sb.package_ids(&order)[0].clone();
    let ship_path = format!("/fulfillment/202309/packages/{pkg}/ship");
    let r = h
        .send(Req::new("POST", &ship_path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let doc_path = format!("/fulfillment/202309/packages/{pkg}/shipping_documents");
    let doc = Req::new("GET", &doc_path).q("document_type", "SHIPPING_LABEL");
    let r = h.send(doc).await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let url = r.json["data"]["doc_url"].as_str().expect("doc_url").to_owned();
    assert!(url.starts_with(h.sb.document_base_url()), "{url}");
    let token_path = url.strip_prefix(h.sb.document_base_url()).expect("path");
    // The API port no longer serves documents: only the document host does.
    let on_api = h.http.get(format!("{}{token_path}", h.sb.base_url())).send().await.expect("api port");
    assert_ne!(on_api.status().as_u16(), 200);
    let pdf = h.http.get(&url).send().await.expect("label");
    assert_eq!(pdf.status().as_u16(), 200);
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF-"));

    // The document host goes down alone: downloads get 503, the API answers.
    h.sb.add_document_outage(60_000);
    let down = h.http.get(&url).send().await.expect("document host");
    assert_eq!(down.status().as_u16(), 503);
    let r = h.send(Req::new("GET", &doc_path).q("document_type", "SHIPPING_LABEL")).await;
    assert_eq!(r.code(), 0, "the API keeps answering: {}", r.text);
    h.clock.advance_secs(61);
    let back = h.http.get(&url).send().await.expect("document host");
    assert_eq!(back.status().as_u16(), 200);
    let s = h.sb.stats();
    assert_eq!(s.faults_injected.get("document_outage"), Some(&1));
    assert_eq!(s.labels_served, 2);
}

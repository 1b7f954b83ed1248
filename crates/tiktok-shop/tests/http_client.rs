//! The client against a real HTTP peer on 127.0.0.1: signing on the wire, paging, batching, and every
//! endpoint's method/path/body. Error classification is in http_errors.rs.

mod common;

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use common::*;
use futures::TryStreamExt;
use serde_json::json;
use std::sync::Arc;
use tiktok_shop::models::fulfillment::*;
use tiktok_shop::models::order::*;
use tiktok_shop::models::webhook::{WebhookEventType, WebhookRegistration};
use tiktok_shop::{BusinessRule, Error, ErrorKind, ManualClock};

const CIPHER: &str = "ROW_cipher_1";

fn order_json(id: &str) -> serde_json::Value {
    json!({"id": id, "status": "AWAITING_SHIPMENT", "update_time": NOW - 10,
           "payment": {"currency": "USD", "total_amount": "10.01"},
           "line_items": [{"id": format!("{id}-li"), "sale_price": "10.01"}]})
}

#[tokio::test]
async fn authorized_shops_is_signed_and_has_no_cipher() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        assert!(!r.query.contains_key("shop_cipher"));
        ok(json!({"shops": [{"cipher": "ROW_c", "code": "US1", "id": "7001", "name": "Shop", "region": "US", "seller_type": "LOCAL", "new": 1}]}))
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None);
    let shops = c.authorized_shops(&tm).await.unwrap();
    assert_eq!(shops.len(), 1);
    assert_eq!(shops[0].cipher, "ROW_c");
    let r = &rec.all()[0];
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.path, "/authorization/202309/shops");
    assert_eq!(
        r.query.get("timestamp").map(String::as_str),
        Some(NOW.to_string().as_str())
    );
    assert_eq!(r.token.as_deref(), Some("AT-1"));
    assert!(
        !r.query.contains_key("access_token"),
        "the token goes in the header only"
    );
    assert_eq!(r.user_agent.as_deref(), Some("creatorflow-test/1"));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn order_search_follows_page_tokens_and_signs_the_body() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        assert_eq!(r.path, "/order/202309/orders/search");
        assert_eq!(r.query.get("shop_cipher").map(String::as_str), Some(CIPHER));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"update_time_ge": NOW - 3600, "update_time_lt": NOW})
        );
        let (orders, next) = match r.query.get("page_token").map(String::as_str) {
            None => (vec![order_json("1"), order_json("2")], "p2"),
            Some("p2") => (vec![order_json("3"), order_json("4")], "p3"),
            Some("p3") => (vec![order_json("5")], ""),
            Some(other) => panic!("unexpected page token {other}"),
        };
        ok(json!({"orders": orders, "next_page_token": next, "total_count": 5}))
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let filter = OrderSearchFilter::updated_between(NOW - 3600, NOW);
    let mut first = OrderSearchPage::first(2);
    first.sort_field = Some(SortField::UpdateTime);
    first.sort_order = Some(SortOrder::Asc);
    let pages: Vec<OrderSearchResponse> = shop
        .search_orders_pages(filter.clone(), first)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.orders.iter().map(|o| o.id.clone()))
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let total: rust_decimal::Decimal = pages
        .iter()
        .flat_map(|p| &p.orders)
        .filter_map(|o| o.payment.as_ref()?.total_amount)
        .sum();
    assert_eq!(total.to_string(), "50.05");
    let all = rec.all();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(
        |r| r.query.get("page_size").map(String::as_str) == Some("2")
            && r.query.get("sort_field").map(String::as_str) == Some("update_time")
            && r.query.get("sort_order").map(String::as_str) == Some("ASC")
    ));

    for bad in [0, 101] {
        let e = shop
            .search_orders(&filter, &OrderSearchPage::first(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidArgument {
                    name: "page_size",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    assert_eq!(
        rec.all().len(),
        3,
        "invalid page sizes never reach the server"
    );
}

#[tokio::test]
async fn empty_filter_sends_no_body() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        ok(json!({"orders": [], "next_page_token": ""}))
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let r = shop
        .search_orders(&OrderSearchFilter::default(), &OrderSearchPage::first(100))
        .await
        .unwrap();
    assert!(r.orders.is_empty() && r.next_token().is_none());
    assert!(rec.all()[0].body.is_empty(), "never send (or sign) `{{}}`");
}

#[tokio::test]
async fn order_detail_batches_of_fifty() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        assert_eq!(r.path, "/order/202309/orders");
        let ids: Vec<serde_json::Value> = r.query["ids"].split(',').map(order_json).collect();
        ok(json!({"orders": ids}))
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let ids: Vec<String> = (0..120).map(|i| format!("{}", 1000 + i)).collect();
    let orders = shop.get_orders_batched(&ids).await.unwrap();
    assert_eq!(orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), ids);
    let sizes: Vec<usize> = rec
        .all()
        .iter()
        .map(|r| r.query["ids"].split(',').count())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert!(matches!(
        shop.get_orders(&ids[..51]).await,
        Err(Error::InvalidArgument { name: "ids", .. })
    ));
    assert!(matches!(
        shop.get_orders(&[]).await,
        Err(Error::InvalidArgument { name: "ids", .. })
    ));
    let evil = vec!["1/../../x".to_string()];
    assert!(matches!(
        shop.get_orders(&evil).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(rec.all().len(), 3);
}

#[tokio::test]
async fn fulfillment_endpoints_use_the_documented_wire_format() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        let body: serde_json::Value = if r.body.is_empty() { json!(null) } else { serde_json::from_slice(&r.body).unwrap() };
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/fulfillment/202309/packages/PKG1/ship") => {
                assert_eq!(body, json!({"handover_method": "PICKUP", "pickup_slot": {"start_time": 1, "end_time": 2}}));
                ok(json!({}))
            }
            ("POST", "/fulfillment/202309/packages/ship") => {
                assert_eq!(body["packages"].as_array().unwrap().len(), 2);
                ok(json!({"errors": [{"code": 21011007, "message": "after-sale", "detail": {"package_id": "PKG3"}}]}))
            }
            ("POST", "/fulfillment/202309/orders/ORD1/packages") => {
                assert_eq!(body, json!({"tracking_number": "TRK1", "shipping_provider_id": "PRV1", "order_line_item_ids": ["li1"]}));
                ok(json!({"order_id": "ORD1", "order_line_item_ids": ["li1"], "package_id": "PKG9"}))
            }
            ("POST", "/fulfillment/202309/orders/ORD1/shipping_info/update") => {
                assert_eq!(body, json!({"tracking_number": "TRK2", "shipping_provider_id": "PRV1"}));
                ok(json!(null))
            }
            ("GET", "/fulfillment/202309/packages/PKG9") => ok(json!({
                "package_id": "PKG9", "package_status": "FULFILLING", "tracking_number": "TRK1",
                "shipping_provider_id": "PRV1", "orders": [{"id": "ORD1", "skus": [{"id": "s"}]}]})),
            ("GET", "/logistics/202309/delivery_options/DO1/shipping_providers") => {
                ok(json!({"shipping_providers": [{"id": "PRV1", "name": "USPS"}, {"id": "PRV2", "name": "UPS"}]}))
            }
            ("GET", "/event/202309/webhooks") => {
                ok(json!({"total_count": 1, "webhooks": [{"event_type": "ORDER_STATUS_CHANGE", "address": "https://x.example/hook", "create_time": 5}]}))
            }
            ("PUT", "/event/202309/webhooks") => {
                assert_eq!(body, json!({"event_type": "PACKAGE_UPDATE", "address": "https://x.example/hook"}));
                ok(json!({}))
            }
            ("DELETE", "/event/202309/webhooks") => {
                assert_eq!(body, json!({"event_type": "PACKAGE_UPDATE"}));
                ok(json!({}))
            }
            other => panic!("unexpected {other:?}"),
        }
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );

    shop.ship_package(
        "PKG1",
        &ShipPackageRequest {
            handover_method: HandoverMethod::Pickup,
            pickup_slot: Some(PickupSlot {
                start_time: 1,
                end_time: 2,
            }),
            self_shipment: None,
        },
    )
    .await
    .unwrap();
    let batch = [
        BatchShipPackage {
            id: "PKG2".into(),
            handover_method: HandoverMethod::DropOff,
            pickup_slot: None,
            self_shipment: None,
        },
        BatchShipPackage {
            id: "PKG3".into(),
            handover_method: HandoverMethod::DropOff,
            pickup_slot: None,
            self_shipment: None,
        },
    ];
    let br = shop.ship_packages(&batch).await.unwrap();
    assert_eq!(br.errors[0].rule(), Some(BusinessRule::AfterSaleRequest));
    let m = shop
        .mark_package_shipped(
            "ORD1",
            &MarkShippedRequest {
                tracking_number: "TRK1".into(),
                shipping_provider_id: "PRV1".into(),
                order_line_item_ids: vec!["li1".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(m.package_id.as_deref(), Some("PKG9"));
    shop.update_shipping_info(
        "ORD1",
        &UpdateShippingInfoRequest {
            tracking_number: "TRK2".into(),
            shipping_provider_id: "PRV1".into(),
        },
    )
    .await
    .unwrap();
    let p = shop.package_detail("PKG9").await.unwrap();
    assert_eq!(p.package_status, Some(PackageStatus::Fulfilling));
    assert_eq!(p.orders[0].id, "ORD1");
    let providers = shop.shipping_providers("DO1").await.unwrap();
    assert_eq!(
        providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["USPS", "UPS"]
    );
    let hooks = shop.get_webhooks().await.unwrap();
    assert_eq!(
        hooks.webhooks[0].event_type,
        WebhookEventType::OrderStatusChange
    );
    shop.put_webhook(&WebhookRegistration {
        event_type: WebhookEventType::PackageUpdate,
        address: "https://x.example/hook".into(),
    })
    .await
    .unwrap();
    shop.delete_webhook(&WebhookEventType::PackageUpdate)
        .await
        .unwrap();
    assert_eq!(rec.all().len(), 9);
    assert!(
        rec.all()
            .iter()
            .all(|r| r.query.get("shop_cipher").map(String::as_str) == Some(CIPHER))
    );
}

#[tokio::test]
async fn shipping_label_url_and_bytes() {
    let rec = Recorder::default();
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b2 = base.clone();
    let addr = spawn(router(rec.clone(), move |r| {
        if r.path.starts_with("/docs/") {
            // The pre-signed document URL: no TikTok signature, no token.
            assert!(r.token.is_none());
            return if r.query.get("t").map(String::as_str) == Some("fresh") {
                (StatusCode::OK, [("content-type", "application/pdf")], b"%PDF-1.4 label bytes".to_vec()).into_response()
            } else {
                (StatusCode::FORBIDDEN, "expired").into_response()
            };
        }
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        assert_eq!(r.path, "/fulfillment/202309/packages/PKG1/shipping_documents");
        assert_eq!(r.query.get("document_type").map(String::as_str), Some("SHIPPING_LABEL"));
        assert_eq!(r.query.get("document_size").map(String::as_str), Some("A6"));
        assert_eq!(r.query.get("document_format").map(String::as_str), Some("PDF"));
        ok(json!({"doc_url": format!("{}/docs/PKG1.pdf?t=fresh", b2.get().unwrap()), "tracking_number": "TRK1"}))
    }))
    .await;
    base.set(format!("http://{addr}")).unwrap();
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let (doc, bytes) = shop
        .download_shipping_document("PKG1", &ShippingDocumentQuery::default())
        .await
        .unwrap();
    assert_eq!(doc.tracking_number.as_deref(), Some("TRK1"));
    assert_eq!(bytes, b"%PDF-1.4 label bytes");
    let e = c
        .download_document(&format!("http://{addr}/docs/PKG1.pdf?t=SIGNED-SECRET"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DocumentUnavailable);
    assert!(!format!("{e} {e:?}").contains("SIGNED-SECRET"));
    assert!(matches!(
        c.download_document("file:///etc/passwd").await,
        Err(Error::InvalidArgument { .. })
    ));
}

//! Contract: webhook registration (put/get/delete) through the client, and the sandbox's signed pushes
//! verified by the client's `verify_webhook` in a small axum receiver on loopback.
mod contract_common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use contract_common::{quiet_config, start};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tiktok_sandbox::{OrderSpec, OrderStatus as SbStatus, ShippingType as SbShipping};
use tiktok_shop::models::fulfillment::{HandoverMethod, ShipPackageRequest};
use tiktok_shop::models::webhook::WebhookNotification;
use tiktok_shop::models::webhook::{WebhookEvent, WebhookEventType, WebhookRegistration};
use tiktok_shop::{AppCredentials, verify_webhook};

#[derive(Clone)]
struct Receiver {
    creds: Arc<AppCredentials>,
    got: Arc<Mutex<Vec<WebhookNotification>>>,
    rejected: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    match verify_webhook(&r.creds, &body, auth) {
        Ok(n) => {
            r.got.lock().unwrap_or_else(|p| p.into_inner()).push(n);
            StatusCode::OK
        }
        Err(_) => {
            *r.rejected.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            StatusCode::UNAUTHORIZED
        }
    }
}

/// Starts a receiver on 127.0.0.1:0; returns its URL and shared state.
async fn receiver(creds: AppCredentials) -> (String, Receiver) {
    let r = Receiver {
        creds: Arc::new(creds),
        got: Arc::default(),
        rejected: Arc::default(),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

#[tokio::test]
async fn register_list_and_delete_webhooks() {
    let h = start(quiet_config(40)).await;
    assert!(
        h.shop
            .get_webhooks()
            .await
            .expect("empty list")
            .webhooks
            .is_empty()
    );
    for (t, a) in [
        (
            WebhookEventType::OrderStatusChange,
            "http://127.0.0.1:9/orders",
        ),
        (
            WebhookEventType::PackageUpdate,
            "http://127.0.0.1:9/packages",
        ),
    ] {
        h.shop
            .put_webhook(&WebhookRegistration {
                event_type: t,
                address: a.into(),
            })
            .await
            .expect("put");
    }
    let list = h.shop.get_webhooks().await.expect("list");
    let mut got: Vec<(String, String)> = list
        .webhooks
        .iter()
        .map(|w| (w.event_type.as_str().to_owned(), w.address.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "ORDER_STATUS_CHANGE".into(),
                "http://127.0.0.1:9/orders".into()
            ),
            (
                "PACKAGE_UPDATE".into(),
                "http://127.0.0.1:9/packages".into()
            ),
        ]
    );
    h.shop
        .delete_webhook(&WebhookEventType::PackageUpdate)
        .await
        .expect("delete");
    let list = h.shop.get_webhooks().await.expect("list");
    assert_eq!(list.webhooks.len(), 1);
    assert_eq!(
        list.webhooks[0].event_type,
        WebhookEventType::OrderStatusChange
    );
    h.assert_clean();
}

#[tokio::test]
async fn pushes_are_signed_so_the_client_verifies_them() {
    let h = start(quiet_config(41)).await;
    let cfg = h.sb.config().clone();
    let (url, rx) = receiver(AppCredentials::new(
        cfg.app_key.clone(),
        cfg.app_secret.clone(),
    ))
    .await;
    for t in [
        WebhookEventType::OrderStatusChange,
        WebhookEventType::PackageUpdate,
    ] {
        h.shop
            .put_webhook(&WebhookRegistration {
                event_type: t,
                address: url.clone(),
            })
            .await
            .expect("put");
    }
    let order = h.sb.create_order(OrderSpec {
        status: Some(SbStatus::AwaitingShipment),
        shipping_type: Some(SbShipping::Tiktok),
        line_items: Some(1),
        ..OrderSpec::default()
    });
    let pkg = h.sb.package_ids(&order)[0].clone();
    h.shop
        .ship_package(
            &pkg,
            &ShipPackageRequest {
                handover_method: HandoverMethod::Pickup,
                pickup_slot: None,
                self_shipment: None,
            },
        )
        .await
        .expect("ship");
    h.sb.tick().await;

    let got = rx.got.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(*rx.rejected.lock().unwrap_or_else(|p| p.into_inner()), 0);
    assert!(!got.is_empty(), "no pushes arrived");
    assert!(
        got.iter()
            .all(|n| n.shop_id.as_deref() == Some(cfg.shop_id.as_str()))
    );
    let status_to_collection = got.iter().any(|n| match n.event() {
        WebhookEvent::OrderStatusChange(c) => {
            c.order_id == order && c.order_status.as_str() == "AWAITING_COLLECTION"
        }
        _ => false,
    });
    assert!(status_to_collection, "{got:?}");
    let package_update = got
        .iter()
        .any(|n| matches!(n.event(), WebhookEvent::PackageUpdate(_)));
    assert!(package_update, "{got:?}");
    // Every push carries its own dedupe key.
    let mut ids: Vec<_> = got
        .iter()
        .filter_map(|n| n.tts_notification_id.clone())
        .collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!((n, ids.len()), (got.len(), got.len()));
    let w = h.stats().webhooks;
    assert_eq!(w.acked, got.len() as u64);
    assert_eq!(w.failed_attempts, 0);
}

#[tokio::test]
async fn a_receiver_with_the_wrong_secret_rejects_and_the_sandbox_retries_later() {
    let h = start(quiet_config(42)).await;
    let cfg = h.sb.config().clone();
    let (url, rx) = receiver(AppCredentials::new(cfg.app_key.clone(), "wrong-secret")).await;
    h.shop
        .put_webhook(&WebhookRegistration {
            event_type: WebhookEventType::OrderStatusChange,
            address: url,
        })
        .await
        .expect("put");
    h.sb.create_order(OrderSpec {
        status: Some(SbStatus::AwaitingShipment),
        ..OrderSpec::default()
    });
    h.sb.tick().await;
    let rejected = *rx.rejected.lock().unwrap_or_else(|p| p.into_inner());
    assert!(rejected >= 1);
    assert!(rx.got.lock().unwrap_or_else(|p| p.into_inner()).is_empty());
    let w = h.stats().webhooks;
    assert_eq!(w.acked, 0);
    assert_eq!(w.failed_attempts, u64::from(rejected));
    assert!(w.pending >= 1, "kept for a retry: {w:?}");
}

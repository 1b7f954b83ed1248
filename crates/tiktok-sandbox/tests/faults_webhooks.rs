//! Fault injection (live, through the handle and the admin URL) and signed webhook delivery with the
//! compressed retry schedule, driven by a manual clock.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Req, quiet_config, start};
use serde_json::{Value, json};
use tiktok_sandbox::{EndpointFaults, FaultSettings, OrderSpec, OrderStatus, ShippingType, codes};

const SEARCH: &str = "/order/202309/orders/search";

#[tokio::test]
async fn error_malformed_reset_timeout_outage_and_storm() {
    let h = start(quiet_config()).await;
    let mut f = FaultSettings::default();
    f.endpoints.insert(
        "orders.search".to_owned(),
        EndpointFaults {
            error_rate: 1.0,
            ..EndpointFaults::default()
        },
    );
    h.sb.set_faults(f).expect("valid faults");
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!((r.status, r.code()), (500, codes::INTERNAL_ERROR));
    let r = h
        .send(Req::new("GET", "/authorization/202309/shops").no_cipher())
        .await;
    assert_eq!(r.code(), 0, "faults are per endpoint");

    // Malformed JSON through the admin URL, on the ship endpoint: the ship happens, the answer is junk.
    let admin_faults = json!({"endpoints": {"packages.ship": {"malformed_rate": 1.0}}});
    let put = h
        .http
        .put(format!("{}/sandbox/admin/faults", h.sb.base_url()))
        .json(&admin_faults)
        .send()
        .await
        .expect("admin put");
    assert_eq!(put.status().as_u16(), 200);
    let order = h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let pkg = h.sb.package_ids(&order)[0].clone();
    let path = format!("/fulfillment/202309/packages/{pkg}/ship");
    let r = h
        .send(Req::new("POST", &path).body(r#"{"handover_method":"PICKUP"}"#))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "body is not json: {}",
        r.text
    );
    assert_eq!(
        h.sb.order_json(&order).map(|o| o["status"].clone()),
        Some(json!("AWAITING_COLLECTION"))
    );

    // Reset: the connection dies mid-response.
    let mut f = FaultSettings::default();
    f.default.reset_rate = 1.0;
    h.sb.set_faults(f).expect("valid");
    let cfg = h.sb.config();
    let q = signed_query(&h, "/authorization/202309/shops");
    let res = h
        .http
        .get(format!("{}/authorization/202309/shops", h.sb.base_url()))
        .query(&q)
        .header("x-tts-access-token", &cfg.access_token)
        .send()
        .await;
    let failed = match res {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "a reset must surface as a transport error");

    // Timeout: held, then 504 / 36009007.
    let mut f = FaultSettings::default();
    f.default.timeout_rate = 1.0;
    f.default.timeout_ms = 20;
    h.sb.set_faults(f).expect("valid");
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!((r.status, r.code()), (504, codes::GATEWAY_TIMEOUT));
    h.sb.set_faults(FaultSettings::default()).expect("valid");

    // Outage window through the admin URL, on the sandbox clock.
    let w: Value = h
        .http
        .post(format!("{}/sandbox/admin/outage", h.sb.base_url()))
        .json(&json!({"duration_ms": 60_000}))
        .send()
        .await
        .expect("outage")
        .json()
        .await
        .expect("window");
    assert_eq!(w["end_ms"].as_i64(), Some(common::T0_MS + 60_000));
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!(r.status, 503);
    assert!(r.text.contains("503"), "html body: {}", r.text);
    h.clock.advance_secs(60);
    assert_eq!(
        h.send(Req::new("POST", SEARCH).q("page_size", "5"))
            .await
            .code(),
        0
    );

    // A 429 storm.
    h.http
        .post(format!("{}/sandbox/admin/storm", h.sb.base_url()))
        .json(&json!({"duration_ms": 1_000}))
        .send()
        .await
        .expect("storm");
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!((r.status, r.code()), (429, codes::TOO_MANY_REQUESTS));

    let s = h.sb.stats();
    for kind in [
        "error",
        "malformed",
        "reset",
        "timeout",
        "outage",
        "throttle_storm",
    ] {
        assert_eq!(
            s.faults_injected.get(kind),
            Some(&1),
            "{kind}: {:?}",
            s.faults_injected
        );
    }
    assert_eq!(s.ship_calls.get(&pkg), Some(&1));
    let bad = h
        .http
        .put(format!("{}/sandbox/admin/faults", h.sb.base_url()))
        .json(&json!({"default": {"error_rate": 2.0}}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status().as_u16(), 400);
}

fn signed_query(h: &common::Harness, path: &str) -> Vec<(String, String)> {
    let cfg = h.sb.config();
    let mut q = vec![
        ("app_key".to_owned(), cfg.app_key.clone()),
        ("timestamp".to_owned(), h.now_secs().to_string()),
    ];
    let sign = common::spec_sign(&cfg.app_secret, path, &q, "");
    q.push(("sign".to_owned(), sign));
    q
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Bytes)>>>,
    fail_first: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    r.got.lock().expect("lock").push((auth, body));
    let left = r.fail_first.load(Ordering::SeqCst);
    if left > 0 {
        r.fail_first.store(left - 1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

async fn start_receiver(fail_first: usize) -> (String, Receiver) {
    let r = Receiver::default();
    r.fail_first.store(fail_first, Ordering::SeqCst);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), r)
}

#[tokio::test]
async fn webhooks_are_signed_and_retried_on_the_compressed_schedule() {
    let (url, recv) = start_receiver(2).await;
    let mut c = quiet_config();
    c.webhook_url = Some(url);
    c.webhook_time_compression = 60.0; // 2 min -> 2 s, 30 min -> 30 s
    let h = start(c).await;
    h.sb.create_order(OrderSpec::default()); // UNPAID news, then AWAITING_SHIPMENT
    h.sb.tick().await;
    let s = h.sb.stats().webhooks;
    assert_eq!(
        (s.queued, s.attempts, s.failed_attempts, s.pending),
        (2, 2, 2, 2)
    );
    h.sb.tick().await;
    assert_eq!(
        h.sb.stats().webhooks.attempts,
        2,
        "no retry before 2 min / 60"
    );
    h.clock.advance_ms(2_000);
    h.sb.tick().await;
    let s = h.sb.stats().webhooks;
    assert_eq!((s.attempts, s.acked, s.pending), (4, 2, 0));

    let got = recv.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 4);
    let cfg = h.sb.config();
    let mut ids = Vec::new();
    for (auth, body) in &got {
        assert_eq!(
            auth,
            &common::webhook_sign(&cfg.app_key, &cfg.app_secret, body)
        );
        let v: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(v["type"], 1);
        assert_eq!(v["shop_id"], cfg.shop_id.as_str());
        ids.push(v["tts_notification_id"].as_str().expect("id").to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "a retry carries the same notification id");
}

#[tokio::test]
async fn unacknowledged_webhooks_are_dropped_after_four_retries() {
    let (url, recv) = start_receiver(usize::MAX).await;
    let mut c = quiet_config();
    c.webhook_url = Some(url);
    c.webhook_time_compression = 60.0;
    let h = start(c).await;
    h.sb.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        ..OrderSpec::default()
    });
    h.sb.tick().await;
    for delay_secs in tiktok_sandbox::RETRY_SCHEDULE_SECS {
        h.clock.advance_ms(delay_secs * 1000 / 60);
        h.sb.tick().await;
    }
    let s = h.sb.stats().webhooks;
    assert_eq!((s.attempts, s.dropped, s.pending, s.acked), (10, 2, 0, 0));
    assert_eq!(recv.got.lock().expect("lock").len(), 10);
}

#[tokio::test]
async fn webhook_registration_is_loopback_only() {
    let h = start(quiet_config()).await;
    let path = "/event/202309/webhooks";
    let r = h
        .send(
            Req::new("PUT", path).body(
                r#"{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}"#,
            ),
        )
        .await;
    assert_eq!(r.code(), codes::INVALID_REQUEST);
    let r = h
        .send(
            Req::new("PUT", path)
                .body(r#"{"event_type":"PACKAGE_UPDATE","address":"http://127.0.0.1:9/hook"}"#),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let r = h.send(Req::new("GET", path)).await;
    assert_eq!(
        r.json["data"]["webhooks"][0]["address"],
        "http://127.0.0.1:9/hook"
    );
}

#[tokio::test]
async fn latency_is_drawn_from_the_configured_range() {
    let h = start(quiet_config()).await;
    let mut f = FaultSettings::default();
    f.default.latency_min_ms = 5;
    f.default.latency_max_ms = 10;
    f.default.tail_rate = 1.0;
    f.default.tail_ms = 7;
    h.sb.set_faults(f).expect("valid");
    for _ in 0..3 {
        assert_eq!(
            h.send(Req::new("POST", SEARCH).q("page_size", "1"))
                .await
                .code(),
            0
        );
    }
    let s = h.sb.stats();
    // Each call: uniform 5..=10 plus a 7 ms tail (tail_rate 1.0).
    assert!(
        (36..=51).contains(&s.latency_added_ms),
        "{}",
        s.latency_added_ms
    );
    assert_eq!(s.faults_injected.get("latency"), Some(&3));
}

#[tokio::test]
async fn address_updates_and_cancellations_are_pushed() {
    let (url, recv) = start_receiver(0).await;
    let mut c = quiet_config();
    c.webhook_url = Some(url);
    c.address_update_probability = 1.0;
    c.cancel_window_secs = 60;
    let h = start(c).await;
    for _ in 0..6 {
        // Random paid orders: each gets an address edit within 60 s.
        h.sb.create_order(OrderSpec::default());
        // Explicit buyer cancellations (no random draws on this path).
        h.sb.create_order(OrderSpec {
            cancel_after_secs: Some(30),
            ..OrderSpec::default()
        });
    }
    h.clock.advance_secs(61);
    h.sb.tick().await;
    let got = recv.got.lock().expect("lock").clone();
    let bodies: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).expect("json"))
        .collect();
    let cancels: Vec<&str> = bodies
        .iter()
        .filter(|v| v["type"] == 1)
        .filter_map(|v| v["data"]["order_status"].as_str())
        .filter(|s| s.starts_with("CANCEL"))
        .collect();
    assert_eq!(cancels.len(), 6, "{cancels:?}");
    assert!(
        cancels.contains(&"CANCEL") && cancels.contains(&"CANCELLED"),
        "both spellings: {cancels:?}"
    );
    assert_eq!(bodies.iter().filter(|v| v["type"] == 11).count(), 6);
    let addr: Vec<&Value> = bodies.iter().filter(|v| v["type"] == 3).collect();
    assert_eq!(addr.len(), 6);
    let id = addr[0]["data"]["order_id"].as_str().expect("order_id");
    let order = h.sb.order_json(id).expect("order");
    assert_eq!(order["update_time"], addr[0]["data"]["update_time"]);
    assert!(
        order["recipient_address"]["address_line1"]
            .as_str()
            .is_some_and(|l| l.ends_with("Station Road"))
    );
}

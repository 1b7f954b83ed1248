//! Error classification against a real HTTP peer on 127.0.0.1: business rules, re-authorization,
//! throttling back-off, transient retries of reads only, timeouts, unreachable peers, clock skew,
//! and the caller's send gate withholding a call or its retry.

mod common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tiktok_shop::models::fulfillment::*;
use tiktok_shop::{BusinessRule, Error, ErrorKind, ManualClock};

const CIPHER: &str = "ROW_cipher_1";

async fn one_error(status: StatusCode, code: i64) -> (Error, usize) {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), move |_r| {
        envelope(status, code, "nope", json!(null))
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let mut cfg = config(addr);
    cfg.max_throttle_retries = 2;
    let c = client(cfg, &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let body = ShipPackageRequest {
        handover_method: HandoverMethod::DropOff,
        pickup_slot: None,
        self_shipment: None,
    };
    let e = shop.ship_package("PKG1", &body).await.unwrap_err();
    (e, rec.count("/fulfillment"))
}

#[tokio::test]
async fn errors_are_classified_from_real_responses() {
    for (status, code, rule) in [
        (StatusCode::OK, 21011044, BusinessRule::OrderOnHold),
        (StatusCode::OK, 21011007, BusinessRule::AfterSaleRequest),
        (StatusCode::OK, 21004024, BusinessRule::MustSplitOrder),
        (
            StatusCode::OK,
            21011049,
            BusinessRule::TrackingUpdateWindowClosed,
        ),
    ] {
        let (e, calls) = one_error(status, code).await;
        match &e {
            Error::BusinessRule {
                rule: r,
                code: c,
                ctx,
                ..
            } => {
                assert_eq!((*r, *c), (rule, code));
                assert_eq!(ctx.http_status, Some(200));
                assert_eq!(
                    ctx.request_id.as_deref(),
                    Some(format!("rid-{code}").as_str())
                );
                assert_eq!(
                    ctx.endpoint,
                    "POST /fulfillment/202309/packages/{package_id}/ship"
                );
            }
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(calls, 1, "business rules are never retried by the client");
    }
    let (e, calls) = one_error(StatusCode::UNAUTHORIZED, 106001).await;
    assert_eq!((e.kind(), calls), (ErrorKind::InvalidRequest, 1));
    let (e, calls) = one_error(StatusCode::UNAUTHORIZED, 105001).await;
    assert!(
        matches!(e, Error::Deauthorized { code: 105001, .. }),
        "{e:?}"
    );
    assert_eq!(calls, 1);
    let (e, calls) = one_error(StatusCode::OK, 105005).await;
    assert_eq!((e.kind(), calls), (ErrorKind::Reauthorize, 1));
    // A side effect is not retried on a server error: the pipeline reads remote state first.
    let (e, calls) = one_error(StatusCode::SERVICE_UNAVAILABLE, 36009003).await;
    assert_eq!((e.kind(), calls), (ErrorKind::Server, 1));
    // Throttling: the request was not processed, so it is retried (bounded) with back-off.
    let (e, calls) = one_error(StatusCode::TOO_MANY_REQUESTS, 36009002).await;
    assert!(matches!(e, Error::Throttled { attempts: 3, .. }), "{e:?}");
    assert_eq!(calls, 3);
    assert_eq!(e.context().unwrap().http_status, Some(429));
}

#[tokio::test]
async fn throttled_then_success_and_transient_read_retries() {
    let rec = Recorder::default();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let addr = spawn(router(rec.clone(), move |r| {
        let i = n2.fetch_add(1, Ordering::SeqCst);
        match (r.path.as_str(), i) {
            (_, 0) => envelope(
                StatusCode::TOO_MANY_REQUESTS,
                36009002,
                "slow down",
                json!(null),
            ),
            // A bare 502 from a proxy: no envelope at all.
            (_, 1) => (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response(),
            (_, 2) => envelope(StatusCode::OK, 36009007, "timeout inside", json!(null)),
            _ => ok(json!({"package_id": "PKG1"})),
        }
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let p = shop.package_detail("PKG1").await.unwrap();
    assert_eq!(p.package_id, "PKG1");
    assert_eq!(rec.all().len(), 4);
}

#[tokio::test]
async fn timeout_and_unreachable_are_distinct_from_server_errors() {
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        "late"
    });
    let addr = spawn(app).await;
    let clock = ManualClock::new(NOW);
    let mut cfg = config(addr);
    cfg.request_timeout = std::time::Duration::from_millis(200);
    cfg.max_transient_retries = 1;
    let c = client(cfg, &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let e = shop.package_detail("PKG1").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                timeout_ms: 200,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());

    // A port nobody listens on: connection refused, before any HTTP exchange.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = client(config(closed), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let e = shop.package_detail("PKG1").await.unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Unreachable);
    assert_eq!(e.context().unwrap().http_status, None);
}

#[tokio::test]
async fn timestamp_rejection_is_reported_as_clock_skew_when_the_date_header_shows_it() {
    // hyper stamps a real `Date` header on every response.
    let addr = spawn(router(Recorder::default(), |_r| {
        envelope(StatusCode::OK, 36009004, "invalid timestamp", json!(null))
    }))
    .await;
    let real_now = tiktok_shop::Clock::now_unix(&tiktok_shop::SystemClock);
    // Our clock ten minutes behind the server: outside TikTok's window.
    let behind = ManualClock::new(real_now - 600);
    let c = client(config(addr), &behind);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", real_now + 86400), None),
        CIPHER,
    );
    match shop.package_detail("PKG1").await.unwrap_err() {
        Error::ClockSkew { skew_secs, .. } => {
            assert!((-610..=-590).contains(&skew_secs), "{skew_secs}")
        }
        other => panic!("{other:?}"),
    }
    // A correct clock: the same code is a plain invalid request (bad app_key, header, cipher...).
    let right = ManualClock::new(real_now);
    let c = client(config(addr), &right);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", real_now + 86400), None),
        CIPHER,
    );
    let e = shop.package_detail("PKG1").await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidRequest { code: 36009004, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn connection_dropped_without_a_response_is_unreachable() {
    // A raw TCP peer that accepts and closes at once: no HTTP answer at all.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            drop(sock);
        }
    });
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );
    let e = shop.package_detail("PKG1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e:?}");
    assert_eq!(
        e.context().unwrap().endpoint,
        "GET /fulfillment/202309/packages/{package_id}"
    );
}

/// A gate that allows a fixed number of sends, then refuses.
struct Allow(AtomicUsize);

impl tiktok_shop::SendGate for Allow {
    fn may_send(&self) -> Result<(), String> {
        let left = self.0.load(Ordering::SeqCst);
        if left == 0 {
            return Err("host is down".to_owned());
        }
        self.0.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn the_send_gate_withholds_a_call_or_its_retry() {
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |_r| {
        (StatusCode::SERVICE_UNAVAILABLE, "<html>down</html>").into_response()
    }))
    .await;
    let clock = ManualClock::new(NOW);
    let c = client(config(addr), &clock);
    let shop = c.shop(
        c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None),
        CIPHER,
    );

    // Refused before the first send: nothing reaches the host.
    let gate = Arc::new(Allow(AtomicUsize::new(0)));
    let e = tiktok_shop::gated(gate, shop.package_detail("PKG1"))
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Withheld { reason, .. } if reason == "host is down"), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Withheld);
    assert_eq!(rec.all().len(), 0);

    // The first send goes out and fails; its retry is withheld, so the caller learns the host's answer.
    let gate = Arc::new(Allow(AtomicUsize::new(1)));
    let e = tiktok_shop::gated(gate, shop.package_detail("PKG1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { code: None, .. }), "{e:?}");
    assert_eq!(rec.all().len(), 1, "the retry stayed home");

    // Without a gate the client retries as configured.
    let e = shop.package_detail("PKG1").await.unwrap_err();
    assert!(matches!(e, Error::Server { .. }), "{e:?}");
    assert!(rec.all().len() > 2, "ungated calls are retried");

    // Document downloads ask the gate too.
    let gate = Arc::new(Allow(AtomicUsize::new(0)));
    let url = format!("http://{addr}/doc/label.pdf");
    let e = tiktok_shop::gated(gate, shop.download_document(&url))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Withheld, "{e:?}");
}

//! Secrets never appear in Debug/Display of the client, credentials, token manager or any error — checked
//! by formatting them and grepping for the secret values, including errors from the auth host whose URL
//! carries the app secret.

mod common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::*;
use serde_json::json;
use tiktok_shop::{Error, FileStore, ManualClock, StoreTokenSink};

const AT: &str = "ACCESS-TOKEN-do-not-leak";
const RT: &str = "REFRESH-TOKEN-do-not-leak";

fn assert_clean(what: &str, s: &str) {
    for secret in [
        APP_SECRET,
        AT,
        RT,
        "NEW-ACCESS-do-not-leak",
        "NEW-REFRESH-do-not-leak",
    ] {
        assert!(!s.contains(secret), "{what} leaks {secret}: {s}");
    }
}

fn check_error(e: &Error) {
    assert_clean("error Display", &e.to_string());
    assert_clean("error Debug", &format!("{e:?} {e:#?}"));
}

#[tokio::test]
async fn debug_and_errors_never_contain_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    // Auth host answers with a body that has the new tokens but a shape we cannot decode.
    let rec = Recorder::default();
    let addr = spawn(router(rec.clone(), |r| {
        if r.path == "/api/v2/token/refresh" {
            let body = json!({"code": 0, "data": {"access_token": "NEW-ACCESS-do-not-leak", "refresh_token": "NEW-REFRESH-do-not-leak", "access_token_expire_in": "soon"}});
            return (StatusCode::OK, body.to_string()).into_response();
        }
        envelope(StatusCode::UNAUTHORIZED, 105002, "expired", json!(null))
    }))
    .await;
    let c = client(config(addr), &clock);
    let store = std::sync::Arc::new(FileStore::open(dir.path()).unwrap());
    let sink = std::sync::Arc::new(StoreTokenSink::new(store.clone(), "tokens/x"));
    let tm = c.token_manager(tokens(AT, RT, NOW + 86400), Some(sink.clone()));
    let shop = c.shop(tm.clone(), "CIPHER");
    for (what, s) in [
        ("client", format!("{c:?} {c:#?}")),
        ("token manager", format!("{tm:?}")),
        ("shop client", format!("{shop:?}")),
        ("auth client", format!("{:?}", c.auth())),
        (
            "tokens",
            format!("{:?} {:#?}", tm.snapshot().await, tm.snapshot().await),
        ),
        ("sink", format!("{sink:?} {store:?}")),
    ] {
        assert_clean(what, &s);
    }

    // 105002 -> refresh -> undecodable token body (which contains the new tokens).
    let e = c.authorized_shops(&tm).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    check_error(&e);

    // Refresh against an auth host that is not there: reqwest's error would carry the URL with
    // app_secret and refresh_token in the query unless stripped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cfg = config(addr);
    cfg.auth_base = tiktok_shop::config::parse_base(&format!("http://{closed}")).unwrap();
    let c2 = client(cfg, &clock);
    let tm2 = c2.token_manager(tokens(AT, RT, NOW - 1), None);
    let e = c2.authorized_shops(&tm2).await.unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    check_error(&e);
    let e = c2.exchange_auth_code("CODE").await.unwrap_err();
    check_error(&e);

    // Timeout on the auth host.
    let slow = spawn(axum::Router::new().fallback(|| async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        "late"
    }))
    .await;
    let mut cfg = config(addr);
    cfg.auth_base = tiktok_shop::config::parse_base(&format!("http://{slow}")).unwrap();
    cfg.request_timeout = std::time::Duration::from_millis(200);
    let c3 = client(cfg, &clock);
    let tm3 = c3.token_manager(tokens(AT, RT, NOW - 1), None);
    let e = c3.authorized_shops(&tm3).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    check_error(&e);

    // Secret store errors.
    let e = Error::SecretServiceUnavailable {
        detail: "no dbus".into(),
    };
    assert!(e.to_string().contains("CREATORFLOW_SECRET_STORE=file"));
}

//! Token handling against a real HTTP peer: exchange, proactive refresh, one refresh-and-retry on
//! 105002 shared by concurrent callers, newest pair persisted, deauthorization surfaced.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tiktok_shop::secret_store::{load_tokens, token_secret_name};
use tiktok_shop::{Error, FileStore, ManualClock, SecretStore, StoreTokenSink, TokenSink};

/// A peer whose API accepts only the current access token and whose auth host rotates both tokens.
/// `refresh_code` makes the refresh endpoint fail with that code instead.
struct Peer {
    rec: Recorder,
    addr: std::net::SocketAddr,
}

async fn peer(initial_valid: &str, refresh_code: Option<i64>, always_expired: bool) -> Peer {
    let rec = Recorder::default();
    let valid = Arc::new(Mutex::new(initial_valid.to_owned()));
    let generation = Arc::new(Mutex::new(1u32));
    let addr = spawn(router(rec.clone(), move |r| {
        if r.path == "/api/v2/token/refresh" {
            assert_eq!(
                r.query.get("app_secret").map(String::as_str),
                Some(APP_SECRET)
            );
            assert_eq!(
                r.query.get("grant_type").map(String::as_str),
                Some("refresh_token")
            );
            if let Some(code) = refresh_code {
                return envelope(StatusCode::OK, code, "refresh token expired", json!(null));
            }
            let mut g = generation.lock().unwrap();
            let expected = format!("RT-{}", *g);
            if r.query.get("refresh_token") != Some(&expected) {
                // An old (rotated) refresh token: the client must always use the newest.
                return envelope(
                    StatusCode::OK,
                    36004001,
                    "refresh token invalid",
                    json!(null),
                );
            }
            *g += 1;
            let at = format!("AT-{}", *g);
            *valid.lock().unwrap() = at.clone();
            return ok(token_data(&at, &format!("RT-{}", *g), NOW));
        }
        if r.path == "/api/v2/token/get" {
            assert_eq!(r.query.get("auth_code").map(String::as_str), Some("CODE-1"));
            assert_eq!(
                r.query.get("grant_type").map(String::as_str),
                Some("authorized_code")
            );
            return ok(token_data("AT-1", "RT-1", NOW));
        }
        if let Err(e) = check_sign(&r) {
            return *e;
        }
        if always_expired || r.token.as_deref() != Some(valid.lock().unwrap().as_str()) {
            return envelope(
                StatusCode::UNAUTHORIZED,
                105002,
                "access token expired",
                json!(null),
            );
        }
        ok(json!({"shops": [{"cipher": "C1", "id": "1"}]}))
    }))
    .await;
    Peer { rec, addr }
}

fn file_sink(dir: &std::path::Path) -> (Arc<dyn SecretStore>, Arc<dyn TokenSink>) {
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::open(dir).unwrap());
    let sink: Arc<dyn TokenSink> = Arc::new(StoreTokenSink::new(
        store.clone(),
        token_secret_name("open-1"),
    ));
    (store, sink)
}

#[tokio::test]
async fn auth_code_exchange() {
    let p = peer("AT-1", None, false).await;
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let t = c.exchange_auth_code("CODE-1").await.unwrap();
    assert_eq!(t.access_token.expose(), "AT-1");
    assert_eq!(
        t.access_token_expire_in,
        NOW + 7 * 86400,
        "expire_in is an absolute timestamp"
    );
    assert_eq!(t.seller_name.as_deref(), Some("Test Seller"));
    assert!(matches!(
        c.exchange_auth_code("").await,
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn expired_token_refreshes_once_retries_and_persists_newest_pair() {
    // The server already moved on to AT-2 (say the token was revoked early): first call gets 105002.
    let p = peer("AT-x", None, false).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, sink) = file_sink(dir.path());
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), Some(sink));
    let shops = c.authorized_shops(&tm).await.unwrap();
    assert_eq!(shops[0].cipher, "C1");
    assert_eq!(tm.refresh_count(), 1);
    assert_eq!(p.rec.count("/authorization"), 2);
    let saved = load_tokens(store.as_ref(), &token_secret_name("open-1"))
        .unwrap()
        .unwrap();
    assert_eq!(saved.access_token.expose(), "AT-2");
    assert_eq!(saved.refresh_token.expose(), "RT-2");
    // A second refresh must use RT-2 (the server rejects RT-1 now).
    let again = tm.refresh_now().await.unwrap();
    assert_eq!(again.refresh_token.expose(), "RT-3");
    let saved = load_tokens(store.as_ref(), &token_secret_name("open-1"))
        .unwrap()
        .unwrap();
    assert_eq!(saved.refresh_token.expose(), "RT-3");
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let p = peer("AT-x", None, false).await;
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None);
    let calls = (0..8).map(|_| {
        let c = c.clone();
        let tm = tm.clone();
        tokio::spawn(async move { c.authorized_shops(&tm).await })
    });
    for h in futures::future::join_all(calls).await {
        h.unwrap().unwrap();
    }
    assert_eq!(p.rec.count("/api/v2/token/refresh"), 1);
    assert_eq!(tm.refresh_count(), 1);
}

#[tokio::test]
async fn still_expired_after_one_refresh_surfaces_token_expired() {
    let p = peer("AT-1", None, true).await;
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None);
    let e = c.authorized_shops(&tm).await.unwrap_err();
    assert!(matches!(e, Error::TokenExpired { .. }), "{e:?}");
    assert_eq!(
        p.rec.count("/api/v2/token/refresh"),
        1,
        "exactly one refresh"
    );
    assert_eq!(p.rec.count("/authorization"), 2, "exactly one retry");
}

#[tokio::test]
async fn refreshes_proactively_before_expiry() {
    let p = peer("AT-1", None, false).await;
    let clock = ManualClock::new(NOW);
    let mut cfg = config(p.addr);
    cfg.refresh_margin = std::time::Duration::from_secs(600);
    let c = client(cfg, &clock);
    // Expires in 11 minutes: outside the margin, no refresh.
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 660), None);
    c.authorized_shops(&tm).await.unwrap();
    assert_eq!(tm.refresh_count(), 0);
    // Two minutes later it is inside the 10-minute margin: refresh before the call.
    clock.advance(120);
    c.authorized_shops(&tm).await.unwrap();
    assert_eq!(tm.refresh_count(), 1);
    let tokens_seen: Vec<Option<String>> = p
        .rec
        .all()
        .iter()
        .filter(|r| r.path.starts_with("/authorization"))
        .map(|r| r.token.clone())
        .collect();
    assert_eq!(
        tokens_seen,
        [Some("AT-1".to_string()), Some("AT-2".to_string())]
    );
    assert_eq!(
        p.rec.count("/authorization"),
        2,
        "no 105002 round trip was needed"
    );
}

#[tokio::test]
async fn expired_refresh_token_is_deauthorization() {
    let p = peer("AT-x", Some(36004001), false).await;
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 86400), None);
    let e = c.authorized_shops(&tm).await.unwrap_err();
    assert!(
        matches!(e, Error::Deauthorized { code: 36004001, .. }),
        "{e:?}"
    );
    assert_eq!(e.context().unwrap().endpoint, "GET /api/v2/token/refresh");
}

#[derive(Debug)]
struct FailingSink(Mutex<u32>);

impl TokenSink for FailingSink {
    fn save(&self, _t: &tiktok_shop::TokenSet) -> Result<(), Error> {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        if *n == 1 {
            Err(Error::SecretServiceUnavailable {
                detail: "test: locked".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_failed_save_surfaces_and_is_retried_without_losing_the_new_pair() {
    let p = peer("AT-1", None, false).await;
    let clock = ManualClock::new(NOW);
    let c = client(config(p.addr), &clock);
    let sink = Arc::new(FailingSink(Mutex::new(0)));
    let tm = c.token_manager(tokens("AT-1", "RT-1", NOW + 10), Some(sink.clone()));
    let e = c.authorized_shops(&tm).await.unwrap_err();
    assert_eq!(e.kind(), tiktok_shop::ErrorKind::SecretStore);
    // The new pair is kept in memory; the next call saves it and succeeds without another refresh.
    c.authorized_shops(&tm).await.unwrap();
    assert_eq!(*sink.0.lock().unwrap(), 2);
    assert_eq!(tm.refresh_count(), 1);
    assert_eq!(tm.snapshot().await.refresh_token.expose(), "RT-2");
}

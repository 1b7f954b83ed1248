//! Shared pieces of the HTTP tests: a real axum server on 127.0.0.1 playing TikTok's API and auth
//! hosts, a request recorder, and a signature check on every API request it receives.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tiktok_shop::{AppCredentials, Client, ClientConfig, ManualClock, Secret, TokenSet};

pub const APP_KEY: &str = "test_app_key";
pub const APP_SECRET: &str = "APPSECRET-do-not-leak";
pub const NOW: i64 = 1_700_000_000;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub token: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
pub struct Recorder(pub Arc<Mutex<Vec<Recorded>>>);

impl Recorder {
    pub fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Recorded {
        let query: BTreeMap<String, String> =
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let r = Recorded {
            method: method.clone(),
            path: uri.path().to_owned(),
            query,
            token: h("x-tts-access-token"),
            user_agent: h("user-agent"),
            content_type: h("content-type"),
            body: body.to_vec(),
        };
        self.0.lock().unwrap().push(r.clone());
        r
    }

    pub fn all(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, path_prefix: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }
}

/// Recomputes the signature the way the server would and compares (wrong → 106001 like TikTok).
pub fn check_sign(r: &Recorded) -> Result<(), Box<Response>> {
    let sign = r.query.get("sign").cloned().unwrap_or_default();
    let pairs: Vec<(&str, &str)> = r
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = if r.body.is_empty() {
        None
    } else {
        Some(r.body.as_slice())
    };
    let expected = tiktok_shop::signing::sign(APP_SECRET, &r.path, &pairs, body);
    if sign != expected || r.query.get("app_key").map(String::as_str) != Some(APP_KEY) {
        return Err(Box::new(envelope(
            StatusCode::UNAUTHORIZED,
            106001,
            "invalid sign",
            serde_json::Value::Null,
        )));
    }
    Ok(())
}

pub fn envelope(status: StatusCode, code: i64, message: &str, data: serde_json::Value) -> Response {
    let body = serde_json::json!({"code": code, "message": message, "data": data, "request_id": format!("rid-{code}")});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn ok(data: serde_json::Value) -> Response {
    envelope(StatusCode::OK, 0, "Success", data)
}

pub async fn spawn(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

pub fn config(addr: SocketAddr) -> ClientConfig {
    let base = format!("http://{addr}");
    let mut c = ClientConfig::with_bases(&base, &base).unwrap();
    c.user_agent = "creatorflow-test/1".into();
    // Keep back-off tiny: these tests check behaviour, not timing.
    c.backoff_base = std::time::Duration::from_millis(1);
    c.backoff_cap = std::time::Duration::from_millis(5);
    c.request_timeout = std::time::Duration::from_secs(10);
    c
}

pub fn client(cfg: ClientConfig, clock: &ManualClock) -> Client {
    Client::with_clock(
        cfg,
        AppCredentials::new(APP_KEY, APP_SECRET),
        Arc::new(clock.clone()),
    )
    .unwrap()
}

pub fn tokens(access: &str, refresh: &str, access_expires: i64) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access),
        access_token_expire_in: access_expires,
        refresh_token: Secret::new(refresh),
        refresh_token_expire_in: access_expires + 30 * 86400,
        open_id: Some("open-1".into()),
        seller_name: Some("Test Seller".into()),
        seller_base_region: Some("US".into()),
        user_type: Some(0),
        granted_scopes: vec!["seller.order.info".into()],
    }
}

pub fn token_data(access: &str, refresh: &str, now: i64) -> serde_json::Value {
    serde_json::json!({
        "access_token": access, "access_token_expire_in": now + 7 * 86400,
        "refresh_token": refresh, "refresh_token_expire_in": now + 60 * 86400,
        "open_id": "open-1", "seller_name": "Test Seller", "seller_base_region": "US", "user_type": 0,
        "granted_scopes": ["seller.order.info"]
    })
}

pub type Handler = Arc<dyn Fn(Recorded) -> Response + Send + Sync>;

/// A router that records every request and hands it to `f` (which may check the signature).
pub fn router(rec: Recorder, f: impl Fn(Recorded) -> Response + Send + Sync + 'static) -> Router {
    let f: Handler = Arc::new(f);
    Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let rec = rec.clone();
            let f = f.clone();
            async move {
                let r = rec.record(&method, &uri, &headers, &body);
                f(r)
            }
        },
    )
}

//! Test client: signs requests by the published spec with its own code (not the sandbox's `sign`
//! module), so a mistake there cannot hide behind the same mistake here.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tiktok_sandbox::{ManualClock, Sandbox, SandboxConfig, SandboxHandle};

pub const T0_MS: i64 = 1_767_225_600_000;

/// Spec steps 1-6: drop sign/access_token, sort by key, concat key+value, prefix the path, append the
/// body, wrap in the secret, HMAC-SHA256 keyed by the secret, lower-case hex.
pub fn spec_sign(secret: &str, path: &str, query: &[(String, String)], body: &str) -> String {
    let mut q: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "sign" && k != "access_token")
        .collect();
    q.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = String::from(secret);
    s.push_str(path);
    for (k, v) in q {
        s.push_str(k);
        s.push_str(v);
    }
    s.push_str(body);
    s.push_str(secret);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(s.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn webhook_sign(key: &str, secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(key.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub struct Harness {
    pub sb: SandboxHandle,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub token: String,
}

pub fn quiet_config() -> SandboxConfig {
    let mut c = SandboxConfig::with_seed(11);
    c.initial_orders = 0;
    c.cancel_probability = 0.0;
    c.unpaid_share = 0.0;
    c.on_hold_share = 0.0;
    c
}

pub async fn start(config: SandboxConfig) -> Harness {
    let clock = ManualClock::new(T0_MS);
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sb = Sandbox::start_with_clock(config, addr, Arc::new(clock.clone()), false)
        .await
        .expect("sandbox starts");
    let token = sb.config().access_token.clone();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Harness {
        sb,
        clock,
        http,
        token,
    }
}

/// One request's knobs; `Req::new` gives a correct shop-scoped call.
pub struct Req<'a> {
    pub method: reqwest::Method,
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    pub body: Option<String>,
    pub cipher: bool,
    pub ts_offset: i64,
    pub bad_sign: bool,
    pub token: Option<String>,
}

impl<'a> Req<'a> {
    pub fn new(method: &str, path: &'a str) -> Self {
        Self {
            method: reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            path,
            query: Vec::new(),
            body: None,
            cipher: true,
            ts_offset: 0,
            bad_sign: false,
            token: None,
        }
    }
    pub fn q(mut self, k: &str, v: &str) -> Self {
        self.query.push((k.to_owned(), v.to_owned()));
        self
    }
    pub fn body(mut self, b: &str) -> Self {
        self.body = Some(b.to_owned());
        self
    }
    pub fn no_cipher(mut self) -> Self {
        self.cipher = false;
        self
    }
}

pub struct Resp {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.json["code"].as_i64().unwrap_or(-1)
    }
}

impl Harness {
    pub fn now_secs(&self) -> i64 {
        use tiktok_sandbox::Clock;
        self.clock.now_secs()
    }

    pub async fn send(&self, r: Req<'_>) -> Resp {
        let cfg = self.sb.config();
        let mut query = r.query.clone();
        query.push(("app_key".to_owned(), cfg.app_key.clone()));
        query.push((
            "timestamp".to_owned(),
            (self.now_secs() + r.ts_offset).to_string(),
        ));
        if r.cipher {
            query.push(("shop_cipher".to_owned(), cfg.shop_cipher.clone()));
        }
        let body = r.body.clone().unwrap_or_default();
        let secret = if r.bad_sign {
            "not-the-secret"
        } else {
            cfg.app_secret.as_str()
        };
        let sign = spec_sign(secret, r.path, &query, &body);
        query.push(("sign".to_owned(), sign));
        let url = format!("{}{}", self.sb.base_url(), r.path);
        let mut b = self
            .http
            .request(r.method, url)
            .query(&query)
            .header("content-type", "application/json")
            .header(
                "x-tts-access-token",
                r.token.unwrap_or_else(|| self.token.clone()),
            );
        if let Some(body) = r.body {
            b = b.body(body);
        }
        let resp = b.send().await.expect("request reaches sandbox");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, json, text }
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.sb.base_url()))
            .send()
            .await
            .expect("admin reachable")
            .json()
            .await
            .expect("admin json")
    }
}

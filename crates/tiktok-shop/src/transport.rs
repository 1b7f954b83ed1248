//! One HTTP call to the API host: sign, send, classify. The retry policy (rate limit, throttling back-off,
//! one refresh on 105002, transient retries for idempotent reads) wraps it in [`Transport::call`].

use crate::clock::Clock;
use crate::config::{ClientConfig, join};
use crate::error::{CallContext, Error, classify};
use crate::httpdate::parse_imf_fixdate;
use crate::ratelimit::{RateKey, RateLimiter};
use crate::secret::{AppCredentials, Secret};
use crate::signing::sign;
use crate::tokens::TokenManager;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The TikTok envelope, with `data` left raw so it is parsed once, into the endpoint's type.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// `data` of calls that return nothing useful (`{}` or null).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Nothing;

impl<'de> Deserialize<'de> for Nothing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Nothing)
    }
}

/// A request to the API host, before signing.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    /// Path template for the rate-limit key and error context (`/fulfillment/202309/packages/{package_id}`).
    pub template: &'static str,
    /// Concrete path.
    pub path: String,
    /// Endpoint parameters (not app_key/timestamp/shop_cipher/sign). Empty values are dropped.
    pub query: Vec<(&'static str, String)>,
    /// Exact JSON bytes sent and signed. `None` for GET and for calls without a body (never send `{}`).
    pub body: Option<Vec<u8>>,
    /// `Some` on shop-scoped calls; must be absent on /authorization and /seller calls.
    pub shop_cipher: Option<String>,
    /// Reads may be retried on transient server errors and timeouts; side effects may not.
    pub idempotent: bool,
}

impl ApiRequest {
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub config: ClientConfig,
    pub creds: AppCredentials,
    pub clock: Arc<dyn Clock>,
    pub limiter: RateLimiter,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("config", &self.config)
            .field("creds", &self.creds)
            .field("clock", &self.clock)
            .field("limiter_qps", &self.limiter.qps())
            .finish_non_exhaustive()
    }
}

/// Maps a reqwest failure to timeout / unreachable / other, with the URL (which may hold secrets on the
/// auth host) stripped.
pub(crate) fn transport_error(endpoint: &str, e: reqwest::Error, timeout_ms: u64) -> Error {
    let ctx = CallContext {
        endpoint: endpoint.to_owned(),
        http_status: e.status().map(|s| s.as_u16()),
        request_id: None,
    };
    let is_timeout = e.is_timeout();
    let is_connect = e.is_connect();
    let e = e.without_url();
    let detail = error_chain(&e);
    if is_timeout {
        Error::Timeout { ctx, timeout_ms }
    } else if is_connect || e.is_request() || e.is_body() {
        // Could not reach the peer (DNS, refused, reset before a response) or the connection dropped
        // mid-body: the network, not TikTok.
        Error::Unreachable { ctx, detail }
    } else {
        Error::Decode { ctx, detail }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

impl Transport {
    pub(crate) fn new(
        config: ClientConfig,
        creds: AppCredentials,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| Error::HttpClientBuild {
                detail: error_chain(&e),
            })?;
        let limiter = RateLimiter::new(config.qps_per_path);
        Ok(Self {
            http,
            config,
            creds,
            clock,
            limiter,
        })
    }

    fn timeout_ms(&self) -> u64 {
        self.config.request_timeout.as_millis() as u64
    }

    /// Full call with the retry policy. `tokens` is `None` only for calls that need no shop token.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        req: &ApiRequest,
        tokens: &TokenManager,
    ) -> Result<T, Error> {
        let key = RateKey {
            app_key: self.creds.app_key.clone(),
            shop_cipher: req.shop_cipher.clone().unwrap_or_default(),
            path_template: req.template,
        };
        let mut refreshed = false;
        let mut throttled = 0u32;
        let mut transient = 0u32;
        // The last transient failure, returned if the send gate withholds its retry.
        let mut last_transient: Option<Error> = None;
        loop {
            // The permit is held until the response is in, and released before any back-off sleep. It is
            // taken before the token: a caller can queue for a permit longer than a nearly expired token
            // lives, and must not then send the token it read before queueing.
            let permit = self.limiter.acquire(&key).await;
            // Asked after the wait for the permit, which can be long: the host may have gone down since.
            if let Err(withheld) = crate::gate::check(|| req.endpoint()) {
                return Err(last_transient.unwrap_or(withheld));
            }
            let token = tokens.access_token().await?;
            let result = self.send_once::<T>(req, &token).await;
            drop(permit);
            match result {
                Ok(v) => return Ok(v),
                Err(Error::TokenExpired { .. }) if !refreshed => {
                    // One refresh and one retry; concurrent callers share the same refresh.
                    refreshed = true;
                    tracing::info!(endpoint = %req.endpoint(), "access token expired (105002): refreshing once");
                    tokens.refresh_if_current(&token).await?;
                }
                Err(Error::Throttled { ctx, .. }) => {
                    throttled += 1;
                    if throttled > self.config.max_throttle_retries {
                        return Err(Error::Throttled {
                            ctx,
                            attempts: throttled,
                        });
                    }
                    let d = self.backoff(throttled);
                    tracing::debug!(endpoint = %req.endpoint(), attempt = throttled, wait_ms = d.as_millis() as u64, "throttled: backing off");
                    tokio::time::sleep(d).await;
                }
                Err(e @ (Error::Server { .. } | Error::Timeout { .. })) if req.idempotent => {
                    transient += 1;
                    if transient > self.config.max_transient_retries {
                        return Err(e);
                    }
                    last_transient = Some(e);
                    tokio::time::sleep(self.backoff(transient)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Full jitter: uniform in [0, min(cap, base * 2^(n-1))].
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.config.backoff_cap);
        ceiling.mul_f64(fastrand::f64())
    }

    /// The signed query for `req` at `timestamp`, in the order sent (sign last).
    pub(crate) fn signed_query(&self, req: &ApiRequest, timestamp: i64) -> Vec<(&str, String)> {
        let mut q: Vec<(&str, String)> = Vec::with_capacity(req.query.len() + 4);
        q.push(("app_key", self.creds.app_key.clone()));
        q.push(("timestamp", timestamp.to_string()));
        if let Some(c) = &req.shop_cipher {
            q.push(("shop_cipher", c.clone()));
        }
        q.extend(
            req.query
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, v.clone())),
        );
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let s = sign(
            self.creds.app_secret.expose(),
            &req.path,
            &pairs,
            req.body.as_deref(),
        );
        q.push(("sign", s));
        q
    }

    /// One signed request, no retries.
    pub(crate) async fn send_once<T: DeserializeOwned>(
        &self,
        req: &ApiRequest,
        token: &Secret,
    ) -> Result<T, Error> {
        let endpoint = req.endpoint();
        let now = self.clock.now_unix();
        let query = self.signed_query(req, now);
        let mut rb = self
            .http
            .request(req.method.clone(), join(&self.config.api_base, &req.path))
            .query(&query)
            .header("x-tts-access-token", token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| transport_error(&endpoint, e, self.timeout_ms()))?;
        let status = resp.status().as_u16();
        let header_rid = resp
            .headers()
            .get("x-tt-logid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let server_now = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_imf_fixdate);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(&endpoint, e, self.timeout_ms()))?;
        decode_envelope(endpoint, status, header_rid, &bytes)
            .map_err(|e| skew_check(e, now, server_now))
    }
}

/// 36009004 is TikTok's catch-all for a bad timestamp, app_key, header or cipher. If the server's `Date`
/// shows our timestamp outside its window ([now - 5 min, now + 30 s]), say it is the clock.
fn skew_check(e: Error, our_now: i64, server_now: Option<i64>) -> Error {
    match (e, server_now) {
        (
            Error::InvalidRequest {
                ctx,
                code: 36009004,
                ..
            },
            Some(server),
        ) if !(server - 300..=server + 30).contains(&our_now) => Error::ClockSkew {
            ctx,
            skew_secs: our_now - server,
        },
        (e, _) => e,
    }
}

/// Decides success on `code` AND a 2xx status; parses `data` into `T`. Public for the benchmark and for
/// the webhook/sandbox tooling that sees raw responses.
pub fn decode_envelope<T: DeserializeOwned>(
    endpoint: String,
    status: u16,
    header_rid: Option<String>,
    bytes: &[u8],
) -> Result<T, Error> {
    // Fast path, one pass: a 2xx success envelope whose data fits `T` (the common case: sync pages).
    if (200..300).contains(&status)
        && let Ok(env) = serde_json::from_slice::<TypedEnvelope<T>>(bytes)
        && env.code == 0
        && let Some(data) = env.data
    {
        return Ok(data);
    }
    decode_slow(endpoint, status, header_rid, bytes)
}

/// Envelope with `data` parsed straight into `T` (`null`/absent data gives `None`).
#[derive(Deserialize)]
struct TypedEnvelope<T> {
    #[serde(default)]
    code: i64,
    #[serde(default = "Option::default")]
    data: Option<T>,
}

/// Errors, empty data and decode failures: parse the head, classify, or report what did not fit.
fn decode_slow<T: DeserializeOwned>(
    endpoint: String,
    status: u16,
    header_rid: Option<String>,
    bytes: &[u8],
) -> Result<T, Error> {
    let mut ctx = CallContext {
        endpoint,
        http_status: Some(status),
        request_id: header_rid,
    };
    let env: Envelope<'_> = match serde_json::from_slice(bytes) {
        Ok(env) => env,
        Err(e) => {
            // Not an envelope: a proxy page, an empty 503. Classify on the status alone.
            let snippet: String =
                String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
            let message = if bytes.is_empty() {
                format!("empty body ({e})")
            } else {
                format!("{e}; body starts {snippet:?}")
            };
            return Err(classify(ctx, None, message));
        }
    };
    if env.request_id.is_some() {
        ctx.request_id = env.request_id.clone();
    }
    if env.code != 0 || !(200..300).contains(&status) {
        return Err(classify(ctx, Some(env.code), env.message));
    }
    let data = env.data.map(RawValue::get).unwrap_or("null");
    serde_json::from_str::<T>(data).map_err(|e| Error::Decode {
        ctx,
        detail: format!("data: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::order::OrderSearchResponse;

    #[test]
    fn envelope_decoding() {
        let ok = br#"{"code":0,"message":"Success","data":{"next_page_token":"t2","orders":[]},"request_id":"r1"}"#;
        let r: OrderSearchResponse = decode_envelope("POST /x".into(), 200, None, ok).unwrap();
        assert_eq!(r.next_token(), Some("t2"));
        let _: Nothing = decode_envelope(
            "POST /x".into(),
            200,
            None,
            br#"{"code":0,"message":"ok","data":{}}"#,
        )
        .unwrap();
        let _: Nothing =
            decode_envelope("POST /x".into(), 200, None, br#"{"code":0,"message":"ok"}"#).unwrap();

        let err = decode_envelope::<Nothing>(
            "POST /x".into(),
            200,
            Some("hdr".into()),
            br#"{"code":21011044,"message":"on hold","data":null,"request_id":"r2"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::BusinessRule { .. }));
        assert_eq!(err.context().unwrap().request_id.as_deref(), Some("r2"));

        // HTTP error with code 0 is still an error (success needs both).
        let e = decode_envelope::<Nothing>(
            "GET /y".into(),
            503,
            Some("hdr".into()),
            br#"{"code":0,"message":"?"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Server { .. }), "{e:?}");
        let e = decode_envelope::<Nothing>(
            "GET /y".into(),
            502,
            Some("hdr".into()),
            b"<html>bad gateway</html>",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Server { code: None, .. }), "{e:?}");
        assert_eq!(e.context().unwrap().request_id.as_deref(), Some("hdr"));
        // Success envelope whose data does not fit the type: a decode error naming the field.
        let e = decode_envelope::<OrderSearchResponse>(
            "POST /x".into(),
            200,
            None,
            br#"{"code":0,"data":{"orders":[{"id":5}]}}"#,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }
}

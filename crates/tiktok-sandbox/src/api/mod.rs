//! The TikTok-facing HTTP surface: one entry point that routes by method and path, checks the request
//! like TikTok's gateway does (app key, timestamp window, signature, token, shop cipher, rate limit),
//! applies the configured faults, and wraps every answer in TikTok's envelope.
mod auth;
mod faults;
mod fulfil;
mod orders;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::codes;
use crate::sign;
use crate::state::{AppState, lock};

pub(crate) use auth::{authorize, label};

/// A handler's answer before it is wrapped: HTTP status, TikTok code, message, data.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub data: Value,
}

impl Reply {
    pub fn ok(data: Value) -> Self {
        Self {
            status: StatusCode::OK,
            code: codes::SUCCESS,
            message: "Success".to_owned(),
            data,
        }
    }
    pub fn err(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            data: Value::Null,
        }
    }
    /// Invalid input (sandbox choice: the catch-all 36009004 with HTTP 400).
    pub fn bad(message: impl Into<String>) -> Self {
        Self::err(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, message)
    }
}

/// Which call this is: its stats/fault name and whether it is shop-scoped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Shops,
    SellerShops,
    WebhooksGet,
    WebhooksPut,
    WebhooksDelete,
    OrderSearch,
    OrderDetail,
    PackageShip(String),
    PackagesBatchShip,
    OrderPackages(String),
    ShippingInfoUpdate(String),
    PackageDetail(String),
    ShippingDocument(String),
    ShippingProviders(String),
    TokenGet,
    TokenRefresh,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.as_str();
        Some(match (m, segs.as_slice()) {
            ("GET", ["authorization", "202309", "shops"]) => Route::Shops,
            ("GET", ["seller", "202309", "shops"]) => Route::SellerShops,
            ("GET", ["event", "202309", "webhooks"]) => Route::WebhooksGet,
            ("PUT", ["event", "202309", "webhooks"]) => Route::WebhooksPut,
            ("DELETE", ["event", "202309", "webhooks"]) => Route::WebhooksDelete,
            ("POST", ["order", "202309", "orders", "search"]) => Route::OrderSearch,
            ("GET", ["order", "202309", "orders"]) => Route::OrderDetail,
            ("POST", ["fulfillment", "202309", "packages", "ship"]) => Route::PackagesBatchShip,
            ("POST", ["fulfillment", "202309", "packages", id, "ship"]) => {
                Route::PackageShip((*id).to_owned())
            }
            ("GET", ["fulfillment", "202309", "packages", id]) => {
                Route::PackageDetail((*id).to_owned())
            }
            (
                "GET",
                [
                    "fulfillment",
                    "202309",
                    "packages",
                    id,
                    "shipping_documents",
                ],
            ) => Route::ShippingDocument((*id).to_owned()),
            ("POST", ["fulfillment", "202309", "orders", id, "packages"]) => {
                Route::OrderPackages((*id).to_owned())
            }
            (
                "POST",
                [
                    "fulfillment",
                    "202309",
                    "orders",
                    id,
                    "shipping_info",
                    "update",
                ],
            ) => Route::ShippingInfoUpdate((*id).to_owned()),
            (
                "GET",
                [
                    "logistics",
                    "202309",
                    "delivery_options",
                    id,
                    "shipping_providers",
                ],
            ) => Route::ShippingProviders((*id).to_owned()),
            ("GET", ["api", "v2", "token", "get"]) => Route::TokenGet,
            ("GET", ["api", "v2", "token", "refresh"]) => Route::TokenRefresh,
            _ => return None,
        })
    }

    /// Stable name used in stats, fault settings and rate-limit keys.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Shops => "authorization.shops",
            Route::SellerShops => "seller.shops",
            Route::WebhooksGet => "event.webhooks.get",
            Route::WebhooksPut => "event.webhooks.put",
            Route::WebhooksDelete => "event.webhooks.delete",
            Route::OrderSearch => "orders.search",
            Route::OrderDetail => "orders.get",
            Route::PackageShip(_) => "packages.ship",
            Route::PackagesBatchShip => "packages.batch_ship",
            Route::OrderPackages(_) => "orders.packages",
            Route::ShippingInfoUpdate(_) => "orders.shipping_info.update",
            Route::PackageDetail(_) => "packages.get",
            Route::ShippingDocument(_) => "packages.shipping_documents",
            Route::ShippingProviders(_) => "logistics.shipping_providers",
            Route::TokenGet => "token.get",
            Route::TokenRefresh => "token.refresh",
        }
    }

    fn shop_scoped(&self) -> bool {
        !matches!(
            self,
            Route::Shops | Route::SellerShops | Route::TokenGet | Route::TokenRefresh
        )
    }

    fn auth_host(&self) -> bool {
        matches!(self, Route::TokenGet | Route::TokenRefresh)
    }
}

/// Decoded query pairs, in the order sent. Duplicate keys are refused: TikTok's signing has no rule
/// for them, so a client that sends them has a bug.
pub(crate) fn parse_query(uri: &Uri) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if out.iter().any(|(ek, _)| ek.as_str() == k) {
            return Err(format!("query parameter {k} is repeated"));
        }
        // The spec tells clients never to send empty values (their signing treatment is unspecified),
        // so one is a client bug worth surfacing.
        if v.is_empty() {
            return Err(format!("query parameter {k} is empty"));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

pub(crate) fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Everything the gateway checked, handed to the endpoint.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub params: Vec<(String, String)>,
    pub body: Bytes,
}

/// The fallback handler: every path that is not the sandbox's own goes through here.
pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let Some(route) = Route::parse(&method, &path) else {
        count(&state, "unknown");
        let reply = Reply::err(
            StatusCode::NOT_FOUND,
            codes::INVALID_REQUEST,
            format!("no api {method} {path}"),
        );
        return envelope(&state, reply);
    };
    let name = route.name();
    count(&state, name);
    if let Some(resp) = faults::before_gate(&state, name) {
        return resp;
    }
    let (reply, reached_handler) = match gate(&state, &route, &path, &uri, &headers, &body) {
        Err(reply) => (reply, false),
        Ok(params) => {
            if let Some(resp) = faults::before_handler(&state, name).await {
                return resp;
            }
            let call = Call {
                state: &state,
                params,
                body,
            };
            (dispatch(&call, &route), true)
        }
    };
    let resp = envelope(&state, reply);
    if reached_handler {
        return faults::after_handler(&state, name, resp).await;
    }
    resp
}

fn count(state: &AppState, name: &str) {
    *lock(&state.stats).calls.entry(name.to_owned()).or_default() += 1;
}

fn dispatch(call: &Call<'_>, route: &Route) -> Reply {
    let result = match route {
        Route::Shops => auth::shops(call),
        Route::SellerShops => auth::seller_shops(call),
        Route::TokenGet => auth::token_get(call),
        Route::TokenRefresh => auth::token_refresh(call),
        Route::WebhooksGet => auth::webhooks_get(call),
        Route::WebhooksPut => auth::webhooks_put(call),
        Route::WebhooksDelete => auth::webhooks_delete(call),
        Route::OrderSearch => orders::search(call),
        Route::OrderDetail => orders::detail(call),
        Route::PackageShip(id) => fulfil::ship(call, id),
        Route::PackagesBatchShip => fulfil::batch_ship(call),
        Route::OrderPackages(id) => fulfil::order_packages(call, id),
        Route::ShippingInfoUpdate(id) => fulfil::shipping_info_update(call, id),
        Route::PackageDetail(id) => fulfil::package_detail(call, id),
        Route::ShippingDocument(id) => fulfil::shipping_document(call, id),
        Route::ShippingProviders(id) => fulfil::shipping_providers(call, id),
    };
    match result {
        Ok(data) => Reply::ok(data),
        Err(reply) => reply,
    }
}

fn unauthorized(code: i64, message: impl Into<String>) -> Reply {
    Reply::err(StatusCode::UNAUTHORIZED, code, message)
}

/// TikTok's gateway checks, in the order a request meets them.
fn gate(
    state: &AppState,
    route: &Route,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Reply> {
    let params = parse_query(uri).map_err(Reply::bad)?;
    if route.auth_host() {
        // Token endpoints are unsigned: they carry app_key and app_secret themselves.
        return Ok(params);
    }
    let cfg = &state.cfg;
    match param(&params, "app_key") {
        Some(k) if k == cfg.app_key => {}
        Some(k) => {
            return Err(unauthorized(
                codes::INVALID_REQUEST,
                format!("app_key {k} is not valid"),
            ));
        }
        None => return Err(unauthorized(codes::INVALID_REQUEST, "app_key is missing")),
    }
    let now = state.clock.now_secs();
    let ts = param(&params, "timestamp").and_then(|t| t.parse::<i64>().ok());
    match ts {
        Some(ts) if ts >= now - 300 && ts <= now + 30 => {}
        _ => {
            lock(&state.stats).rejected_timestamps += 1;
            let shown = param(&params, "timestamp").unwrap_or("(missing)");
            return Err(unauthorized(
                codes::INVALID_REQUEST,
                format!(
                    "timestamp {shown} is outside the allowed window [{}, {}]",
                    now - 300,
                    now + 30
                ),
            ));
        }
    }
    let signed_ok = match param(&params, "sign") {
        Some(s) => {
            // Some clients sign `{}` for an empty POST body and some sign nothing; accept both.
            sign::verify_request(&cfg.app_secret, path, &params, body, s)
                || (body.is_empty()
                    && sign::verify_request(&cfg.app_secret, path, &params, b"{}", s))
        }
        None => false,
    };
    if !signed_ok {
        lock(&state.stats).rejected_signatures += 1;
        return Err(unauthorized(
            codes::INVALID_SIGN,
            format!("invalid sign for {path}"),
        ));
    }
    if !body.is_empty() {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(missing)");
        if !ct.starts_with("application/json") {
            return Err(Reply::bad(format!(
                "content-type {ct} is not application/json"
            )));
        }
    }
    let token = headers
        .get("x-tts-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token.is_empty() {
        lock(&state.stats).rejected_tokens += 1;
        return Err(unauthorized(
            codes::INVALID_REQUEST,
            "header x-tts-access-token is missing",
        ));
    }
    let expiry = lock(&state.tokens).access.get(token).copied();
    match expiry {
        None => {
            lock(&state.stats).rejected_tokens += 1;
            // Never echo the token: it is a secret.
            return Err(unauthorized(
                codes::TOKEN_INVALID,
                "access token is invalid",
            ));
        }
        Some(exp) if now >= exp => {
            lock(&state.stats).rejected_tokens += 1;
            return Err(unauthorized(
                codes::TOKEN_EXPIRED,
                format!("access token expired at {exp}"),
            ));
        }
        Some(_) => {}
    }
    let cipher = param(&params, "shop_cipher");
    if route.shop_scoped() {
        match cipher {
            None | Some("") => {
                return Err(Reply::err(
                    StatusCode::BAD_REQUEST,
                    codes::MISSING_SHOP_CIPHER,
                    format!("shop_cipher is required for {path}"),
                ));
            }
            Some(c) if c != cfg.shop_cipher => {
                return Err(Reply::bad(format!(
                    "shop_cipher {c} does not belong to this app"
                )));
            }
            Some(_) => {}
        }
    } else if let Some(c) = cipher {
        return Err(Reply::bad(format!(
            "shop_cipher {c} must not be sent to {path}"
        )));
    }
    let key = format!("{}|{}|{}", route.name(), cfg.app_key, cipher.unwrap_or(""));
    let admitted = lock(&state.limiter).admit(&key, state.now_ms());
    if !admitted {
        lock(&state.stats).rate_limited += 1;
        return Err(Reply::err(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_REQUESTS,
            format!("too many requests to {} for this shop", route.name()),
        ));
    }
    Ok(params)
}

/// Wraps a reply in TikTok's envelope and counts its code.
pub(crate) fn envelope(state: &AppState, reply: Reply) -> Response {
    {
        let mut s = lock(&state.stats);
        *s.responses_by_code
            .entry(reply.code.to_string())
            .or_default() += 1;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            s.http_429 += 1;
        }
    }
    let body = json!({
        "code": reply.code,
        "message": reply.message,
        "request_id": state.request_id(),
        "data": reply.data,
    });
    (reply.status, axum::Json(body)).into_response()
}

/// A body that is JSON from a handler; invalid JSON is the client's error.
pub(crate) fn json_body<T: serde::de::DeserializeOwned + Default>(
    body: &Bytes,
) -> Result<T, Reply> {
    if body.is_empty() || body.as_ref() == b"{}" {
        return serde_json::from_slice(b"{}").or_else(|_| Ok(T::default()));
    }
    serde_json::from_slice(body)
        .map_err(|e| Reply::bad(format!("request body is not valid json: {e}")))
}

pub(crate) fn html(status: StatusCode, text: &'static str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Body::from(text))
        .unwrap_or_else(|_| status.into_response())
}

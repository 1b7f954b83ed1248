//! `/sandbox/admin/...`: counters, live faults, outage and storm windows, order generation. These need
//! no signature, so they answer loopback peers only (the sandbox binds to loopback anyway).
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::config::{FaultSettings, Window};
use crate::shop::OrderSpec;
use crate::state::{AppState, lock};

type Peer = ConnectInfo<SocketAddr>;

fn forbidden(peer: &Peer) -> Option<Response> {
    (!peer.0.ip().is_loopback()).then(|| {
        (
            StatusCode::FORBIDDEN,
            format!("admin is loopback only; peer {} refused", peer.0.ip()),
        )
            .into_response()
    })
}

pub(crate) async fn stats(State(st): State<Arc<AppState>>, peer: Peer) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    Json(st.stats()).into_response()
}

pub(crate) async fn get_faults(State(st): State<Arc<AppState>>, peer: Peer) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    Json(lock(&st.faults).clone()).into_response()
}

pub(crate) async fn put_faults(
    State(st): State<Arc<AppState>>,
    peer: Peer,
    Json(f): Json<FaultSettings>,
) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    if let Err(e) = f.validate() {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    *lock(&st.faults) = f.clone();
    Json(f).into_response()
}

/// A window relative to the sandbox clock's now.
#[derive(Debug, Deserialize)]
pub(crate) struct WindowReq {
    #[serde(default)]
    start_in_ms: i64,
    duration_ms: i64,
    /// Outages only: `api` (default: the API and auth paths) or `documents` (label downloads).
    #[serde(default)]
    host: OutageHost,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OutageHost {
    #[default]
    Api,
    Documents,
}

fn window(st: &AppState, w: &WindowReq) -> Result<Window, String> {
    if w.duration_ms <= 0 || w.start_in_ms < 0 {
        return Err(format!(
            "duration_ms {} must be > 0 and start_in_ms {} >= 0",
            w.duration_ms, w.start_in_ms
        ));
    }
    let start = st.now_ms() + w.start_in_ms;
    Ok(Window {
        start_ms: start,
        end_ms: start + w.duration_ms,
    })
}

pub(crate) async fn outage(
    State(st): State<Arc<AppState>>,
    peer: Peer,
    Json(w): Json<WindowReq>,
) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    match window(&st, &w) {
        Ok(win) => {
            let mut f = lock(&st.faults);
            match w.host {
                OutageHost::Api => f.outages.push(win),
                OutageHost::Documents => f.document_outages.push(win),
            }
            drop(f);
            Json(win).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

pub(crate) async fn storm(
    State(st): State<Arc<AppState>>,
    peer: Peer,
    Json(w): Json<WindowReq>,
) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    match window(&st, &w) {
        Ok(win) => {
            lock(&st.faults).throttle_storms.push(win);
            Json(win).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrdersReq {
    #[serde(default = "one")]
    count: usize,
    #[serde(flatten)]
    spec: OrderSpec,
}

fn one() -> usize {
    1
}

pub(crate) async fn orders(
    State(st): State<Arc<AppState>>,
    peer: Peer,
    Json(req): Json<OrdersReq>,
) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    if req.count == 0 || req.count > 10_000 {
        return (
            StatusCode::BAD_REQUEST,
            format!("count {} must be 1..=10000", req.count),
        )
            .into_response();
    }
    let mut shop = st.shop_now();
    let ids: Vec<String> = (0..req.count)
        .map(|_| shop.create_order(req.spec.clone()))
        .collect();
    Json(json!({"order_ids": ids})).into_response()
}

pub(crate) async fn deauthorize(State(st): State<Arc<AppState>>, peer: Peer) -> Response {
    if let Some(r) = forbidden(&peer) {
        return r;
    }
    st.deauthorize();
    Json(json!({"deauthorized": true})).into_response()
}

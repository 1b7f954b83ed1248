//! `/api/<command>` (nested under `/api`): one route per `Console` command, named and shaped like the desktop app's Tauri
//! commands (src-tauri/src/commands.rs), so the UI's one adapter (ui/src/api/transport.ts) calls both
//! the same way: `GET` for calls without arguments, `POST` with the arguments as a JSON object.

use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use creatorflow_engine::store::{OrderDetail, OrderPage, OrderStatusView, Shop};
use creatorflow_engine::{History, HistoryQuery, LiveSnapshot};
use creatorflow_engine::{
    ActionResult, AuditPage, AuditQuery, Backup, BulkPreview, BulkPreviewRequest, BulkReport, BulkRequest, CommandError,
    ConnectRequest, ConnectSession, CsvChunk, DemoFaultChange, DemoFaults, CsvImportReport, EngineError, FailureGroups, JobActionRequest, LabelFile, OrderFacets, OrderQuery, Overview,
    RetryRequest, Settings, ShopSettings, TrackingCsv, TrackingEntry, TrackingResult, TriageFilter, TriageJobDetail,
    TriageJobsQuery, TriagePage,
};
use serde::{Deserialize, Serialize};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::access::refuse;

/// A command's answer: its value as JSON, or a `CommandError` with a status that matches its kind.
pub(crate) struct Reply<T>(Result<T, CommandError>);

impl<T> From<Result<T, EngineError>> for Reply<T> {
    fn from(r: Result<T, EngineError>) -> Self {
        Reply(r.map_err(CommandError::from))
    }
}

pub(crate) fn status_of(kind: &str) -> StatusCode {
    match kind {
        "not_found" => StatusCode::NOT_FOUND,
        "invalid_input" => StatusCode::BAD_REQUEST,
        "conflict" | "refused" | "count_changed" | "not_demo" => StatusCode::CONFLICT,
        "unauthorized" | "authorization" => StatusCode::UNAUTHORIZED,
        "credentials" | "api" | "demo" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(value) => axum::Json(value).into_response(),
            Err(e) => (status_of(&e.kind), axum::Json(e)).into_response(),
        }
    }
}

/// A command's JSON arguments (an object; an empty body counts as `{}`), with a `CommandError` for
/// anything else.
pub(crate) struct Args<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Args<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| refuse(StatusCode::PAYLOAD_TOO_LARGE, "invalid_input", format!("cannot read the request body: {e}")))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(bytes)
            .map(Args)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, "invalid_input", format!("the arguments do not fit this command: {e}")))
    }
}

/// Who is acting, for the audit trail: `web@<client address>` (the token says a person may act, not
/// which person).
pub(crate) struct Actor(String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Actor(format!("web@{}", peer.as_deref().unwrap_or("unknown"))))
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/overview", get(overview).post(overview))
        .route("/live", get(crate::live::stream))
        .route("/live_snapshot", get(live_snapshot).post(live_snapshot))
        .route("/metric_history", post(metric_history))
        .route("/list_shops", get(list_shops).post(list_shops))
        .route("/update_shop_settings", post(update_shop_settings))
        .route("/begin_connect", post(begin_connect))
        .route("/connect_status", post(connect_status))
        .route("/connect_with_code", post(connect_with_code))
        .route("/cancel_connect", post(cancel_connect))
        .route("/demo_faults", get(demo_faults).post(demo_faults))
        .route("/change_demo_faults", post(change_demo_faults))
        .route("/settings", get(settings).post(settings))
        .route("/backup_now", post(backup_now))
        .route("/list_orders", post(list_orders))
        .route("/order_facets", get(order_facets).post(order_facets))
        .route("/show_order", post(show_order))
        .route("/order_status", post(order_status))
        .route("/label_pdf", post(label_pdf))
        .route("/add_tracking", post(add_tracking))
        // A CSV import may be 2 MiB (the engine's limit) plus its JSON quoting: more than axum's 2 MB default.
        .route(
            "/import_tracking_csv",
            post(import_tracking_csv).layer(axum::extract::DefaultBodyLimit::max(creatorflow_engine::MAX_CSV_BYTES * 2 + 4096)),
        )
        .route("/export_orders_csv", post(export_orders_csv))
        .route("/triage_groups", post(triage_groups))
        .route("/triage_jobs", post(triage_jobs))
        .route("/triage_job", post(triage_job))
        .route("/triage_preview", post(triage_preview))
        .route("/triage_bulk", post(triage_bulk))
        .route("/triage_retry", post(triage_retry))
        .route("/triage_discard", post(triage_discard))
        .route("/triage_cancel", post(triage_cancel))
        .route("/audit_log", post(audit_log))
        .fallback(unknown)
}

#[derive(Deserialize)]
struct Req<T> {
    req: T,
}

#[derive(Deserialize)]
struct QueryArg<T> {
    query: T,
}

#[derive(Deserialize)]
struct IdArg {
    id: i64,
}

async fn overview(State(s): State<AppState>) -> Reply<Overview> {
    s.console.overview().await.into()
}

async fn live_snapshot(State(s): State<AppState>) -> Reply<LiveSnapshot> {
    s.console.live_snapshot().await.into()
}

async fn metric_history(State(s): State<AppState>, Args(q): Args<QueryArg<HistoryQuery>>) -> Reply<History> {
    s.console.metric_history(q.query).await.into()
}

async fn list_shops(State(s): State<AppState>) -> Reply<Vec<Shop>> {
    s.console.list_shops().await.into()
}

async fn update_shop_settings(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<ShopSettings>>) -> Reply<Shop> {
    s.console.update_shop_settings(&r.req, &a).await.into()
}

#[derive(Deserialize)]
struct SessionArg {
    id: String,
}

#[derive(Deserialize)]
struct CodeArg {
    id: String,
    code: String,
}

#[derive(Deserialize)]
struct ChangeArg {
    change: DemoFaultChange,
}

async fn begin_connect(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<ConnectRequest>>) -> Reply<ConnectSession> {
    s.console.begin_connect(r.req, &a).await.into()
}

async fn connect_status(State(s): State<AppState>, Args(a): Args<SessionArg>) -> Reply<ConnectSession> {
    s.console.connect_status(&a.id).into()
}

async fn connect_with_code(State(s): State<AppState>, Args(a): Args<CodeArg>) -> Reply<ConnectSession> {
    s.console.connect_with_code(&a.id, &a.code).await.into()
}

async fn cancel_connect(State(s): State<AppState>, Args(a): Args<SessionArg>) -> Reply<ConnectSession> {
    s.console.cancel_connect(&a.id).await.into()
}

async fn demo_faults(State(s): State<AppState>) -> Reply<DemoFaults> {
    s.console.demo_faults().into()
}

async fn change_demo_faults(State(s): State<AppState>, Args(a): Args<ChangeArg>) -> Reply<DemoFaults> {
    s.console.change_demo_faults(&a.change).into()
}

async fn settings(State(s): State<AppState>) -> Reply<Settings> {
    Ok(s.console.settings()).into()
}

async fn backup_now(State(s): State<AppState>, Actor(a): Actor) -> Reply<Backup> {
    s.console.backup_now(&a).await.into()
}

#[derive(Deserialize)]
struct Query {
    query: OrderQuery,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct PackageArg {
    package: i64,
}

async fn list_orders(State(s): State<AppState>, Args(q): Args<Query>) -> Reply<OrderPage> {
    s.console.list_orders(&q.query).await.into()
}

async fn order_facets(State(s): State<AppState>) -> Reply<OrderFacets> {
    s.console.order_facets().await.into()
}

async fn show_order(State(s): State<AppState>, Args(a): Args<Id>) -> Reply<OrderDetail> {
    s.console.show_order(&a.id).await.into()
}

async fn order_status(State(s): State<AppState>, Args(a): Args<Id>) -> Reply<OrderStatusView> {
    s.console.order_status(&a.id).await.into()
}

async fn label_pdf(State(s): State<AppState>, Args(a): Args<PackageArg>) -> Reply<LabelFile> {
    s.console.label_pdf(a.package).await.into()
}

async fn add_tracking(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<TrackingEntry>>) -> Reply<TrackingResult> {
    s.console.add_tracking(&r.req, &a).await.into()
}

async fn import_tracking_csv(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<TrackingCsv>>) -> Reply<CsvImportReport> {
    s.console.import_tracking_csv(&r.req, &a).await.into()
}

async fn export_orders_csv(State(s): State<AppState>, Args(q): Args<Query>) -> Reply<CsvChunk> {
    s.console.export_orders_csv(&q.query).await.into()
}

async fn triage_groups(State(s): State<AppState>, Args(a): Args<QueryArg<TriageFilter>>) -> Reply<FailureGroups> {
    s.console.triage_groups(&a.query).await.into()
}

async fn triage_jobs(State(s): State<AppState>, Args(a): Args<QueryArg<TriageJobsQuery>>) -> Reply<TriagePage> {
    s.console.triage_jobs(&a.query).await.into()
}

async fn triage_job(State(s): State<AppState>, Args(a): Args<IdArg>) -> Reply<TriageJobDetail> {
    s.console.triage_job(a.id).await.into()
}

async fn triage_preview(State(s): State<AppState>, Args(r): Args<Req<BulkPreviewRequest>>) -> Reply<BulkPreview> {
    s.console.triage_preview(&r.req).await.into()
}

async fn triage_bulk(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<BulkRequest>>) -> Reply<BulkReport> {
    s.console.triage_bulk(&r.req, &a).await.into()
}

async fn triage_retry(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<RetryRequest>>) -> Reply<ActionResult> {
    s.console.triage_retry(&r.req, &a).await.into()
}

async fn triage_discard(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<JobActionRequest>>) -> Reply<ActionResult> {
    s.console.triage_discard(&r.req, &a).await.into()
}

async fn triage_cancel(State(s): State<AppState>, Actor(a): Actor, Args(r): Args<Req<JobActionRequest>>) -> Reply<ActionResult> {
    s.console.triage_cancel(&r.req, &a).await.into()
}

async fn audit_log(State(s): State<AppState>, Args(a): Args<QueryArg<AuditQuery>>) -> Reply<AuditPage> {
    s.console.audit_log(&a.query).await.into()
}

async fn unknown(uri: axum::http::Uri) -> Response {
    // Nested under /api: the path here is the command.
    let command = uri.path().trim_start_matches('/');
    refuse(StatusCode::NOT_FOUND, "not_found", format!("no command {command:?}"))
}

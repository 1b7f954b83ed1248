//! The Tauri commands: thin adapters over `engine::Console` (deserialize, call one method, map the error).
//! Loops, SQL and retries belong in the engine, never here. Names and arguments match the web console's
//! `/api/<command>` routes (crates/web/src/api.rs), so the UI calls both the same way.

use creatorflow_engine::store::{OrderDetail, OrderPage, OrderStatusView, Shop};
use creatorflow_engine::{
    ActionResult, AuditPage, AuditQuery, Backup, BulkPreview, BulkPreviewRequest, BulkReport, BulkRequest, ConnectRequest,
    ConnectSession, CsvChunk, DemoFaultChange, DemoFaults,
    CsvImportReport, FailureGroups, History, HistoryQuery, JobActionRequest, LabelFile, LiveSnapshot, LiveSubscription,
    OrderFacets, OrderQuery, Overview, RetryRequest, Settings, ShopSettings, TrackingCsv, TrackingEntry, TrackingResult,
    TriageFilter, TriageJobDetail, TriageJobsQuery, TriagePage,
};
use std::time::Duration;

use tauri::{AppHandle, Runtime, State};
use tauri::ipc::Channel;

use crate::{CommandError, ConsoleState};

/// Who acts from the desktop, for the audit trail: the OS user running the app.
fn actor() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "desktop".to_owned())
}

/// The home screen's snapshot: product, version, database in use and queue counts.
#[tauri::command]
pub async fn overview(console: State<'_, ConsoleState>) -> Result<Overview, CommandError> {
    Ok(console.get().await?.overview().await?)
}

#[tauri::command]
pub async fn list_shops(console: State<'_, ConsoleState>) -> Result<Vec<Shop>, CommandError> {
    Ok(console.get().await?.list_shops().await?)
}

#[tauri::command]
pub async fn update_shop_settings(console: State<'_, ConsoleState>, req: ShopSettings) -> Result<Shop, CommandError> {
    Ok(console.get().await?.update_shop_settings(&req, &actor()).await?)
}

/// Starts connecting a shop (OAuth): the session with the link to open; poll `connect_status`.
#[tauri::command]
pub async fn begin_connect(console: State<'_, ConsoleState>, req: ConnectRequest) -> Result<ConnectSession, CommandError> {
    Ok(console.get().await?.begin_connect(req, &actor()).await?)
}

#[tauri::command]
pub async fn connect_status(console: State<'_, ConsoleState>, id: String) -> Result<ConnectSession, CommandError> {
    Ok(console.get().await?.connect_status(&id)?)
}

/// Completes a connect session with a pasted code or redirect URL.
#[tauri::command]
pub async fn connect_with_code(console: State<'_, ConsoleState>, id: String, code: String) -> Result<ConnectSession, CommandError> {
    Ok(console.get().await?.connect_with_code(&id, &code).await?)
}

#[tauri::command]
pub async fn cancel_connect(console: State<'_, ConsoleState>, id: String) -> Result<ConnectSession, CommandError> {
    Ok(console.get().await?.cancel_connect(&id).await?)
}

#[tauri::command]
pub async fn demo_faults(console: State<'_, ConsoleState>) -> Result<DemoFaults, CommandError> {
    Ok(console.get().await?.demo_faults()?)
}

/// The demo shop's fault controls (an outage, a throttle storm, failure rates, clear).
#[tauri::command]
pub async fn change_demo_faults(console: State<'_, ConsoleState>, change: DemoFaultChange) -> Result<DemoFaults, CommandError> {
    Ok(console.get().await?.change_demo_faults(&change)?)
}

/// Stops the pipeline (running jobs get a few seconds) and starts the app again: how the window
/// leaves the demo once a shop is connected.
#[tauri::command]
pub async fn restart_app<R: Runtime>(app: AppHandle<R>, console: State<'_, ConsoleState>) -> Result<(), CommandError> {
    if let Ok(c) = console.get().await {
        c.shutdown(Duration::from_secs(5)).await?;
    }
    app.restart()
}

#[tauri::command]
pub async fn settings(console: State<'_, ConsoleState>) -> Result<Settings, CommandError> {
    Ok(console.get().await?.settings())
}

#[tauri::command]
pub async fn backup_now(console: State<'_, ConsoleState>) -> Result<Backup, CommandError> {
    Ok(console.get().await?.backup_now(&actor()).await?)
}

/// One keyset page of cached orders matching the filters, newest first.
#[tauri::command]
pub async fn list_orders(console: State<'_, ConsoleState>, query: OrderQuery) -> Result<OrderPage, CommandError> {
    Ok(console.get().await?.list_orders(&query).await?)
}

/// The shops and status counts the order filters offer.
#[tauri::command]
pub async fn order_facets(console: State<'_, ConsoleState>) -> Result<OrderFacets, CommandError> {
    Ok(console.get().await?.order_facets().await?)
}

/// One order in full (`id`: TikTok order id or local id).
#[tauri::command]
pub async fn show_order(console: State<'_, ConsoleState>, id: String) -> Result<OrderDetail, CommandError> {
    Ok(console.get().await?.show_order(&id).await?)
}

/// Where an order is (status, ship-by, tracking) in one indexed read: "where is order X?".
#[tauri::command]
pub async fn order_status(console: State<'_, ConsoleState>, id: String) -> Result<OrderStatusView, CommandError> {
    Ok(console.get().await?.order_status(&id).await?)
}

/// The cached label PDF of a package (`package`: its local id), base64.
#[tauri::command]
pub async fn label_pdf(console: State<'_, ConsoleState>, package: i64) -> Result<LabelFile, CommandError> {
    Ok(console.get().await?.label_pdf(package).await?)
}

/// Records a tracking number for a seller-shipped order; the OS user is the actor.
#[tauri::command]
pub async fn add_tracking(console: State<'_, ConsoleState>, req: TrackingEntry) -> Result<TrackingResult, CommandError> {
    Ok(console.get().await?.add_tracking(&req, &actor()).await?)
}

/// Imports tracking numbers from CSV text; the OS user is the actor.
#[tauri::command]
pub async fn import_tracking_csv(console: State<'_, ConsoleState>, req: TrackingCsv) -> Result<CsvImportReport, CommandError> {
    Ok(console.get().await?.import_tracking_csv(&req, &actor()).await?)
}

/// One chunk of the CSV export of the filter (`query.after` continues after the previous chunk).
#[tauri::command]
pub async fn export_orders_csv(console: State<'_, ConsoleState>, query: OrderQuery) -> Result<CsvChunk, CommandError> {
    Ok(console.get().await?.export_orders_csv(&query).await?)
}

/// Failed jobs grouped by cause (fingerprint) with counts, shops and first/last seen.
#[tauri::command]
pub async fn triage_groups(console: State<'_, ConsoleState>, query: TriageFilter) -> Result<FailureGroups, CommandError> {
    Ok(console.get().await?.triage_groups(&query).await?)
}

/// One keyset page of failed jobs matching a filter, newest first.
#[tauri::command]
pub async fn triage_jobs(console: State<'_, ConsoleState>, query: TriageJobsQuery) -> Result<TriagePage, CommandError> {
    Ok(console.get().await?.triage_jobs(&query).await?)
}

/// One job: args, attempts with TikTok's request ids, audit history, the order and its timeline.
#[tauri::command]
pub async fn triage_job(console: State<'_, ConsoleState>, id: i64) -> Result<TriageJobDetail, CommandError> {
    Ok(console.get().await?.triage_job(id).await?)
}

/// How many jobs a bulk action would select (pass the count back to `triage_bulk`).
#[tauri::command]
pub async fn triage_preview(console: State<'_, ConsoleState>, req: BulkPreviewRequest) -> Result<BulkPreview, CommandError> {
    Ok(console.get().await?.triage_preview(&req).await?)
}

/// Retry, discard or cancel a selection; refuses when it no longer has the previewed count.
#[tauri::command]
pub async fn triage_bulk(console: State<'_, ConsoleState>, req: BulkRequest) -> Result<BulkReport, CommandError> {
    Ok(console.get().await?.triage_bulk(&req, &actor()).await?)
}

/// Retry one job now, optionally with edited args (the original args are kept).
#[tauri::command]
pub async fn triage_retry(console: State<'_, ConsoleState>, req: RetryRequest) -> Result<ActionResult, CommandError> {
    Ok(console.get().await?.triage_retry(&req, &actor()).await?)
}

/// Discard one unfinished job with a reason.
#[tauri::command]
pub async fn triage_discard(console: State<'_, ConsoleState>, req: JobActionRequest) -> Result<ActionResult, CommandError> {
    Ok(console.get().await?.triage_discard(&req, &actor()).await?)
}

/// Cancel one unfinished job.
#[tauri::command]
pub async fn triage_cancel(console: State<'_, ConsoleState>, req: JobActionRequest) -> Result<ActionResult, CommandError> {
    Ok(console.get().await?.triage_cancel(&req, &actor()).await?)
}

/// The audit log, newest first.
#[tauri::command]
pub async fn audit_log(console: State<'_, ConsoleState>, query: AuditQuery) -> Result<AuditPage, CommandError> {
    Ok(console.get().await?.audit_log(&query).await?)
}

/// The live dashboard's snapshot, once.
#[tauri::command]
pub async fn live_snapshot(console: State<'_, ConsoleState>) -> Result<LiveSnapshot, CommandError> {
    Ok(console.get().await?.live_snapshot().await?)
}

/// Pushes a snapshot a second over `on_snapshot` until `unsubscribe_live` or the window is gone.
/// Async so it runs on the async runtime, where the engine spawns the subscription's task.
#[tauri::command]
pub async fn subscribe_live(console: State<'_, ConsoleState>, on_snapshot: Channel<LiveSnapshot>) -> Result<LiveSubscription, CommandError> {
    Ok(console.get().await?.subscribe_live(move |snapshot| on_snapshot.send(snapshot).is_ok()))
}

/// Ends a live subscription; `false` when it had already ended.
#[tauri::command]
pub async fn unsubscribe_live(console: State<'_, ConsoleState>, id: i64) -> Result<bool, CommandError> {
    Ok(console.get().await?.unsubscribe_live(id))
}

/// Throughput and latency for the last hour, day or week, from the minute rollups.
#[tauri::command]
pub async fn metric_history(console: State<'_, ConsoleState>, query: HistoryQuery) -> Result<History, CommandError> {
    Ok(console.get().await?.metric_history(query).await?)
}

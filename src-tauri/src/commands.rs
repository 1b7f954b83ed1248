//! The Tauri commands: thin adapters over `engine::Console` (deserialize, call one method, map the error).
//! Loops, SQL and retries belong in the engine, never here. Names and arguments match the web console's
//! `/api/<command>` routes (crates/web/src/api.rs), so the UI calls both the same way.

use creatorflow_engine::store::{OrderDetail, OrderPage, Shop};
use creatorflow_engine::{
    Backup, CsvChunk, CsvImportReport, LabelFile, OrderFacets, OrderQuery, Overview, Settings, ShopSettings, TrackingCsv,
    TrackingEntry, TrackingResult,
};
use tauri::State;

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
    Ok(console.get()?.overview().await?)
}

#[tauri::command]
pub async fn list_shops(console: State<'_, ConsoleState>) -> Result<Vec<Shop>, CommandError> {
    Ok(console.get()?.list_shops().await?)
}

#[tauri::command]
pub async fn update_shop_settings(console: State<'_, ConsoleState>, req: ShopSettings) -> Result<Shop, CommandError> {
    Ok(console.get()?.update_shop_settings(&req, &actor()).await?)
}

#[tauri::command]
pub async fn settings(console: State<'_, ConsoleState>) -> Result<Settings, CommandError> {
    Ok(console.get()?.settings())
}

#[tauri::command]
pub async fn backup_now(console: State<'_, ConsoleState>) -> Result<Backup, CommandError> {
    Ok(console.get()?.backup_now(&actor()).await?)
}

/// One keyset page of cached orders matching the filters, newest first.
#[tauri::command]
pub async fn list_orders(console: State<'_, ConsoleState>, query: OrderQuery) -> Result<OrderPage, CommandError> {
    Ok(console.get()?.list_orders(&query).await?)
}

/// The shops and status counts the order filters offer.
#[tauri::command]
pub async fn order_facets(console: State<'_, ConsoleState>) -> Result<OrderFacets, CommandError> {
    Ok(console.get()?.order_facets().await?)
}

/// One order in full (`id`: TikTok order id or local id).
#[tauri::command]
pub async fn show_order(console: State<'_, ConsoleState>, id: String) -> Result<OrderDetail, CommandError> {
    Ok(console.get()?.show_order(&id).await?)
}

/// The cached label PDF of a package (`package`: its local id), base64.
#[tauri::command]
pub async fn label_pdf(console: State<'_, ConsoleState>, package: i64) -> Result<LabelFile, CommandError> {
    Ok(console.get()?.label_pdf(package).await?)
}

/// Records a tracking number for a seller-shipped order; the OS user is the actor.
#[tauri::command]
pub async fn add_tracking(console: State<'_, ConsoleState>, req: TrackingEntry) -> Result<TrackingResult, CommandError> {
    Ok(console.get()?.add_tracking(&req, &actor()).await?)
}

/// Imports tracking numbers from CSV text; the OS user is the actor.
#[tauri::command]
pub async fn import_tracking_csv(console: State<'_, ConsoleState>, req: TrackingCsv) -> Result<CsvImportReport, CommandError> {
    Ok(console.get()?.import_tracking_csv(&req, &actor()).await?)
}

/// One chunk of the CSV export of the filter (`query.after` continues after the previous chunk).
#[tauri::command]
pub async fn export_orders_csv(console: State<'_, ConsoleState>, query: OrderQuery) -> Result<CsvChunk, CommandError> {
    Ok(console.get()?.export_orders_csv(&query).await?)
}

//! The Tauri commands: thin adapters over `engine::Console` (deserialize, call one method, map the error).
//! Loops, SQL and retries belong in the engine, never here. Names and arguments match the web console's
//! `/api/<command>` routes (crates/web/src/api.rs), so the UI calls both the same way.

use creatorflow_engine::store::Shop;
use creatorflow_engine::{Backup, Overview, Settings, ShopSettings};
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

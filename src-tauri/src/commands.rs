//! The Tauri commands: thin adapters over `engine::Console` (deserialize, call one method, map the error).
//! Loops, SQL and retries belong in the engine, never here.

use creatorflow_engine::Overview;
use tauri::State;

use crate::{CommandError, ConsoleState};

/// The home screen's snapshot: product, version, database in use and queue counts.
#[tauri::command]
pub async fn overview(console: State<'_, ConsoleState>) -> Result<Overview, CommandError> {
    Ok(console.get()?.overview().await?)
}

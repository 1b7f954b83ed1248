//! The Tauri commands: thin adapters over `engine::Console` (deserialize, call one method, map the error).
//! Loops, SQL and retries belong in the engine, never here.

use creatorflow_engine::{History, HistoryQuery, LiveSnapshot, LiveSubscription, Overview};
use tauri::State;
use tauri::ipc::Channel;

use crate::{CommandError, ConsoleState};

/// The home screen's snapshot: product, version, database in use and queue counts.
#[tauri::command]
pub async fn overview(console: State<'_, ConsoleState>) -> Result<Overview, CommandError> {
    Ok(console.get()?.overview().await?)
}

/// The live dashboard's snapshot, once.
#[tauri::command]
pub async fn live_snapshot(console: State<'_, ConsoleState>) -> Result<LiveSnapshot, CommandError> {
    Ok(console.get()?.live_snapshot().await?)
}

/// Pushes a snapshot a second over `on_snapshot` until `unsubscribe_live` or the window is gone.
/// Async so it runs on the async runtime, where the engine spawns the subscription's task.
#[tauri::command]
pub async fn subscribe_live(console: State<'_, ConsoleState>, on_snapshot: Channel<LiveSnapshot>) -> Result<LiveSubscription, CommandError> {
    Ok(console.get()?.subscribe_live(move |snapshot| on_snapshot.send(snapshot).is_ok()))
}

/// Ends a live subscription; `false` when it had already ended.
#[tauri::command]
pub fn unsubscribe_live(console: State<'_, ConsoleState>, id: i64) -> Result<bool, CommandError> {
    Ok(console.get()?.unsubscribe_live(id))
}

/// Throughput and latency for the last hour, day or week, from the minute rollups.
#[tauri::command]
pub async fn metric_history(console: State<'_, ConsoleState>, query: HistoryQuery) -> Result<History, CommandError> {
    Ok(console.get()?.metric_history(query).await?)
}

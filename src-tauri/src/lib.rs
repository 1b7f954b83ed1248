//! The desktop shell: builder, plugins, managed state and one-line commands over `engine::Console`.
//!
//! `run()` is the whole app. It is split into [`builder`] (commands + setup, generic over the runtime) and
//! [`context`] (the embedded config, UI and ACL) so tests build the very same app on Tauri's mock runtime.

mod commands;
mod error;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use creatorflow_engine::{AlertWatch, Console, ConsoleConfig, ServiceOptions, default_data_dir};
use tauri::{AppHandle, Builder, Context, Manager, RunEvent, Runtime};
use tauri_plugin_notification::NotificationExt;

pub use error::CommandError;

/// Where the shell opens the engine. `run()` reads it from the environment.
#[derive(Debug, Clone, Default)]
pub struct ShellConfig {
    /// `CREATORFLOW_DATA_DIR`; `None` means the engine's default (e.g. ~/.local/share/creatorflow).
    pub data_dir: Option<PathBuf>,
    /// `CREATORFLOW_DATABASE_URL` (`postgres://...`); `None` means the local SQLite file in the data dir.
    pub database_url: Option<String>,
    /// Run the pipeline in this process (`Console::launch`, the demo shop when no shop is connected);
    /// `false` (`CREATORFLOW_NO_PIPELINE=1`) opens the database read-only, e.g. beside headless workers.
    pub pipeline: bool,
}

impl ShellConfig {
    /// Reads `CREATORFLOW_DATA_DIR` and `CREATORFLOW_DATABASE_URL`; empty values count as unset.
    pub fn from_env() -> Self {
        ShellConfig {
            data_dir: std::env::var_os("CREATORFLOW_DATA_DIR")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from),
            database_url: std::env::var("CREATORFLOW_DATABASE_URL")
                .ok()
                .filter(|value| !value.is_empty()),
            pipeline: std::env::var("CREATORFLOW_NO_PIPELINE").as_deref() != Ok("1"),
        }
    }
}

/// The engine as the commands see it. It opens in the background while the window starts (the two
/// overlap instead of the window waiting for the database, the migrations and the demo shop), and
/// commands wait until it is open. When it cannot be opened the app still starts and every command
/// returns the reason, so the window can show it instead of the process dying before a window exists.
pub struct ConsoleState {
    opened: tokio::sync::watch::Receiver<Option<Result<Console, CommandError>>>,
}

impl ConsoleState {
    /// The console, once open (a clone: cheap, and every clone shares the engine).
    pub async fn get(&self) -> Result<Console, CommandError> {
        let mut opened = self.opened.clone();
        let state = opened
            .wait_for(Option::is_some)
            .await
            .map_err(|_| CommandError::new("unavailable", "the console stopped before it opened"))?;
        match state.as_ref() {
            Some(result) => result.clone(),
            None => Err(CommandError::new("unavailable", "the console is not open")),
        }
    }

    /// The console if it is open by now (the exit handler does not wait for one still opening).
    fn now(&self) -> Option<Console> {
        self.opened.borrow().as_ref().and_then(|r| r.as_ref().ok().cloned())
    }
}

/// Adds the shell's commands and its setup (open the engine, manage it as state) to `builder`.
pub fn builder<R: Runtime>(builder: Builder<R>, config: ShellConfig) -> Builder<R> {
    builder
        .plugin(tauri_plugin_notification::init())
        // "Open in browser" for the shop-connect link; the capability allows http(s) URLs only.
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::live_snapshot,
            commands::subscribe_live,
            commands::unsubscribe_live,
            commands::metric_history,
            commands::triage_groups,
            commands::triage_jobs,
            commands::triage_job,
            commands::triage_preview,
            commands::triage_bulk,
            commands::triage_retry,
            commands::triage_discard,
            commands::triage_cancel,
            commands::audit_log,
            commands::list_shops,
            commands::update_shop_settings,
            commands::begin_connect,
            commands::connect_status,
            commands::connect_with_code,
            commands::cancel_connect,
            commands::demo_faults,
            commands::change_demo_faults,
            commands::restart_app,
            commands::settings,
            commands::backup_now,
            commands::list_orders,
            commands::order_facets,
            commands::show_order,
            commands::order_status,
            commands::label_pdf,
            commands::add_tracking,
            commands::import_tracking_csv,
            commands::export_orders_csv,
        ])
        .setup(move |app| {
            let (opened, ready) = tokio::sync::watch::channel(None);
            app.manage(ConsoleState { opened: ready });
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = open_console(config).await;
                if let Ok(console) = &state {
                    notify_alerts(handle, console);
                }
                // Nobody may be waiting yet; the value stays for the first command.
                opened.send_replace(Some(state));
            });
            Ok(())
        })
}

/// A desktop notification for every alert as it fires (once per firing, not every second).
fn notify_alerts<R: Runtime>(app: AppHandle<R>, console: &Console) {
    let mut watch = AlertWatch::default();
    console.subscribe_live(move |snapshot| {
        for alert in watch.new_firings(&snapshot.alerts) {
            let shown = app.notification().builder().title(&alert.title).body(&alert.action).show();
            if let Err(error) = shown {
                tracing::warn!(%error, alert = %alert.id, "desktop notification not shown");
            }
        }
        true
    });
}

/// Stops the in-process pipeline when the app exits: running jobs get a few seconds, the metrics'
/// last minute is written.
pub fn on_exit<R: Runtime>(app: &AppHandle<R>) {
    if let Some(state) = app.try_state::<ConsoleState>()
        && let Some(console) = state.now()
        && let Err(error) = tauri::async_runtime::block_on(console.shutdown(Duration::from_secs(5)))
    {
        tracing::error!(%error, "the pipeline did not stop cleanly");
    }
}

/// The app's compiled-in context: tauri.conf.json, the embedded ui/dist and the resolved ACL.
pub fn context<R: Runtime>() -> Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app and blocks until it exits.
pub fn run() {
    init_tracing();
    let config = ShellConfig::from_env();
    let app = match builder(tauri::Builder::default(), config).build(context()) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "the desktop shell did not start");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            on_exit(handle);
        }
    });
}

/// Opens the engine. Without CREATORFLOW_DATA_DIR the data dir is the engine's default, the same one
/// `creatorflow-cli` uses, so both faces see one local database.
async fn open_console(config: ShellConfig) -> Result<Console, CommandError> {
    let data_dir = match config.data_dir {
        Some(dir) => dir,
        None => match default_data_dir() {
            Ok(dir) => dir,
            Err(error) => return unavailable(error),
        },
    };
    tracing::info!(data_dir = %data_dir.display(), "opening the console");
    let console_config = ConsoleConfig {
        data_dir,
        database_url: config.database_url,
    };
    if config.pipeline {
        let options = ServiceOptions { demo_when_no_shop: true, ..ServiceOptions::default() };
        match Console::launch(console_config.clone(), options).await {
            Ok(console) => return Ok(console),
            // E.g. no keyring for a connected shop's secrets: the window still shows the cached data.
            Err(error) => tracing::error!(kind = error.kind(), %error, "the pipeline did not start; the console opens read-only"),
        }
    }
    match Console::open(console_config).await {
        Ok(console) => Ok(console),
        Err(error) => unavailable(error),
    }
}

fn unavailable(error: creatorflow_engine::EngineError) -> Result<Console, CommandError> {
    tracing::error!(kind = error.kind(), %error, "the console could not be opened");
    Err(error.into())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore "already set": a host process (or a test) may have installed its own subscriber first.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

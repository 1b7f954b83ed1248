//! The desktop shell: builder, plugins, managed state and one-line commands over `engine::Console`.
//!
//! `run()` is the whole app. It is split into [`builder`] (commands + setup, generic over the runtime) and
//! [`context`] (the embedded config, UI and ACL) so tests build the very same app on Tauri's mock runtime.

mod commands;
mod error;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use creatorflow_engine::{Console, ConsoleConfig, default_data_dir};
use tauri::{Builder, Context, Manager, Runtime};

pub use error::CommandError;

/// Where the shell opens the engine. `run()` reads it from the environment.
#[derive(Debug, Clone, Default)]
pub struct ShellConfig {
    /// `CREATORFLOW_DATA_DIR`; `None` means the engine's default (e.g. ~/.local/share/creatorflow).
    pub data_dir: Option<PathBuf>,
    /// `CREATORFLOW_DATABASE_URL` (`postgres://...`); `None` means the local SQLite file in the data dir.
    pub database_url: Option<String>,
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
        }
    }
}

/// The engine as the commands see it. When it cannot be opened the app still starts and every command
/// returns the reason, so the window can show it instead of the process dying before a window exists.
pub enum ConsoleState {
    Ready(Console),
    Unavailable(CommandError),
}

impl ConsoleState {
    pub fn get(&self) -> Result<&Console, CommandError> {
        match self {
            ConsoleState::Ready(console) => Ok(console),
            ConsoleState::Unavailable(error) => Err(error.clone()),
        }
    }
}

/// Adds the shell's commands and its setup (open the engine, manage it as state) to `builder`.
pub fn builder<R: Runtime>(builder: Builder<R>, config: ShellConfig) -> Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::list_shops,
            commands::update_shop_settings,
            commands::settings,
            commands::backup_now,
            commands::list_orders,
            commands::order_facets,
            commands::show_order,
            commands::label_pdf,
            commands::add_tracking,
            commands::import_tracking_csv,
            commands::export_orders_csv,
        ])
        .setup(move |app| {
            // Opening is fast (one SQLite file and its migrations) and the first command needs it, so
            // it completes before the window loads rather than racing it.
            let state = tauri::async_runtime::block_on(open_console(config));
            app.manage(state);
            Ok(())
        })
}

/// The app's compiled-in context: tauri.conf.json, the embedded ui/dist and the resolved ACL.
pub fn context<R: Runtime>() -> Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app and blocks until it exits.
pub fn run() {
    init_tracing();
    let config = ShellConfig::from_env();
    let result = builder(tauri::Builder::default(), config).run(context());
    if let Err(error) = result {
        tracing::error!(%error, "the desktop shell stopped with an error");
        std::process::exit(1);
    }
}

/// Opens the engine. Without CREATORFLOW_DATA_DIR the data dir is the engine's default, the same one
/// `creatorflow-cli` uses, so both faces see one local database.
async fn open_console(config: ShellConfig) -> ConsoleState {
    let data_dir = match config.data_dir {
        Some(dir) => dir,
        None => match default_data_dir() {
            Ok(dir) => dir,
            Err(error) => return unavailable(error),
        },
    };
    tracing::info!(data_dir = %data_dir.display(), "opening the console");
    let config = ConsoleConfig {
        data_dir,
        database_url: config.database_url,
    };
    match Console::open(config).await {
        Ok(console) => ConsoleState::Ready(console),
        Err(error) => unavailable(error),
    }
}

fn unavailable(error: creatorflow_engine::EngineError) -> ConsoleState {
    tracing::error!(kind = error.kind(), %error, "the console could not be opened");
    ConsoleState::Unavailable(error.into())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore "already set": a host process (or a test) may have installed its own subscriber first.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

//! CreatorFlow's engine: everything the desktop app, the CLI and the web console share.
//!
//! TEMPORARY (wip/tauri): a minimal stand-in with exactly the `Console` API the desktop shell calls, so the
//! shell builds before the real engine lands. It creates the data directory and reports no jobs; the lead
//! replaces this body with the real engine when merging.

use std::path::PathBuf;

use serde::Serialize;

/// Where and how a `Console` keeps its data.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Directory for the local SQLite cache and other per-user state.
    pub data_dir: PathBuf,
    /// `postgres://...` to scale out; `None` means the local SQLite file in `data_dir`.
    pub database_url: Option<String>,
}

/// The one API every face (desktop, web, CLI) calls.
#[derive(Debug, Clone)]
pub struct Console {
    database: String,
}

/// What the console's home screen shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub product: String,
    pub version: String,
    pub database: String,
    pub queues: Vec<QueueCount>,
}

/// The number of jobs of one kind in one state of one queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueCount {
    pub queue: String,
    pub kind: String,
    pub state: String,
    pub count: i64,
}

#[derive(thiserror::Error, Debug)]
pub enum EngineError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported database url scheme {scheme:?} (expected sqlite: or postgres:)")]
    UnsupportedDatabase { scheme: String },
}

impl EngineError {
    /// A stable, machine-readable name the UI can branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::DataDir { .. } => "data_dir",
            EngineError::UnsupportedDatabase { .. } => "unsupported_database",
        }
    }
}

impl Console {
    pub async fn open(config: ConsoleConfig) -> Result<Console, EngineError> {
        tokio::fs::create_dir_all(&config.data_dir)
            .await
            .map_err(|source| EngineError::DataDir {
                path: config.data_dir.clone(),
                source,
            })?;
        let database = match config.database_url {
            None => format!(
                "sqlite:{}",
                config.data_dir.join("creatorflow.db").display()
            ),
            Some(url) if url.starts_with("sqlite:") => url,
            // Never show credentials: keep only scheme and host part after '@'.
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                match url.split_once('@') {
                    Some((_, rest)) => format!("postgres://{rest}"),
                    None => url,
                }
            }
            // Only the scheme goes into the error: the rest of a URL may hold a password.
            Some(url) => {
                let scheme = url.split(':').next().unwrap_or_default().to_owned();
                return Err(EngineError::UnsupportedDatabase { scheme });
            }
        };
        Ok(Console { database })
    }

    pub async fn overview(&self) -> Result<Overview, EngineError> {
        Ok(Overview {
            product: "CreatorFlow Console".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: self.database.clone(),
            queues: Vec::new(),
        })
    }
}

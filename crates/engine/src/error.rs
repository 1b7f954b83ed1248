//! The engine's error type: specific variants, with a stable `kind()` the UI branches on.

use std::path::PathBuf;

use creatorflow_queue::QueueError;

use crate::store::StoreError;

#[derive(thiserror::Error, Debug)]
pub enum EngineError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no data directory: set --data-dir or CREATORFLOW_DATA_DIR (the OS reports no home data dir)")]
    NoDataDir,
    #[error("database {database}: {source}")]
    Database {
        /// The database in use, with any password removed.
        database: String,
        #[source]
        source: QueueError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret store: {0}")]
    Secrets(#[source] tiktok_shop::Error),
    #[error("credentials of shop {shop:?}: {detail}")]
    Credentials { shop: String, detail: String },
    #[error("tiktok shop: {0}")]
    Api(#[source] tiktok_shop::Error),
    #[error("demo shop: {0}")]
    Demo(String),
}

impl EngineError {
    /// A stable, machine-readable name the UI can branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::DataDir { .. } | EngineError::NoDataDir => "data_dir",
            EngineError::Database { .. } => "database",
            EngineError::Store(_) => "store",
            EngineError::Secrets(_) | EngineError::Credentials { .. } => "credentials",
            EngineError::Api(_) => "api",
            EngineError::Demo(_) => "demo",
        }
    }
}

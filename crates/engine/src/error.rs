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
    #[error(
        "database {database} is damaged or not a CreatorFlow database ({source}); move the file aside \
         (a new one is created at the next start and TikTok's orders sync again) or restore a backup"
    )]
    DatabaseDamaged {
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
    #[error("the demo shop is not running in this console; its fault controls exist only while it runs")]
    NotDemo,
    // Console commands (console/shops.rs, orders.rs, jobs.rs, oauth.rs).
    #[error("no shop named {name:?}; `creatorflow-cli shop list` shows the shops")]
    ShopNotFound { name: String },
    #[error("shop {name:?}: {detail}")]
    ShopConflict { name: String, detail: String },
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidInput { field: &'static str, value: String, reason: String },
    #[error("no cached order {id:?} (a local id or a TikTok order id); `creatorflow-cli orders list` shows them")]
    OrderNotFound { id: String },
    #[error("tiktok order id {id:?} is cached for several shops (local ids {local_ids:?}): pass the local id")]
    AmbiguousOrder { id: String, local_ids: Vec<i64> },
    #[error("no label is cached for package {package_id}: the pipeline stores it after TikTok ships the order")]
    LabelNotCached { package_id: i64 },
    #[error("cannot take tracking for order {order}: {reason}")]
    TrackingRefused { order: String, reason: String },
    #[error("writing the export: {source}")]
    Export {
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Job(#[source] QueueError),
    #[error("authorization: {detail}")]
    Authorization { detail: String },
    #[error(
        "the selection changed since the preview: it had {expected} jobs, now {actual}; nothing was changed \
         (preview again and confirm the new count)"
    )]
    CountChanged { expected: i64, actual: i64 },
}

impl EngineError {
    /// A stable, machine-readable name the UI can branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::DataDir { .. } | EngineError::NoDataDir => "data_dir",
            EngineError::Database { .. } | EngineError::DatabaseDamaged { .. } => "database",
            EngineError::Store(_) => "store",
            EngineError::Secrets(_) | EngineError::Credentials { .. } => "credentials",
            EngineError::Api(_) => "api",
            EngineError::Demo(_) => "demo",
            EngineError::NotDemo => "not_demo",
            EngineError::ShopNotFound { .. } | EngineError::OrderNotFound { .. } | EngineError::LabelNotCached { .. } => {
                "not_found"
            }
            EngineError::TrackingRefused { .. } => "refused",
            EngineError::Export { .. } => "export",
            EngineError::ShopConflict { .. } => "conflict",
            EngineError::InvalidInput { .. } | EngineError::AmbiguousOrder { .. } => "invalid_input",
            EngineError::Job(e) => match e {
                QueueError::NotFound(_) => "not_found",
                QueueError::InvalidTransition { .. } | QueueError::UniqueConflict(_) => "conflict",
                _ => "database",
            },
            EngineError::Authorization { .. } => "authorization",
            EngineError::CountChanged { .. } => "count_changed",
        }
    }
}

//! `Console`: opens the database (local SQLite by default, PostgreSQL to scale out) and answers the
//! faces' questions. Shops (`shops.rs`), the OAuth code flow (`oauth.rs`), orders (`orders.rs`), the
//! CLI's job commands (`jobs.rs`) and the console's failed-job triage (`triage.rs` reads,
//! `triage_actions.rs` acts) are `Console` methods in their own files; `bindings.rs` exports their types to
//! TypeScript and `error.rs` is the `{kind, message}` error every face returns.

pub mod alerts;
mod bindings;
mod connect;
mod csv;
mod demo_faults;
mod error;
mod history;
mod jobs;
mod live;
mod oauth;
mod orders;
mod orders_csv;
mod page_cache;
mod service;
mod settings;
mod shops;
mod tracking;
mod triage;
mod triage_actions;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use creatorflow_queue::{Db, Queue};
use serde::Serialize;
use ts_rs::TS;
use tiktok_shop::SecretStore;

use crate::connection::Connections;
use crate::error::EngineError;
use crate::store::Store;

pub use bindings::typescript_bindings;
pub use connect::{ConnectRequest, ConnectSession, ConnectState};
pub use demo_faults::{DemoFaultChange, DemoFaults};
pub use error::CommandError;
pub use jobs::{JobDetail, JobQuery, RetryAllReport, RetryOutcome};
pub use oauth::{AuthorizationRequest, DEFAULT_AUTHORIZE_URL, PendingAuthorization};
pub use orders::{LabelFile, OrderFacets, OrderQuery, ShopChoice};
pub use orders_csv::{CsvChunk, EXPORT_CHUNK_ROWS, EXPORT_HEADER, iso_utc};
pub use tracking::{
    CsvImportReport, CsvLineOutcome, CsvLineReport, MAX_CSV_BYTES, MAX_CSV_LINES, ShipJobState, TrackingCsv,
    TrackingEntry, TrackingOutcome, TrackingResult,
};
pub use settings::{Backup, Settings, ShopSettings};
pub use shops::{AddShop, RemovedShop};
pub use triage::{
    AttemptView, AuditEntry, FailureGroup, FailureGroups, MAX_TRIAGE_PAGE, OrderContext, ShopRef, StateCount,
    TimelineEntry, TriageFilter, TriageJob, TriageJobDetail, TriageJobsQuery, TriagePage,
};
pub use triage_actions::{
    ActionResult, AuditPage, AuditQuery, BulkPreview, BulkPreviewRequest, BulkReport, BulkRequest, JobActionRequest,
    JobSelection, MAX_BULK, RetryRequest, SkippedJob, TriageAction,
};
pub use alerts::{Alert, AlertSeverity, AlertWatch};
pub use history::{History, HistoryLatency, HistoryQuery, HistoryRange, HistoryThroughput};
pub use live::{
    BreakerView, CacheHitRate, DbPoolUsage, LatencyGroup, LatencyRow, LiveRates, LiveSnapshot, LiveSource,
    LiveSubscription, OfflineState, PoolView, ProcessView, QueueDepth, DepthByState, Throughput, Workers,
};
pub use service::ServiceOptions;

/// The keyring service (and file-store name space) CreatorFlow's secrets live under.
pub const SECRET_SERVICE: &str = "creatorflow";

/// The product name every face shows.
pub const PRODUCT: &str = "CreatorFlow Console";

/// Where and how a `Console` keeps its data.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Directory for the local SQLite database and other per-user state.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `None` means `creatorflow.db` in `data_dir`.
    pub database_url: Option<String>,
}

/// The one API every face (desktop, web, CLI) calls. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Console {
    queue: Queue,
    store: Store,
    /// The database in use, safe to show (no password).
    database: String,
    data_dir: PathBuf,
    /// Opened on first use, so commands that need no secret (orders, jobs, status) work on a machine
    /// without a keyring; shared by clones.
    connections: Arc<Mutex<Option<Connections>>>,
    /// Records webhook pushes (`webhooks.rs`); built on first use.
    ingestion: Arc<Mutex<Option<crate::pipeline::Pipeline>>>,
    /// The pipeline running in this process (`Console::launch`); `None` for a read-only console.
    service: Option<Arc<service::Service>>,
    /// The live snapshot's cache, alert history and samplers, shared by clones.
    live: Arc<live::LiveState>,
    /// Shops being connected from the console (`connect.rs`), shared by clones.
    connects: Arc<connect::ConnectSessions>,
}

/// What the console's home screen shows.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Overview {
    pub product: String,
    pub version: String,
    pub database: String,
    pub queues: Vec<QueueCount>,
    /// The built-in demo shop runs because no shop is connected: its orders are simulated.
    pub demo: bool,
    /// Whether the pipeline runs in this process (`false`: a read-only console over the database).
    pub pipeline_running: bool,
}

/// The number of jobs of one kind in one state of one queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct QueueCount {
    pub queue: String,
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// The OS data directory for CreatorFlow (e.g. `~/.local/share/creatorflow`), shared by the desktop app
/// and `creatorflow-cli` so both see the same local database.
pub fn default_data_dir() -> Result<PathBuf, EngineError> {
    dirs::data_dir().map(|d| d.join("creatorflow")).ok_or(EngineError::NoDataDir)
}

/// `url` with any password replaced by `***`, for display and error messages.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

/// SQLite's "file is not a database" (26) and "database disk image is malformed" (11).
fn is_damaged(e: &creatorflow_queue::QueueError) -> bool {
    let sqlx_error = match e {
        creatorflow_queue::QueueError::Database(e) => e,
        creatorflow_queue::QueueError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => e,
        _ => return false,
    };
    matches!(sqlx_error, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("26" | "11")))
}

impl Console {
    /// Opens (creating and migrating when needed) the configured database.
    pub async fn open(config: ConsoleConfig) -> Result<Console, EngineError> {
        let url = match config.database_url {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|source| EngineError::DataDir {
                    path: config.data_dir.clone(),
                    source,
                })?;
                format!("sqlite://{}", config.data_dir.join("creatorflow.db").display())
            }
        };
        let database = redact_database_url(&url);
        let db = Db::connect(&url).await.map_err(|source| {
            if is_damaged(&source) {
                EngineError::DatabaseDamaged { database: database.clone(), source }
            } else {
                EngineError::Database { database: database.clone(), source }
            }
        })?;
        let queue = Queue::new(db.clone());
        // Jobs that failed before migration 0006 get their triage fingerprint (once per database).
        queue.backfill_fingerprints().await.map_err(|source| EngineError::Database { database: database.clone(), source })?;
        Ok(Console::over(queue, db, database, config.data_dir))
    }

    /// A read-only console over an open database (`database` is its name for display).
    fn over(queue: Queue, db: Db, database: String, data_dir: PathBuf) -> Console {
        Console {
            queue,
            store: Store::new(db),
            database,
            data_dir,
            connections: Arc::default(),
            ingestion: Arc::default(),
            service: None,
            live: Arc::default(),
            connects: Arc::default(),
        }
    }

    /// Whether this console shows the built-in demo shop (started by `launch` because no shop is
    /// connected).
    pub fn is_demo(&self) -> bool {
        self.service.as_ref().is_some_and(|s| s.is_demo())
    }

    /// The console over the real database: this one, or in demo mode the one the demo took over
    /// from, where shops connected meanwhile are stored.
    pub fn home(&self) -> Console {
        self.service.as_ref().and_then(|s| s.home().cloned()).unwrap_or_else(|| self.clone())
    }

    /// Use `secrets` instead of the store `CREATORFLOW_SECRET_STORE` chooses (tests, the demo shop's
    /// in-memory credentials).
    pub fn with_secret_store(mut self, secrets: Arc<dyn SecretStore>) -> Console {
        self.connections = Arc::new(Mutex::new(Some(Connections::new(secrets))));
        self
    }

    /// The shops' secrets and clients, opening the secret store on first use: the OS keyring, or the
    /// 0600 file with `CREATORFLOW_SECRET_STORE=file`. Without a keyring service the error says so and
    /// names `CREATORFLOW_SECRET_STORE=file`.
    pub fn connections(&self) -> Result<Connections, EngineError> {
        // Only a clone or an insert happens under this lock: a panic cannot leave it inconsistent.
        let mut slot = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let secrets = tiktok_shop::open_secret_store_from_env(&self.data_dir, SECRET_SERVICE)
            .map_err(EngineError::Secrets)?;
        let c = Connections::new(secrets);
        *slot = Some(c.clone());
        Ok(c)
    }

    /// The local cache.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The directory of per-user state (the SQLite file, the secret file when chosen).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Wrap a database error of the queue with the database's name.
    fn db_error(&self, source: creatorflow_queue::QueueError) -> EngineError {
        EngineError::Database { database: self.database.clone(), source }
    }

    /// Appends `ev` in a transaction of its own, for actions whose change cannot share one with it (a
    /// shop's tokens go to the secret store, which no database transaction covers). An audit write
    /// that fails fails the action's call, so nobody is told it was done without the record.
    pub(crate) async fn record_audit(&self, ev: &crate::store::NewAuditEvent) -> Result<i64, EngineError> {
        let mut tx = self.store.begin().await?;
        let id = self.store.append_audit(&mut tx, ev).await?;
        tx.commit().await.map_err(|source| self.db_error(source))?;
        Ok(id)
    }

    /// The queue under the pipeline (for the CLI's benchmark and the pipeline's workers).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Product, version, database and job counts by queue, kind and state.
    pub async fn overview(&self) -> Result<Overview, EngineError> {
        let counts = self.queue.counts().await.map_err(|source| EngineError::Database {
            database: self.database.clone(),
            source,
        })?;
        let mut queues: Vec<QueueCount> = counts
            .rows
            .into_iter()
            .map(|r| QueueCount { queue: r.queue, kind: r.kind, state: r.state.as_str().to_owned(), count: r.count })
            .collect();
        queues.sort_by(|a, b| (&a.queue, &a.kind, &a.state).cmp(&(&b.queue, &b.kind, &b.state)));
        Ok(Overview {
            product: PRODUCT.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: self.database.clone(),
            queues,
            demo: self.is_demo(),
            pipeline_running: self.service.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(redact_database_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_database_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_database_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[tokio::test]
    async fn overview_counts_jobs_in_a_fresh_sqlite_database() {
        let dir = std::env::temp_dir().join(format!("cf-engine-test-{}", std::process::id()));
        let console = Console::open(ConsoleConfig { data_dir: dir.clone(), database_url: None }).await.unwrap();
        assert!(console.overview().await.unwrap().queues.is_empty());
        console.queue().insert(creatorflow_queue::NewJob::from_value("demo", serde_json::json!({}))).await.unwrap();
        let overview = console.overview().await.unwrap();
        assert_eq!(overview.product, PRODUCT);
        assert_eq!(
            overview.queues,
            vec![QueueCount { queue: "default".into(), kind: "demo".into(), state: "available".into(), count: 1 }]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

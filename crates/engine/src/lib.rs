//! CreatorFlow's engine: everything the desktop app, the CLI and the web console share.
//!
//! [`Console`] is the one API every face calls; the faces (Tauri commands, CLI subcommands, later the web
//! routes) only translate their transport into one method call each.

pub mod breaker;
pub mod connection;
pub mod console;
pub mod demo;
mod error;
pub mod metrics;
pub mod node;
pub mod pipeline;
pub mod runner;
pub mod store;
pub mod sync;

pub use console::{CommandError, Console, ConsoleConfig, iso_utc, Overview, QueueCount, ServiceOptions, default_data_dir, redact_database_url};
pub use console::{Backup, ConnectRequest, ConnectSession, ConnectState, DemoFaultChange, DemoFaults, Settings, ShopSettings};
pub use console::{Alert, AlertSeverity, AlertWatch, History, HistoryQuery, HistoryRange, LiveSnapshot, LiveSubscription};
pub use console::{AddShop, AuthorizationRequest, DEFAULT_AUTHORIZE_URL, JobDetail, JobQuery, OrderQuery, PendingAuthorization, RemovedShop, RetryAllReport, RetryOutcome};
pub use console::{
    CsvChunk, CsvImportReport, CsvLineOutcome, CsvLineReport, LabelFile, MAX_CSV_BYTES, OrderFacets, ShipJobState, TrackingCsv,
    TrackingEntry, TrackingOutcome, TrackingResult,
    ActionResult, AuditEntry, AuditPage, AuditQuery, BulkPreview, BulkPreviewRequest, BulkReport, BulkRequest, FailureGroup, FailureGroups,
    JobActionRequest, JobSelection, RetryRequest, TriageAction, TriageFilter, TriageJob, TriageJobDetail, TriageJobsQuery,
    TriagePage,
};
pub use error::EngineError;

/// Locks `m`, taking the data even if another thread panicked while holding it. Used only for locks
/// over plain figures and maps updated in single steps, which a panic elsewhere cannot leave half
/// written; refusing them would turn one panic into many.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

//! The queue's one error type: specific variants, lower-case messages that name the offending value.

use crate::model::JobState;

/// Everything the queue can fail with.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database URL is neither `sqlite://...` nor `postgres://...`.
    #[error("unsupported database url scheme in {0:?} (expected sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    /// Connecting or a statement failed in the database driver.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A job id that does not exist (or was deleted by the cleaner).
    #[error("job {0} not found")]
    NotFound(i64),
    /// An admin transition was asked of a job that is not in a state it may leave that way.
    #[error("job {id} is {state}: cannot {action} it")]
    InvalidTransition {
        id: i64,
        state: JobState,
        action: &'static str,
    },
    /// Retrying a job would create a second unfinished job with its unique key.
    #[error("unique key {0:?} is held by another unfinished job")]
    UniqueConflict(String),
    /// A row holds a state string outside the known set (the CHECK constraint should prevent it).
    #[error("unknown job state {0:?} in the database")]
    UnknownState(String),
    /// Job args could not be serialized to JSON.
    #[error("job args for kind {kind:?} are not serializable: {source}")]
    EncodeArgs {
        kind: String,
        source: serde_json::Error,
    },
    /// A caller passed a value the queue cannot store.
    #[error("invalid {field}: {value}")]
    InvalidInput { field: &'static str, value: String },
    /// A transaction of the other backend was passed in (e.g. a PostgreSQL tx to a SQLite queue).
    #[error("transaction backend mismatch: queue is {queue}, transaction is {tx}")]
    BackendMismatch {
        queue: &'static str,
        tx: &'static str,
    },
    /// sea-query refused to build a statement (a column/value count mismatch: a bug in this crate).
    #[error("could not build query: {0}")]
    QueryBuild(#[from] sea_query::error::Error),
    /// A batch the database returned as one JSON row (SQLite hot path) did not decode.
    #[error("could not decode the {what} returned by the database: {source}")]
    DecodeBatch {
        what: &'static str,
        source: serde_json::Error,
    },
    /// A write inside the claim/finish transaction changed a different number of rows than the
    /// check before it found (impossible while the transaction holds SQLite's write lock).
    #[error("{what} changed {changed} rows, expected {expected}")]
    BatchMismatch {
        what: &'static str,
        expected: usize,
        changed: u64,
    },
    /// Work handed to the writer lane (lane.rs) found its caller gone and undid its transaction.
    #[error("the caller stopped waiting, so the transaction was rolled back")]
    Abandoned,

    /// The worker pool's background task ended abnormally.
    #[error("worker pool task {0} failed to join")]
    PoolTask(&'static str),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = QueueError> = std::result::Result<T, E>;

impl QueueError {
    /// True when the database reported a unique-constraint violation.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => db.is_unique_violation(),
            _ => false,
        }
    }
}

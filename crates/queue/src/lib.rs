//! Durable job queue: one state machine over SQLite and PostgreSQL (see docs/job-states.md).
//!
//! - [`Db`] connects (and migrates) either backend; [`DbTx`] is a write transaction the engine
//!   shares with [`Queue::insert_tx`] for transactional enqueue.
//! - [`Queue`] enqueues, reads, and offers the admin transitions and the low-level
//!   claim / finish / heartbeat / rescue API.
//! - [`WorkerPool`] runs registered [`Worker`]s: batch claims, group-committed finishes,
//!   heartbeats, the rescuer, autoscaling and graceful shutdown.

mod admin;
mod admin_batch;
mod backoff;
mod clock;
mod db;
mod error;
mod fingerprint;
mod finish;
mod hot;
mod lane;
mod model;
mod pool;
mod queue;
mod wake;
mod worker;

pub use admin::BatchOutcome;
pub use backoff::{DEFAULT_MAX_ATTEMPTS, RetryPolicies, RetryPolicy};
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::{Backend, Db, DbOptions, DbTx};
pub use error::{QueueError, Result};
pub use fingerprint::{fingerprint, normalize_error};
pub use finish::{FinishAction, Finished, JobError};
pub use hot::Lease;
pub use lane::{on_writer_lane, spawn_on_writer_lane};
pub use model::{
    Attempt, AttemptOutcome, CountRow, Counts, DEFAULT_QUEUE, Inserted, Job, JobFilter, JobState,
    NewJob,
};
pub use pool::{PoolConfig, PoolStats, WorkerPool};
pub use queue::{FinishReport, Queue, QueueBuilder};
pub use worker::{CancelReason, JobContext, Outcome, Registry, Worker};

//! Job handlers: the typed [`Worker`] trait, the [`Registry`] that decodes args and dispatches by
//! kind, and the [`JobContext`] a handler gets (with a signal for shutdown or a lost lease).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::watch;

use crate::finish::JobError;

/// What a successful handler run asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the job becomes `completed`.
    Complete,
    /// Run again after this delay without spending the attempt (e.g. the network is down).
    Snooze(Duration),
    /// Stop for good: the job becomes `cancelled` with this reason.
    Cancel(String),
}

/// Why a handler is asked to stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The pool is shutting down and the grace period ran out.
    Shutdown,
    /// Another party holds the job now (rescued, cancelled, discarded): any result is refused.
    LeaseLost,
}

/// What a handler knows about the job it runs.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    /// 1-based number of this attempt.
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: i64,
    pub scheduled_at: i64,
    /// When this attempt was claimed (Unix ms, from the queue's clock).
    pub attempted_at: i64,
    pub(crate) cancel: watch::Receiver<Option<CancelReason>>,
}

impl JobContext {
    /// Set once the handler should stop (shutdown, or the lease was lost).
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        *self.cancel.borrow()
    }

    /// Resolves when the handler should stop; pends forever otherwise.
    pub async fn cancelled(&self) -> CancelReason {
        let mut rx = self.cancel.clone();
        loop {
            if let Some(r) = *rx.borrow_and_update() {
                return r;
            }
            if rx.changed().await.is_err() {
                // The pool dropped the sender without a reason: nobody will cancel us.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A handler for one job kind with typed args.
pub trait Worker: Send + Sync + 'static {
    /// The `kind` string stored with jobs this worker runs.
    const KIND: &'static str;
    type Args: DeserializeOwned + Send + 'static;

    fn work(
        &self,
        ctx: JobContext,
        args: Self::Args,
    ) -> impl Future<Output = Result<Outcome, JobError>> + Send;
}

pub(crate) type BoxFut = Pin<Box<dyn Future<Output = Result<Outcome, JobError>> + Send>>;

/// Type-erased worker: decodes args, then runs.
pub(crate) trait ErasedWorker: Send + Sync {
    fn run(&self, ctx: JobContext, args: Value) -> BoxFut;
}

struct Typed<W>(Arc<W>);

impl<W: Worker> ErasedWorker for Typed<W> {
    fn run(&self, ctx: JobContext, args: Value) -> BoxFut {
        let w = self.0.clone();
        Box::pin(async move {
            let args: W::Args = serde_json::from_value(args).map_err(|e| {
                JobError::permanent(
                    "invalid_args",
                    format!(
                        "args of job {} (kind {:?}) do not decode: {e}",
                        ctx.id,
                        W::KIND
                    ),
                )
            })?;
            w.work(ctx, args).await
        })
    }
}

/// Workers by kind.
#[derive(Clone, Default)]
pub struct Registry {
    workers: HashMap<&'static str, Arc<dyn ErasedWorker>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `worker` for `W::KIND` (replacing any earlier one).
    pub fn register<W: Worker>(&mut self, worker: W) -> &mut Self {
        self.workers
            .insert(W::KIND, Arc::new(Typed(Arc::new(worker))));
        self
    }

    /// Registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.workers.keys().copied().collect();
        k.sort_unstable();
        k
    }

    pub(crate) fn get(&self, kind: &str) -> Option<&Arc<dyn ErasedWorker>> {
        self.workers.get(kind)
    }
}

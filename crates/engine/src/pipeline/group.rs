//! Group commits and group reads: concurrent stage jobs hand their writes (or their reads) to one
//! task per kind that runs them together, as multi-row statements in one transaction (or one
//! `IN (...)` read), and tells each job its answer.
//!
//! On SQLite every write transaction queues for the one writer; written one job at a time, a stage's
//! small transactions (begin, a few statements, commit) spend more time waiting for it than writing.
//! Reads are cheaper but each is still a hop to one of sqlx's SQLite threads and back, and under load
//! the hops (thread wake-ups), not the SQL, are the cost. While one group runs the next one gathers,
//! so groups grow exactly when the database is the bottleneck and stay single when it is not. There
//! is no linger: a job waits only for the group ahead of it (the API batchers linger, to fill a call;
//! a 3 ms linger here cost every order ~9 ms over its three stage writes at light load:
//! BENCHMARKS.md, the pipeline section).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creatorflow_queue::{JobError, Queue};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::Store;

/// One kind of write (or read) that can be run in groups.
pub(crate) trait GroupOp: Sized + Send + Sync + 'static {
    /// Counters: groups run, and the operations in them.
    const GROUPS_COUNTER: &'static str;
    const OPS_COUNTER: &'static str;
    /// Most operations in one group.
    const MAX: usize;
    /// After a failed group, run its operations one by one: a write's failure is often one row's
    /// (an order removed since), which must not fail the others. A read's is the database's, and
    /// 500 retries alone would only hold every stage's jobs back.
    const SPLIT_ON_ERROR: bool = true;
    /// What the group tells each operation's job (`()` when nothing).
    type Reply: Send + 'static;

    /// Runs `group`: a write commits in one transaction, all of it or nothing; one reply per
    /// operation, in order.
    fn run(store: &Store, queue: &Queue, group: &[Self]) -> impl Future<Output = crate::store::Result<Vec<Self::Reply>>> + Send;
}

struct Pending<Op: GroupOp> {
    op: Op,
    reply: oneshot::Sender<Result<Op::Reply, String>>,
}

/// The inbox of one kind's task, started on first use.
pub(crate) struct Grouper<Op: GroupOp> {
    inbox: Mutex<Option<mpsc::UnboundedSender<Pending<Op>>>>,
}

impl<Op: GroupOp> Default for Grouper<Op> {
    fn default() -> Self {
        Grouper { inbox: Mutex::new(None) }
    }
}

impl<Op: GroupOp> Grouper<Op> {
    /// Hands `op` to the kind's task and waits until the group holding it ran (or, after the group
    /// failed, it ran alone: `SPLIT_ON_ERROR`). A failure is a retryable job error; a failed write
    /// stores nothing.
    pub(crate) async fn run(&self, store: &Store, queue: &Queue, metrics: &Arc<Metrics>, op: Op) -> Result<Op::Reply, JobError> {
        let (reply, done) = oneshot::channel();
        let sender = {
            let mut slot = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                // The task holds the store, not the pipeline, so it ends when the pipeline (owner of
                // the sender) is dropped.
                // On SQLite it runs on the writer lane, as every task holding the writer does.
                let task = group_loop::<Op>(store.clone(), queue.clone(), metrics.clone(), rx);
                creatorflow_queue::spawn_on_writer_lane(store.db(), task);
                tx
            })
            .clone()
        };
        if sender.send(Pending { op, reply }).is_err() {
            // The task is gone (it panicked): the next job starts a new one.
            self.inbox.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(JobError::retryable("group_task", "the group task stopped; the job will run again"));
        }
        match done.await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(JobError::retryable("database", e)),
            Err(_) => Err(JobError::retryable("group_task", "the group task dropped the operation; the job will run again")),
        }
    }
}

async fn group_loop<Op: GroupOp>(store: Store, queue: Queue, metrics: Arc<Metrics>, mut rx: mpsc::UnboundedReceiver<Pending<Op>>) {
    let (batches, stored) = (Op::GROUPS_COUNTER, Op::OPS_COUNTER);
    while let Some(group) = super::batch::collect(&mut rx, Duration::ZERO, Op::MAX).await {
        metrics.incr(batches, 1);
        let (ops, replies): (Vec<Op>, Vec<_>) = group.into_iter().map(|p| (p.op, p.reply)).unzip();
        match Op::run(&store, &queue, &ops).await {
            Ok(answers) => {
                metrics.incr(stored, ops.len() as u64);
                for (r, answer) in replies.into_iter().zip(answers) {
                    let _ = r.send(Ok(answer));
                }
            }
            // One bad row (an order removed since) must not fail the others: run each alone.
            Err(e) if ops.len() > 1 && Op::SPLIT_ON_ERROR => {
                tracing::debug!(error = %e, ops = ops.len(), kind = Op::GROUPS_COUNTER, "group failed; running its operations one by one");
                for (w, r) in ops.iter().zip(replies) {
                    let one = match Op::run(&store, &queue, std::slice::from_ref(w)).await {
                        Ok(mut answers) => answers.pop().ok_or_else(|| format!("{} gave no reply", Op::GROUPS_COUNTER)),
                        Err(e) => Err(e.to_string()),
                    };
                    if one.is_ok() {
                        metrics.incr(stored, 1);
                    }
                    let _ = r.send(one);
                }
            }
            Err(e) => {
                for r in replies {
                    let _ = r.send(Err(e.to_string()));
                }
            }
        }
    }
}

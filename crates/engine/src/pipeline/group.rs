//! Group commits: concurrent stage jobs hand their finished writes to one task that commits them
//! together, as multi-row statements in one transaction, and tells each job when its write is durable.
//!
//! On SQLite every write transaction queues for the one writer; written one job at a time, a stage's
//! small transactions (begin, a few statements, commit) spend more time waiting for it than writing.
//! While one group commits the next one gathers, so groups grow exactly when the writer is the
//! bottleneck and stay single when it is not. There is no linger: a write waits only for the commit
//! ahead of it (the API batchers linger, to fill a call; a 3 ms linger here cost every order ~9 ms
//! over its three stage writes at light load: BENCHMARKS.md, the pipeline section).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creatorflow_queue::{JobError, Queue};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::Store;

/// One kind of write that can be committed in groups.
pub(crate) trait GroupWrite: Sized + Send + Sync + 'static {
    /// Counter prefix: `{METRIC}.write_batches` (groups committed), `{METRIC}.stored` (writes in them).
    const METRIC: &'static str;
    /// Most writes in one group.
    const MAX: usize;
    /// What the commit tells each write's job (`()` when nothing).
    type Reply: Send + 'static;

    /// Commits `group` in one transaction, all of it or nothing; one reply per write, in order.
    fn commit(store: &Store, queue: &Queue, group: &[Self]) -> impl Future<Output = crate::store::Result<Vec<Self::Reply>>> + Send;
}

struct Pending<W: GroupWrite> {
    write: W,
    reply: oneshot::Sender<Result<W::Reply, String>>,
}

/// The inbox of one kind's writer task, started on first use.
pub(crate) struct GroupWriter<W: GroupWrite> {
    inbox: Mutex<Option<mpsc::UnboundedSender<Pending<W>>>>,
}

impl<W: GroupWrite> Default for GroupWriter<W> {
    fn default() -> Self {
        GroupWriter { inbox: Mutex::new(None) }
    }
}

impl<W: GroupWrite> GroupWriter<W> {
    /// Hands `write` to the writer task and waits until the group holding it committed. A failed
    /// commit is a retryable job error: nothing of the job's write is stored.
    pub(crate) async fn write(&self, store: &Store, queue: &Queue, metrics: &Arc<Metrics>, write: W) -> Result<W::Reply, JobError> {
        let (reply, done) = oneshot::channel();
        let sender = {
            let mut slot = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                // The task holds the store, not the pipeline, so it ends when the pipeline (owner of
                // the sender) is dropped.
                tokio::spawn(writer_loop::<W>(store.clone(), queue.clone(), metrics.clone(), rx));
                tx
            })
            .clone()
        };
        if sender.send(Pending { write, reply }).is_err() {
            // The writer task is gone (it panicked): the next job starts a new one.
            self.inbox.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(JobError::retryable("group_writer", "the writer task stopped; the job will run again"));
        }
        match done.await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(JobError::retryable("database", e)),
            Err(_) => Err(JobError::retryable("group_writer", "the writer task dropped the write; the job will run again")),
        }
    }
}

async fn writer_loop<W: GroupWrite>(store: Store, queue: Queue, metrics: Arc<Metrics>, mut rx: mpsc::UnboundedReceiver<Pending<W>>) {
    let batches = format!("{}.write_batches", W::METRIC);
    let stored = format!("{}.stored", W::METRIC);
    while let Some(group) = super::batch::collect(&mut rx, Duration::ZERO, W::MAX).await {
        metrics.incr(&batches, 1);
        let (writes, replies): (Vec<W>, Vec<_>) = group.into_iter().map(|p| (p.write, p.reply)).unzip();
        match W::commit(&store, &queue, &writes).await {
            Ok(answers) => {
                metrics.incr(&stored, writes.len() as u64);
                for (r, answer) in replies.into_iter().zip(answers) {
                    let _ = r.send(Ok(answer));
                }
            }
            // One bad row (an order removed since) must not fail the others: commit each alone.
            Err(e) if writes.len() > 1 => {
                tracing::debug!(error = %e, writes = writes.len(), kind = W::METRIC, "group write failed; committing its writes one by one");
                for (w, r) in writes.iter().zip(replies) {
                    let one = match W::commit(&store, &queue, std::slice::from_ref(w)).await {
                        Ok(mut answers) => answers.pop().ok_or_else(|| format!("{} commit gave no reply", W::METRIC)),
                        Err(e) => Err(e.to_string()),
                    };
                    if one.is_ok() {
                        metrics.incr(&stored, 1);
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

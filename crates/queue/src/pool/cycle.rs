//! The pool's writer loop: each cycle group-commits the results handlers returned since the last
//! cycle and claims jobs for the free slots, in one write transaction on SQLite
//! (`Queue::finish_and_claim`). One loop instead of a claimer and a completer: SQLite has one
//! writer connection, so the two would only queue behind each other and pay two commits.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Shared, spawn_job};
use crate::finish::{FinishAction, Finished};
use crate::queue::FinishReport;

/// Cycles that may fail to commit one batch before its results are given up: the jobs stay
/// `running` until their leases expire and the rescuer returns them.
const COMMIT_ATTEMPTS: u32 = 5;

/// Run cycles until `done` is set (by shutdown, once no result waits for its commit).
pub(super) async fn dispatcher(
    shared: Arc<Shared>,
    mut results: mpsc::UnboundedReceiver<Finished>,
    mut done: watch::Receiver<bool>,
) {
    let cfg = &shared.cfg;
    let max_batch = cfg.finish_batch.max(1);
    let claim_batch = usize::try_from(cfg.claim_batch).unwrap_or(usize::MAX);
    let mut stopping = shared.stopping.subscribe();
    let mut batch: Vec<Finished> = Vec::with_capacity(max_batch.min(4096));
    // When the oldest result in `batch` stops waiting for company.
    let mut flush_by: Option<Instant> = None;
    // The last claim found fewer jobs than it asked for: claim on its own again only when woken
    // or at the poll interval (a cycle that commits results still claims: its transaction is
    // open anyway).
    let mut drained = false;
    let mut poll_at = Instant::now();
    let mut failures = 0u32;
    loop {
        // Registered before reading any state, so a wake-up between the read and the wait
        // is not lost.
        let woken = shared.queue.inner.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let freed = shared.slot_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();

        while batch.len() < max_batch {
            match results.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        if batch.is_empty() {
            flush_by = None;
        } else if flush_by.is_none() {
            flush_by = Some(now + cfg.finish_flush);
        }
        let is_stopping = shared.is_stopping();
        if is_stopping {
            // Outside a cycle: whatever this loop claimed has been spawned.
            shared.claims_stopped.send_replace(true);
            if batch.is_empty() && *done.borrow() {
                return;
            }
        }
        if drained && now >= poll_at {
            drained = false;
        }
        let limit = shared.limit.load(Ordering::SeqCst);
        let busy = shared.in_flight.load(Ordering::SeqCst);
        // Results waiting for a commit hold no slot; the bound on them is here: while
        // `finish_batch` wait (commits are failing), claim nothing more.
        let room = if is_stopping || shared.pending.load(Ordering::SeqCst) >= max_batch {
            0
        } else {
            limit.saturating_sub(busy).min(claim_batch)
        };
        let go = if batch.is_empty() {
            room > 0 && !drained
        } else {
            // Commit now unless more results are about to arrive and the claim is small:
            // waiting up to `finish_flush` buys a bigger group commit.
            is_stopping
                || busy == 0
                || batch.len() >= max_batch
                || room >= claim_batch
                || flush_by.is_some_and(|t| now >= t)
        };
        if !go {
            let deadline = match (flush_by, drained) {
                (Some(f), true) => Some(f.min(poll_at)),
                (Some(f), false) => Some(f),
                (None, true) => Some(poll_at),
                (None, false) => None,
            };
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                f = results.recv() => batch.extend(f),
                _ = &mut freed => {}
                _ = &mut woken => drained = false,
                _ = sleep => {}
                _ = stopping.changed() => {}
                r = done.changed() => {
                    // The pool was dropped without a shutdown: nothing is left to commit for.
                    if r.is_err() {
                        return;
                    }
                }
            }
            continue;
        }

        let want = room;
        let (finished, claimed) = shared
            .queue
            .finish_and_claim(
                &batch,
                &cfg.queue,
                u32::try_from(want).unwrap_or(u32::MAX),
                &cfg.node_id,
                cfg.lease,
            )
            .await;
        let mut backoff = None;
        if !batch.is_empty() {
            match finished {
                Ok(report) => {
                    count(&shared, &batch, &report);
                    settle(&shared, &mut batch);
                    failures = 0;
                }
                Err(e) => {
                    failures += 1;
                    if failures >= COMMIT_ATTEMPTS {
                        tracing::error!(error = %e, jobs = batch.len(), "giving up on a finish batch; leases will expire");
                        settle(&shared, &mut batch);
                        failures = 0;
                    } else {
                        tracing::warn!(error = %e, attempt = failures, jobs = batch.len(), "finishing a batch failed");
                        backoff = Some(Duration::from_millis(10 << (failures - 1)));
                    }
                }
            }
        }
        match claimed {
            Ok(jobs) => {
                if want > 0 && jobs.len() < want {
                    drained = true;
                    poll_at = Instant::now() + cfg.poll_interval;
                }
                if !jobs.is_empty() {
                    *shared.last_claim.lock().unwrap_or_else(|p| p.into_inner()) =
                        std::time::Instant::now();
                    shared
                        .counters
                        .claimed
                        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
                    shared.in_flight.fetch_add(jobs.len(), Ordering::SeqCst);
                    for job in jobs {
                        spawn_job(&shared, job);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(queue = %cfg.queue, error = %e, "claim failed; retrying after the poll interval");
                drained = true;
                poll_at = Instant::now() + cfg.poll_interval;
            }
        }
        // An enqueue during the cycle may have committed after the claim looked.
        if woken.as_mut().now_or_never().is_some() {
            drained = false;
        }
        if let Some(d) = backoff {
            tokio::time::sleep(d).await;
        }
    }
}

/// Count what a committed batch did.
fn count(shared: &Shared, batch: &[Finished], report: &FinishReport) {
    let c = &shared.counters;
    for f in batch {
        if report.applied.binary_search(&f.lease.id).is_err() {
            continue;
        }
        let counter = match f.action {
            FinishAction::Complete => &c.completed,
            FinishAction::Fail(_) => &c.failed,
            FinishAction::Snooze(_) => &c.snoozed,
            FinishAction::Cancel(_) => &c.cancelled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    c.lease_lost
        .fetch_add(report.lease_lost.len() as u64, Ordering::Relaxed);
}

/// Forget a batch that was committed (or given up): its jobs are no longer this pool's.
fn settle(shared: &Shared, batch: &mut Vec<Finished>) {
    {
        let mut map = shared.running();
        for f in batch.iter() {
            map.remove(&f.lease.id);
        }
    }
    shared.pending.fetch_sub(batch.len(), Ordering::SeqCst);
    batch.clear();
    shared.slot_freed.notify_waiters();
}

//! The pool's background tasks: the completer (group commit), heartbeats, the rescuer/cleaner,
//! and the autoscaler.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::Shared;
use crate::finish::{FinishAction, Finished};
use crate::hot::Lease;
use crate::worker::CancelReason;

/// Collect finished jobs and commit them in batches: up to `finish_batch` per transaction, waiting
/// at most `finish_flush` to fill one. Stops when told to and the channel is drained.
pub(super) async fn completer(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Finished>,
    mut stop: watch::Receiver<bool>,
) {
    let max = shared.cfg.finish_batch.max(1);
    let mut batch: Vec<Finished> = Vec::with_capacity(max);
    loop {
        let first = tokio::select! {
            biased;
            f = rx.recv() => f,
            _ = stop.changed() => {
                match rx.try_recv() {
                    Ok(f) => Some(f),
                    Err(_) => return,
                }
            }
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        if batch.len() < max && !shared.cfg.finish_flush.is_zero() {
            let deadline = tokio::time::Instant::now() + shared.cfg.finish_flush;
            while batch.len() < max {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(f)) => batch.push(f),
                    _ => break,
                }
            }
        }
        commit(&shared, &batch).await;
        {
            let mut map = shared.running();
            for f in &batch {
                map.remove(&f.lease.id);
            }
        }
        shared.release(batch.len());
        batch.clear();
    }
}

async fn commit(shared: &Shared, batch: &[Finished]) {
    let c = &shared.counters;
    let mut delay = Duration::from_millis(10);
    for attempt in 1..=5 {
        match shared.queue.finish(batch).await {
            Ok(report) => {
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
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, jobs = batch.len(), "finishing a batch failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    // Leave the jobs running: their leases expire and the rescuer returns them.
    tracing::error!(
        jobs = batch.len(),
        "giving up on a finish batch; leases will expire"
    );
}

/// Extend the leases of running jobs every `heartbeat_interval`; tell handlers whose lease is gone.
pub(super) async fn heartbeat(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.cfg.heartbeat_interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        let leases: Vec<Lease> = shared
            .running()
            .values()
            .filter(|r| !r.finished && !r.interrupted)
            .map(|r| r.lease)
            .collect();
        if leases.is_empty() {
            continue;
        }
        let held = match shared.queue.heartbeat(&leases, shared.cfg.lease).await {
            Ok(mut held) => {
                held.sort_unstable();
                held
            }
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed");
                continue;
            }
        };
        let map = shared.running();
        for l in &leases {
            if held.binary_search(&l.id).is_ok() {
                continue;
            }
            if let Some(r) = map.get(&l.id)
                && r.lease == *l
                && !r.finished
            {
                tracing::warn!(id = l.id, "lease lost; telling the handler to stop");
                r.cancel.send_replace(Some(CancelReason::LeaseLost));
            }
        }
    }
}

/// Rescue expired leases (of any worker) and clean old completed jobs, periodically.
pub(super) async fn maintenance(shared: Arc<Shared>) {
    let mut rescue = tokio::time::interval(shared.cfg.rescue_interval);
    let mut clean = tokio::time::interval(shared.cfg.clean_interval);
    loop {
        tokio::select! {
            _ = rescue.tick() => {
                if let Err(e) = shared.queue.rescue_expired().await {
                    tracing::warn!(error = %e, "rescuing expired leases failed");
                }
            }
            _ = clean.tick() => {
                if let Some(retention) = shared.cfg.clean_retention
                    && let Err(e) = shared.queue.clean_completed(retention).await
                {
                    tracing::warn!(error = %e, "cleaning completed jobs failed");
                }
            }
        }
    }
}

/// Grow the concurrency while the ready depth exceeds `scale_up_depth`; halve it back toward the
/// minimum after `idle_shrink_after` without a claim.
pub(super) async fn autoscale(shared: Arc<Shared>) {
    let cfg = &shared.cfg;
    let mut tick = tokio::time::interval(cfg.scale_check_interval);
    loop {
        tick.tick().await;
        let limit = shared.limit.load(Ordering::SeqCst);
        let idle_for = shared
            .last_claim
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_else(|p| p.into_inner().elapsed());
        if limit < cfg.max_workers {
            match shared.queue.ready_depth(&cfg.queue).await {
                Ok(depth) if depth > cfg.scale_up_depth => {
                    // Double, or jump by the excess depth when that is more, capped at the maximum.
                    let excess = usize::try_from(depth - cfg.scale_up_depth).unwrap_or(usize::MAX);
                    let next = limit
                        .saturating_mul(2)
                        .max(limit.saturating_add(excess))
                        .min(cfg.max_workers);
                    tracing::debug!(from = limit, to = next, depth, "scaling up");
                    shared.limit.store(next, Ordering::SeqCst);
                    shared.slot_freed.notify_waiters();
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading queue depth failed"),
            }
        }
        if limit > cfg.min_workers && idle_for >= cfg.idle_shrink_after {
            let next = (limit / 2).max(cfg.min_workers);
            tracing::debug!(from = limit, to = next, "idle: scaling down");
            shared.limit.store(next, Ordering::SeqCst);
            // Count the shrink as activity so the next halving waits another idle period.
            if let Ok(mut t) = shared.last_claim.lock() {
                *t = Instant::now();
            }
        }
    }
}

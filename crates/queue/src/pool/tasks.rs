//! The pool's background tasks: heartbeats, the rescuer/cleaner, and the autoscaler.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Shared;
use crate::hot::Lease;
use crate::worker::CancelReason;

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

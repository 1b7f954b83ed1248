//! A send gate: the caller's last word on a request at the moment it is about to leave, after it has
//! waited for its rate-limit slot.
//!
//! Why: a caller that keeps a circuit breaker per host admits a call before the call queues behind the
//! rate limiter. When the host goes down, hundreds of calls admitted a moment earlier are still queued
//! (50 calls/s per path), and without a second look they would each go out, and be retried, against a
//! host the breaker already knows is dead. [`gated`] scopes a gate over one call's future; the transport
//! asks it before every send, the client's own retries included.
//!
//! A refused first send ends the call with [`Error::Withheld`] (nothing reached the host). A refused retry
//! ends it with the error of the send before, because that one did reach the host and the caller should
//! learn what it answered.

use std::future::Future;
use std::sync::Arc;

use crate::error::Error;

/// Decides, just before each send of a call, whether it may go out. `Err` carries a reason for the
/// [`Error::Withheld`] the call then ends with.
pub trait SendGate: Send + Sync {
    fn may_send(&self) -> Result<(), String>;
}

tokio::task_local! {
    static GATE: Arc<dyn SendGate>;
}

/// Runs `call` (a future of this crate's client) with `gate` asked before each of its sends.
pub async fn gated<F: Future>(gate: Arc<dyn SendGate>, call: F) -> F::Output {
    GATE.scope(gate, call).await
}

/// The gate's verdict for a send of `endpoint` (named only when refused): `Ok` when no gate is set.
pub(crate) fn check(endpoint: impl FnOnce() -> String) -> Result<(), Error> {
    match GATE.try_with(|g| g.may_send()) {
        Ok(Err(reason)) => Err(Error::Withheld {
            endpoint: endpoint(),
            reason,
        }),
        // No gate in scope, or the gate allows it.
        Ok(Ok(())) | Err(_) => Ok(()),
    }
}

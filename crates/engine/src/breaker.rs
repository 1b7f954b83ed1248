//! A circuit breaker per remote host (TikTok API, auth, label documents): while a host is unreachable the
//! pipeline parks its work (a queue snooze, no attempt spent) instead of failing it, and resumes it when
//! the host answers again.
//!
//! States: **closed** (calls go through; `failure_threshold` consecutive network failures open it),
//! **open** (every call is refused until the open period ends), **half-open** (the period is over: exactly
//! one caller is admitted as the probe, everyone else is refused). A probe that succeeds closes the host
//! and resets the period; a probe that fails reopens it with the period doubled, up to `max_open_for`.
//!
//! A probe whose caller was cancelled never reports back. It cannot wedge the host: the [`Admit`] ticket
//! releases the probe when it is dropped unreported, and a probe older than `probe_timeout` is given to
//! the next caller anyway (a ticket leaked with `mem::forget` or held by a stuck task).
//!
//! Reports are by host, not by ticket, on purpose: any answer from the host is evidence that it is up,
//! whoever asked, and a late failure of a call admitted before the host opened is no worse evidence than
//! the probe's own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use creatorflow_queue::Clock;
use serde::Serialize;
use tokio::sync::Notify;

/// Longest `last_error` kept per host: enough for a status line, never a whole response body.
const MAX_ERROR_CHARS: usize = 200;

/// How the breakers open and probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive network-class failures that open a closed host.
    pub failure_threshold: u32,
    /// The first open period; it doubles after each failed probe.
    pub open_for: Duration,
    /// The cap for the doubling.
    pub max_open_for: Duration,
    /// A probe that has not reported back after this long is presumed lost and the next caller probes.
    /// Longer than the HTTP client's request timeout, so a slow probe is not doubled up.
    pub probe_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(60),
        }
    }
}

/// A call may go ahead. Hold it until the call has been reported (`record_*`): dropping an unreported
/// probe ticket (the caller was cancelled) hands the probe to the next caller at once.
#[derive(Debug)]
#[must_use = "hold the ticket until the call is reported; dropping a probe ticket releases the probe"]
pub struct Admit {
    /// This caller is the half-open probe: its outcome decides whether the host closes or reopens.
    pub probe: bool,
    release: Option<ProbeRelease>,
}

#[derive(Debug)]
struct ProbeRelease {
    inner: Arc<Inner>,
    host: String,
    probe_id: u64,
}

impl Drop for Admit {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            let mut hosts = r.inner.lock();
            if let Some(h) = hosts.get_mut(&r.host)
                && let State::HalfOpen { probe: Some(p), .. } = &mut h.state
                && p.id == r.probe_id
            {
                // Unreported: the caller went away without an answer. Let the next caller probe.
                h.state = State::HalfOpen { probe: None };
            }
        }
    }
}

/// The host is open (or being probed by someone else): park the work for `retry_in`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host {host} is unavailable (circuit open), retry in {} ms", retry_in.as_millis())]
pub struct Unavailable {
    pub host: String,
    pub retry_in: Duration,
}

/// A breaker's state, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// One host's breaker, for the offline banner and the breaker panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// When the host last opened (Unix ms); `None` while closed.
    pub opened_at_ms: Option<i64>,
    /// When the next probe may go out (Unix ms): the end of the open period; `None` while closed.
    pub next_probe_at_ms: Option<i64>,
    /// Whether a half-open probe is in flight.
    pub probe_in_flight: bool,
    /// The open period in force (it doubles after a failed probe).
    pub open_for_ms: i64,
    /// The last network failure's detail (clipped), kept after the host closes for context.
    pub last_error: Option<String>,
}

/// The circuit breakers of every remote host the pipeline calls. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Breakers {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    config: BreakerConfig,
    hosts: Mutex<HashMap<String, Host>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Host>> {
        // A panic while holding the lock cannot leave a host half-updated (every update is one
        // assignment), so a poisoned map is still sound to use.
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
struct Host {
    state: State,
    consecutive_failures: u32,
    /// The open period in force, in ms.
    open_for_ms: i64,
    opened_at_ms: Option<i64>,
    /// End of the current open period (Unix ms).
    until_ms: i64,
    last_error: Option<String>,
    next_probe_id: u64,
    closed: Arc<Notify>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open,
    HalfOpen { probe: Option<Probe> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    id: u64,
    started_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn duration_from_ms(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

impl Breakers {
    pub fn new(clock: Arc<dyn Clock>, config: BreakerConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                config,
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.inner.config
    }

    fn new_host(&self) -> Host {
        Host {
            state: State::Closed,
            consecutive_failures: 0,
            open_for_ms: ms(self.inner.config.open_for),
            opened_at_ms: None,
            until_ms: 0,
            last_error: None,
            next_probe_id: 0,
            closed: Arc::new(Notify::new()),
        }
    }

    /// Before a call. Closed → `Admit { probe: false }`; open and its period not over → `Unavailable`
    /// with the rest of the period; period over → half-open: exactly one caller gets
    /// `Admit { probe: true }`, the others `Unavailable` with a short `retry_in` (the base open period:
    /// the probe's answer is expected by then, and [`Breakers::wait_closed`] wakes parked work earlier).
    pub fn admit(&self, host: &str) -> Result<Admit, Unavailable> {
        let now = self.inner.clock.now_ms();
        let cfg = &self.inner.config;
        let mut hosts = self.inner.lock();
        // An unknown host is closed; it gets an entry only when something happens to it.
        let Some(h) = hosts.get_mut(host) else {
            return Ok(Admit {
                probe: false,
                release: None,
            });
        };
        let refuse = |retry_in_ms: i64| Unavailable {
            host: host.to_owned(),
            retry_in: duration_from_ms(retry_in_ms.max(1)),
        };
        match h.state {
            State::Closed => Ok(Admit {
                probe: false,
                release: None,
            }),
            State::Open if now < h.until_ms => Err(refuse(h.until_ms - now)),
            State::HalfOpen { probe: Some(p) }
                if now.saturating_sub(p.started_ms) < ms(cfg.probe_timeout) =>
            {
                Err(refuse(ms(cfg.open_for)))
            }
            // The period is over, or the probe slot is free, or the last probe is presumed lost.
            State::Open | State::HalfOpen { .. } => {
                let id = h.next_probe_id;
                h.next_probe_id = h.next_probe_id.wrapping_add(1);
                h.state = State::HalfOpen {
                    probe: Some(Probe {
                        id,
                        started_ms: now,
                    }),
                };
                Ok(Admit {
                    probe: true,
                    release: Some(ProbeRelease {
                        inner: Arc::clone(&self.inner),
                        host: host.to_owned(),
                        probe_id: id,
                    }),
                })
            }
        }
    }

    /// The host answered: close it, reset the failure count and the open period, wake
    /// [`Breakers::wait_closed`].
    pub fn record_success(&self, host: &str) {
        let mut hosts = self.inner.lock();
        let Some(h) = hosts.get_mut(host) else { return };
        let was_closed = h.state == State::Closed;
        h.state = State::Closed;
        h.consecutive_failures = 0;
        h.open_for_ms = ms(self.inner.config.open_for);
        h.opened_at_ms = None;
        if !was_closed {
            h.closed.notify_waiters();
        }
    }

    /// An answer that is not a network failure (a business error, a 4xx with a TikTok envelope): the host
    /// is up. Same as [`Breakers::record_success`] for the breaker.
    pub fn record_answer(&self, host: &str) {
        self.record_success(host);
    }

    /// A network-class failure: unreachable, reset, timeout, a 5xx without a TikTok envelope. `detail` is
    /// shown in the console: pass a redacted message (no tokens, no signed URLs).
    pub fn record_failure(&self, host: &str, detail: &str) {
        let now = self.inner.clock.now_ms();
        let cfg = &self.inner.config;
        let mut hosts = self.inner.lock();
        if !hosts.contains_key(host) {
            hosts.insert(host.to_owned(), self.new_host());
        }
        let Some(h) = hosts.get_mut(host) else { return };
        h.consecutive_failures = h.consecutive_failures.saturating_add(1);
        h.last_error = Some(clip(detail));
        match h.state {
            State::Closed => {
                if h.consecutive_failures >= cfg.failure_threshold.max(1) {
                    h.state = State::Open;
                    h.opened_at_ms = Some(now);
                    h.until_ms = now.saturating_add(h.open_for_ms);
                }
            }
            // Stragglers admitted before the host opened: the period already accounts for the outage.
            State::Open => {}
            State::HalfOpen { .. } => {
                let max = ms(cfg.max_open_for).max(ms(cfg.open_for));
                h.open_for_ms = h.open_for_ms.saturating_mul(2).min(max);
                h.state = State::Open;
                h.opened_at_ms = Some(now);
                h.until_ms = now.saturating_add(h.open_for_ms);
            }
        }
    }

    /// Every host that has failed at least once, sorted by host.
    pub fn snapshot(&self) -> Vec<HostStatus> {
        let now = self.inner.clock.now_ms();
        let hosts = self.inner.lock();
        let mut out: Vec<HostStatus> = hosts
            .iter()
            .map(|(name, h)| {
                let (state, next_probe_at_ms, probe_in_flight) = match h.state {
                    State::Closed => (BreakerState::Closed, None, false),
                    // The period is over: the next caller probes, so show it as it will behave.
                    State::Open if now >= h.until_ms => {
                        (BreakerState::HalfOpen, Some(h.until_ms), false)
                    }
                    State::Open => (BreakerState::Open, Some(h.until_ms), false),
                    State::HalfOpen { probe } => {
                        (BreakerState::HalfOpen, Some(h.until_ms), probe.is_some())
                    }
                };
                HostStatus {
                    host: name.clone(),
                    state,
                    consecutive_failures: h.consecutive_failures,
                    opened_at_ms: h.opened_at_ms,
                    next_probe_at_ms,
                    probe_in_flight,
                    open_for_ms: h.open_for_ms,
                    last_error: h.last_error.clone(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.host.cmp(&b.host));
        out
    }

    /// Whether any host is not closed (the console's offline banner).
    pub fn any_open(&self) -> bool {
        self.inner.lock().values().any(|h| h.state != State::Closed)
    }

    /// Resolves when `host` is closed again (at once if it is). It does not probe: parked work still
    /// wakes at its `retry_in` so that someone sends the probe; this only lets the runner wake the rest
    /// early once the probe has succeeded.
    pub async fn wait_closed(&self, host: &str) {
        loop {
            let notify = {
                let hosts = self.inner.lock();
                match hosts.get(host) {
                    None => return,
                    Some(h) if h.state == State::Closed => return,
                    Some(h) => Arc::clone(&h.closed),
                }
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            // Register before re-checking, so a close between the check above and the await is not missed.
            notified.as_mut().enable();
            if self
                .inner
                .lock()
                .get(host)
                .is_none_or(|h| h.state == State::Closed)
            {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;

//! A circuit breaker per remote host (TikTok API, auth, label documents): while a host is unreachable the
//! pipeline parks its work (a queue snooze, no attempt spent) instead of failing it, and resumes it when
//! the host answers again.
//!
//! States: **closed** (calls go through; `failure_threshold` consecutive network failures open it),
//! **open** (every call is refused until the open period ends), **half-open** (the period is over: exactly
//! one caller is admitted as the probe, everyone else is refused). A probe that succeeds closes the host
//! and resets the period; a probe that fails reopens it with the period doubled, up to `max_open_for`.
//!
//! A probe whose caller was cancelled never reports back. It cannot wedge the host: a probe older than
//! `probe_timeout` is given to the next caller anyway, and a caller that knows it gave up can say so
//! at once with [`Breakers::record_abandoned`]. (An RAII ticket would release on drop, but it would
//! also release a probe whose ticket a caller discards with `admit(host)?;` before making the call.)
//! To ask how long a host is unavailable without taking the probe, use [`Breakers::retry_in`].
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
    /// A little longer than the TikTok client's 30 s request timeout, so a slow probe is not doubled up.
    pub probe_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(35),
        }
    }
}

/// A call may go ahead; after it, report its outcome (`record_success`, `record_answer`,
/// `record_failure`, or `record_abandoned` if it never got an answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admit {
    /// This caller is the half-open probe: its outcome decides whether the host closes or reopens.
    pub probe: bool,
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
            return Ok(Admit { probe: false });
        };
        let refuse = |retry_in_ms: i64| Unavailable {
            host: host.to_owned(),
            retry_in: duration_from_ms(retry_in_ms.max(1)),
        };
        match h.state {
            State::Closed => Ok(Admit { probe: false }),
            State::Open if now < h.until_ms => Err(refuse(h.until_ms - now)),
            State::HalfOpen { probe: Some(p) }
                if now.saturating_sub(p.started_ms) < ms(cfg.probe_timeout) =>
            {
                Err(refuse(ms(cfg.open_for)))
            }
            // The period is over, or the probe slot is free, or the last probe is presumed lost.
            State::Open | State::HalfOpen { .. } => {
                h.state = State::HalfOpen {
                    probe: Some(Probe { started_ms: now }),
                };
                Ok(Admit { probe: true })
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
            State::Open if now < h.until_ms => {}
            // A failure seen after the period is over is as good as a failed probe. Without this, the
            // next `admit` (the pipeline asks one after every host failure) would take the probe and
            // leave it unreported until `probe_timeout`.
            State::Open | State::HalfOpen { .. } => {
                let max = ms(cfg.max_open_for).max(ms(cfg.open_for));
                h.open_for_ms = h.open_for_ms.saturating_mul(2).min(max);
                h.state = State::Open;
                h.opened_at_ms = Some(now);
                h.until_ms = now.saturating_add(h.open_for_ms);
            }
        }
    }

    /// The admitted call was given up without an answer (cancelled, shut down): if it was the probe,
    /// the next caller probes at once instead of after `probe_timeout`. Changes nothing otherwise.
    pub fn record_abandoned(&self, host: &str) {
        let mut hosts = self.inner.lock();
        if let Some(h) = hosts.get_mut(host)
            && matches!(h.state, State::HalfOpen { probe: Some(_) })
        {
            h.state = State::HalfOpen { probe: None };
        }
    }

    /// How long `admit` would refuse `host` now (`None`: it would admit a call), without taking the
    /// probe — for a caller that only wants to know how long to park its work.
    pub fn retry_in(&self, host: &str) -> Option<Duration> {
        let now = self.inner.clock.now_ms();
        let cfg = &self.inner.config;
        let hosts = self.inner.lock();
        let h = hosts.get(host)?;
        match h.state {
            State::Open if now < h.until_ms => Some(duration_from_ms((h.until_ms - now).max(1))),
            State::HalfOpen { probe: Some(p) }
                if now.saturating_sub(p.started_ms) < ms(cfg.probe_timeout) =>
            {
                Some(cfg.open_for)
            }
            _ => None,
        }
    }

    /// The send gate of one call admitted with `admit`: every send of the call (the client's retries
    /// included) asks again, after its wait for a rate-limit slot. The probe's first send goes out; any
    /// other send goes out only if `admit` would let a call through now (and takes the probe if the
    /// period has just ended, so its answer is reported like a probe's). Calls admitted just before the
    /// host went down therefore stay home instead of going out one by one behind the rate limiter.
    pub fn gate(&self, host: &str, admit: Admit) -> Arc<dyn tiktok_shop::SendGate> {
        Arc::new(CallGate {
            breakers: self.clone(),
            host: host.to_owned(),
            unsent_probe: std::sync::atomic::AtomicBool::new(admit.probe),
        })
    }

    /// Whether `host` is open or half-open.
    pub fn is_open(&self, host: &str) -> bool {
        self.inner
            .lock()
            .get(host)
            .is_some_and(|h| h.state != State::Closed)
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

/// See [`Breakers::gate`].
struct CallGate {
    breakers: Breakers,
    host: String,
    /// This call is the half-open probe and has not sent yet.
    unsent_probe: std::sync::atomic::AtomicBool,
}

impl tiktok_shop::SendGate for CallGate {
    fn may_send(&self) -> Result<(), String> {
        if self.unsent_probe.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        self.breakers.admit(&self.host).map(|_| ()).map_err(|u| u.to_string())
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;

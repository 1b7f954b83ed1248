//! The demo shop's fault controls: take TikTok "offline" for a while, start a throttle storm, make a
//! share of calls fail, time out or slow down, so a newcomer can watch the pipeline ride it out (the
//! breaker opens, work waits without spending attempts, the backlog drains when the host answers).
//! Only the in-process demo sandbox is touched; a real shop has no such switch.

use serde::{Deserialize, Serialize};
use tiktok_sandbox::{EndpointFaults, FaultSettings};
use ts_rs::TS;

use super::Console;
use crate::error::EngineError;

/// Longest outage or storm one click starts.
const MAX_WINDOW_SECS: u32 = 600;
/// Highest failure share the controls allow: above it nothing gets through and there is little to watch.
const MAX_RATE: f64 = 0.9;
/// Most added latency per call.
const MAX_LATENCY_MS: u64 = 10_000;

/// The demo shop's faults now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DemoFaults {
    /// Share of API calls answered HTTP 500.
    pub error_rate: f64,
    /// Share of API calls answered 429 on top of the real rate limit.
    pub throttle_rate: f64,
    /// Share of API calls held until the client gives up.
    pub timeout_rate: f64,
    /// Added latency on every call.
    pub latency_ms: u64,
    /// Time left of the current outage (every call gets a 503 page); 0 when none.
    pub outage_remaining_ms: i64,
    /// Time left of the current throttle storm; 0 when none.
    pub storm_remaining_ms: i64,
}

/// One change to the demo shop's faults.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DemoFaultChange {
    /// TikTok's host stops answering for `seconds`.
    Outage { seconds: u32 },
    /// Every call is throttled for `seconds`.
    ThrottleStorm { seconds: u32 },
    /// Steady failure shares and latency for every endpoint (until changed).
    Rates { error_rate: f64, throttle_rate: f64, timeout_rate: f64, latency_ms: u64 },
    /// Back to a healthy shop: no windows, no rates.
    Clear,
}

fn invalid(field: &'static str, value: impl ToString, reason: &str) -> EngineError {
    EngineError::InvalidInput { field, value: value.to_string(), reason: reason.into() }
}

impl DemoFaultChange {
    fn validate(&self) -> Result<(), EngineError> {
        match *self {
            DemoFaultChange::Outage { seconds } | DemoFaultChange::ThrottleStorm { seconds } => {
                if seconds == 0 || seconds > MAX_WINDOW_SECS {
                    return Err(invalid("seconds", seconds, &format!("must be 1 to {MAX_WINDOW_SECS}")));
                }
            }
            DemoFaultChange::Rates { error_rate, throttle_rate, timeout_rate, latency_ms } => {
                for (field, rate) in [("error rate", error_rate), ("throttle rate", throttle_rate), ("timeout rate", timeout_rate)] {
                    if !(0.0..=MAX_RATE).contains(&rate) {
                        return Err(invalid(field, rate, &format!("must be 0 to {MAX_RATE}")));
                    }
                }
                if error_rate + throttle_rate + timeout_rate > MAX_RATE {
                    return Err(invalid("rates", error_rate + throttle_rate + timeout_rate, &format!("must add up to {MAX_RATE} at most")));
                }
                if latency_ms > MAX_LATENCY_MS {
                    return Err(invalid("latency", latency_ms, &format!("must be 0 to {MAX_LATENCY_MS} ms")));
                }
            }
            DemoFaultChange::Clear => {}
        }
        Ok(())
    }
}

fn view(faults: &FaultSettings, now_ms: i64) -> DemoFaults {
    let remaining = |windows: &[tiktok_sandbox::Window]| {
        windows.iter().filter(|w| w.contains(now_ms)).map(|w| w.end_ms - now_ms).max().unwrap_or(0)
    };
    let d = &faults.default;
    DemoFaults {
        error_rate: d.error_rate,
        throttle_rate: d.throttle_rate,
        timeout_rate: d.timeout_rate,
        latency_ms: d.latency_max_ms,
        outage_remaining_ms: remaining(&faults.outages),
        storm_remaining_ms: remaining(&faults.throttle_storms),
    }
}

impl Console {
    /// The demo shop's faults, when the demo runs in this console.
    pub fn demo_faults(&self) -> Result<DemoFaults, EngineError> {
        let service = self.service().ok_or(EngineError::NotDemo)?;
        service.with_demo(|sandbox| view(&sandbox.faults(), sandbox.now_ms())).ok_or(EngineError::NotDemo)
    }

    /// Changes the demo shop's faults and returns them.
    pub fn change_demo_faults(&self, change: &DemoFaultChange) -> Result<DemoFaults, EngineError> {
        change.validate()?;
        let service = self.service().ok_or(EngineError::NotDemo)?;
        service
            .with_demo(|sandbox| {
                let now_ms = sandbox.now_ms();
                match *change {
                    DemoFaultChange::Outage { seconds } => {
                        sandbox.add_outage(i64::from(seconds) * 1000);
                    }
                    DemoFaultChange::ThrottleStorm { seconds } => {
                        sandbox.add_throttle_storm(i64::from(seconds) * 1000);
                    }
                    DemoFaultChange::Rates { error_rate, throttle_rate, timeout_rate, latency_ms } => {
                        let mut faults = sandbox.faults();
                        // Windows that ended are history; keep only the running ones.
                        faults.outages.retain(|w| w.end_ms > now_ms);
                        faults.throttle_storms.retain(|w| w.end_ms > now_ms);
                        faults.default = EndpointFaults {
                            error_rate,
                            throttle_rate,
                            timeout_rate,
                            // Held calls end after the client's own timeout, as a hung server's would.
                            timeout_ms: 30_000,
                            latency_min_ms: latency_ms / 2,
                            latency_max_ms: latency_ms,
                            ..EndpointFaults::default()
                        };
                        sandbox.set_faults(faults).map_err(|e| EngineError::Demo(e.to_string()))?;
                    }
                    DemoFaultChange::Clear => {
                        sandbox.set_faults(FaultSettings::default()).map_err(|e| EngineError::Demo(e.to_string()))?;
                    }
                }
                tracing::info!(?change, "demo shop faults changed");
                Ok(view(&sandbox.faults(), sandbox.now_ms()))
            })
            .ok_or(EngineError::NotDemo)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_outside_the_controls_ranges_are_refused() {
        let bad = [
            DemoFaultChange::Outage { seconds: 0 },
            DemoFaultChange::ThrottleStorm { seconds: MAX_WINDOW_SECS + 1 },
            DemoFaultChange::Rates { error_rate: 1.0, throttle_rate: 0.0, timeout_rate: 0.0, latency_ms: 0 },
            DemoFaultChange::Rates { error_rate: 0.5, throttle_rate: 0.5, timeout_rate: 0.0, latency_ms: 0 },
            DemoFaultChange::Rates { error_rate: f64::NAN, throttle_rate: 0.0, timeout_rate: 0.0, latency_ms: 0 },
            DemoFaultChange::Rates { error_rate: 0.0, throttle_rate: 0.0, timeout_rate: 0.0, latency_ms: MAX_LATENCY_MS + 1 },
        ];
        for change in bad {
            assert_eq!(change.validate().map_err(|e| e.kind()), Err("invalid_input"), "{change:?}");
        }
        assert!(DemoFaultChange::Rates { error_rate: 0.2, throttle_rate: 0.1, timeout_rate: 0.05, latency_ms: 300 }.validate().is_ok());
    }

    #[test]
    fn the_view_shows_only_running_windows() {
        let faults = FaultSettings {
            outages: vec![tiktok_sandbox::Window { start_ms: 0, end_ms: 500 }, tiktok_sandbox::Window { start_ms: 900, end_ms: 4_000 }],
            ..FaultSettings::default()
        };
        assert_eq!(view(&faults, 1_000).outage_remaining_ms, 3_000);
        assert_eq!(view(&faults, 5_000).outage_remaining_ms, 0);
        assert_eq!(view(&faults, 1_000).storm_remaining_ms, 0);
    }
}

//! The process's own CPU and memory use, for the console's CPU/memory panel, read from /proc/self on
//! Linux (every field is `None` elsewhere, or when /proc is unreadable).
//!
//! Real time (`Instant`), not the injected clock: CPU seconds are measured by the kernel against real
//! time, so a manual clock could only produce a wrong percentage.

use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

/// The kernel reports utime/stime in USER_HZ ticks, which is 100 on every architecture Linux desktop
/// builds target (x86, x86_64, arm, aarch64, riscv), whatever the kernel's own HZ.
const USER_HZ: f64 = 100.0;

/// One sample of the process's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcessUsage {
    /// CPU used by all threads since the previous sample, in percent of one core (200 = two cores
    /// busy); `None` on the first sample and off Linux.
    pub cpu_percent_since_last_call: Option<f64>,
    /// Resident set size in bytes.
    pub rss_bytes: Option<u64>,
}

/// Keeps the previous reading, so that each caller of its own sampler gets "since my last call".
#[derive(Debug, Default)]
pub struct ProcessSampler {
    last: Option<(Instant, f64)>,
}

impl ProcessSampler {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sample(&mut self) -> ProcessUsage {
        let now = Instant::now();
        let cpu = cpu_seconds();
        let cpu_percent = match (self.last, cpu) {
            (Some((t0, c0)), Some(c1)) => {
                let wall = now.duration_since(t0).as_secs_f64();
                (wall > 0.0).then(|| ((c1 - c0).max(0.0) / wall) * 100.0)
            }
            _ => None,
        };
        if let Some(c) = cpu {
            self.last = Some((now, c));
        }
        ProcessUsage {
            cpu_percent_since_last_call: cpu_percent,
            rss_bytes: rss_bytes(),
        }
    }
}

static SHARED: Mutex<ProcessSampler> = Mutex::new(ProcessSampler { last: None });

/// A sample from the process-wide sampler ("since the last call" of anyone calling this function; a
/// second periodic reader should own a [`ProcessSampler`] instead).
pub fn process_usage() -> ProcessUsage {
    SHARED.lock().unwrap_or_else(|e| e.into_inner()).sample()
}

/// utime + stime of all threads, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat_cpu_ticks(&stat).map(|t| t as f64 / USER_HZ)
}

/// Fields 14 and 15 of /proc/<pid>/stat. The command name (field 2) is in parentheses and may contain
/// spaces and ')' itself, so fields are counted after the last ')'.
pub(super) fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): utime is the 12th field after it, stime the 13th.
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_rss(&status)
}

/// `VmRSS:    12345 kB` from /proc/<pid>/status (in kB regardless of the page size).
pub(super) fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line["VmRSS:".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

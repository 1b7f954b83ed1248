//! Alerts on the live snapshot, with the brief's thresholds — critical: order processing failure rate
//! over 5%, API p95 over 1000 ms, database pool over 90% used; warning: order latency p95 over 25 s,
//! API p95 over 750 ms, cache hit rate under 85%, queue depth over 500. Each alert has a stable id, its
//! value and threshold, since when it fires and one sentence an operator can act on.
//!
//! [`evaluate`] is the pure rule set; [`AlertTracker`] remembers since when each alert fires (and
//! numbers each firing, so a face can notify once per firing: [`AlertWatch`]).

use std::collections::HashMap;

use serde::Serialize;
use ts_rs::TS;

/// Fewer samples than this in the window make a percentile or a rate noise, not a signal: one slow
/// call of three is not "p95 over a second".
pub const MIN_SAMPLES: u64 = 10;
/// Page reads below which the cache hit rate is not judged (an idle database reads nothing).
pub const MIN_PAGE_READS: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Critical,
    Warning,
}

/// One firing alert.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Alert {
    /// Stable across snapshots and releases (`order_failure_rate`, `api_latency_critical`, ...).
    pub id: String,
    pub severity: AlertSeverity,
    /// What is wrong, with the offending figure's subject (e.g. the slowest endpoint).
    pub title: String,
    /// The measured value, in `unit`.
    pub value: f64,
    pub threshold: f64,
    /// `%`, `ms` or `jobs`.
    pub unit: String,
    /// When this firing started (Unix ms).
    pub since_ms: i64,
    /// Increases with every new firing of any alert in this console: notify when it is new.
    pub firing: i64,
    /// What to do about it, in one sentence.
    pub action: String,
}

/// The figures the rules look at, each `None` when there is too little data to judge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertInputs {
    /// Share of stage attempts that ended in an error (0..=1), with the attempts counted.
    pub order_failure_rate: Option<(f64, u64)>,
    /// The slowest endpoint's p95 in the window (ms), its name and its call count.
    pub api_p95: Option<(f64, String, u64)>,
    /// Database connections in use over the pool's maximum (0..=1).
    pub db_pool_used: Option<f64>,
    /// Order-to-fulfillment p95 in the window (ms) and the orders counted.
    pub order_p95: Option<(f64, u64)>,
    /// Page cache hit rate (0..=1) and the page reads counted.
    pub cache_hit_rate: Option<(f64, u64)>,
    /// Jobs ready, running or in back-off.
    pub queue_depth: Option<i64>,
}

/// An alert the rules say fires now (no `since` yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub id: &'static str,
    pub severity: AlertSeverity,
    pub title: String,
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
    pub action: &'static str,
}

/// The rules. Critical and warning of the same figure (API p95) never fire together: the critical
/// one replaces the warning.
pub fn evaluate(i: &AlertInputs) -> Vec<Firing> {
    use AlertSeverity::{Critical, Warning};
    let mut out = Vec::new();
    let mut fire = |id, severity, title: String, value: f64, threshold: f64, unit, action| {
        out.push(Firing { id, severity, title, value, threshold, unit, action });
    };
    if let Some((rate, n)) = i.order_failure_rate
        && n >= MIN_SAMPLES
        && rate > 0.05
    {
        fire(
            "order_failure_rate",
            Critical,
            format!("{:.1}% of order processing attempts fail ({n} attempts in the last minute)", rate * 100.0),
            rate * 100.0,
            5.0,
            "%",
            "Open Failed jobs, fix the largest group of failures (often a shop to re-authorize or an address to correct), then retry that group.",
        );
    }
    if let Some((p95, endpoint, n)) = &i.api_p95
        && *n >= MIN_SAMPLES
    {
        if *p95 > 1000.0 {
            fire(
                "api_latency_critical",
                Critical,
                format!("TikTok API p95 is {:.0} ms on {endpoint}", p95),
                *p95,
                1000.0,
                "ms",
                "TikTok is answering slowly: check your network and TikTok Shop's status page, and hold off bulk retries until it recovers (the pipeline keeps retrying on its own).",
            );
        } else if *p95 > 750.0 {
            fire(
                "api_latency_warning",
                Warning,
                format!("TikTok API p95 is {:.0} ms on {endpoint}", p95),
                *p95,
                750.0,
                "ms",
                "TikTok is slowing down: watch the endpoint latency table, and check your network if it keeps rising.",
            );
        }
    }
    if let Some(used) = i.db_pool_used
        && used > 0.90
    {
        fire(
            "db_pool_saturated",
            Critical,
            format!("{:.0}% of the database connections are in use", used * 100.0),
            used * 100.0,
            90.0,
            "%",
            "Stop other heavy clients of this database (a second creatorflow-cli run, exports), or on PostgreSQL raise the connection limit or add capacity.",
        );
    }
    if let Some((p95, n)) = i.order_p95
        && n >= MIN_SAMPLES
        && p95 > 25_000.0
    {
        fire(
            "order_latency",
            Warning,
            format!("Orders take {} to ship at p95 ({n} orders in the last minute)", human_ms(p95)),
            p95,
            25_000.0,
            "ms",
            "Check the queue depth and busy workers below, and whether a shop is paused or a host is offline; a backlog from before the app started clears on its own.",
        );
    }
    if let Some((rate, reads)) = i.cache_hit_rate
        && reads >= MIN_PAGE_READS
        && rate < 0.85
    {
        fire(
            "cache_hit_rate",
            Warning,
            format!("Only {:.1}% of database page reads hit the cache", rate * 100.0),
            rate * 100.0,
            85.0,
            "%",
            "The database no longer fits in its cache: free memory on this machine (SQLite), or raise shared_buffers (PostgreSQL).",
        );
    }
    if let Some(depth) = i.queue_depth
        && depth > 500
    {
        fire(
            "queue_depth",
            Warning,
            format!("{depth} jobs are waiting to run"),
            depth as f64,
            500.0,
            "jobs",
            "If the workers are all busy, raise the worker count; if a host is offline the work drains on its own once it is back.",
        );
    }
    out
}

/// A duration for a sentence: `850 ms`, `42.0 s`, `61 min`, `3.5 h`.
fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 7_200_000.0 {
        format!("{:.0} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// Since when each alert fires. An alert that stops firing and fires again is a new firing.
#[derive(Debug, Default)]
pub struct AlertTracker {
    active: HashMap<&'static str, (i64, i64)>,
    next_firing: i64,
}

impl AlertTracker {
    /// The alerts firing at `now_ms`, critical first, each with its start and firing number.
    pub fn update(&mut self, firings: Vec<Firing>, now_ms: i64) -> Vec<Alert> {
        self.active.retain(|id, _| firings.iter().any(|f| f.id == *id));
        let mut alerts: Vec<Alert> = firings
            .into_iter()
            .map(|f| {
                let (since_ms, firing) = *self.active.entry(f.id).or_insert_with(|| {
                    self.next_firing += 1;
                    (now_ms, self.next_firing)
                });
                Alert {
                    id: f.id.to_owned(),
                    severity: f.severity,
                    title: f.title,
                    value: f.value,
                    threshold: f.threshold,
                    unit: f.unit.to_owned(),
                    since_ms,
                    firing,
                    action: f.action.to_owned(),
                }
            })
            .collect();
        alerts.sort_by_key(|a| (a.severity != AlertSeverity::Critical, a.since_ms));
        alerts
    }
}

/// For a face that notifies (desktop notifications): which alerts of a snapshot fired since the
/// last call, so each firing is announced once, not every second.
#[derive(Debug, Default)]
pub struct AlertWatch {
    seen: i64,
}

impl AlertWatch {
    pub fn new_firings<'a>(&mut self, alerts: &'a [Alert]) -> Vec<&'a Alert> {
        let fresh: Vec<&Alert> = alerts.iter().filter(|a| a.firing > self.seen).collect();
        self.seen = alerts.iter().map(|a| a.firing).max().unwrap_or(0).max(self.seen);
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(i: &AlertInputs) -> Vec<&'static str> {
        evaluate(i).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn quiet_figures_fire_nothing() {
        let i = AlertInputs {
            order_failure_rate: Some((0.05, 1000)),
            api_p95: Some((750.0, "GET /x".into(), 100)),
            db_pool_used: Some(0.9),
            order_p95: Some((25_000.0, 100)),
            cache_hit_rate: Some((0.85, 10_000)),
            queue_depth: Some(500),
        };
        assert!(ids(&i).is_empty(), "every threshold is exclusive: {:?}", ids(&i));
        assert!(ids(&AlertInputs::default()).is_empty());
    }

    #[test]
    fn each_threshold_fires_its_alert() {
        let cases: Vec<(AlertInputs, &str, AlertSeverity)> = vec![
            (AlertInputs { order_failure_rate: Some((0.051, 100)), ..Default::default() }, "order_failure_rate", AlertSeverity::Critical),
            (AlertInputs { api_p95: Some((1000.5, "GET /x".into(), 50)), ..Default::default() }, "api_latency_critical", AlertSeverity::Critical),
            (AlertInputs { db_pool_used: Some(0.95), ..Default::default() }, "db_pool_saturated", AlertSeverity::Critical),
            (AlertInputs { order_p95: Some((25_001.0, 20)), ..Default::default() }, "order_latency", AlertSeverity::Warning),
            (AlertInputs { api_p95: Some((751.0, "GET /x".into(), 50)), ..Default::default() }, "api_latency_warning", AlertSeverity::Warning),
            (AlertInputs { cache_hit_rate: Some((0.84, 1000)), ..Default::default() }, "cache_hit_rate", AlertSeverity::Warning),
            (AlertInputs { queue_depth: Some(501), ..Default::default() }, "queue_depth", AlertSeverity::Warning),
        ];
        for (inputs, id, severity) in cases {
            let f = evaluate(&inputs);
            assert_eq!(f.len(), 1, "{id}: {f:?}");
            assert_eq!((f[0].id, f[0].severity), (id, severity));
            assert!(!f[0].action.is_empty() && f[0].action.ends_with('.'));
        }
    }

    #[test]
    fn critical_api_latency_replaces_the_warning_and_small_samples_do_not_fire() {
        let i = AlertInputs { api_p95: Some((5000.0, "GET /x".into(), 50)), ..Default::default() };
        assert_eq!(ids(&i), vec!["api_latency_critical"]);
        let few = AlertInputs {
            api_p95: Some((5000.0, "GET /x".into(), MIN_SAMPLES - 1)),
            order_failure_rate: Some((1.0, 3)),
            order_p95: Some((60_000.0, 2)),
            cache_hit_rate: Some((0.1, MIN_PAGE_READS - 1)),
            ..Default::default()
        };
        assert!(ids(&few).is_empty());
    }

    #[test]
    fn the_tracker_keeps_since_while_firing_and_numbers_each_new_firing() {
        let mut t = AlertTracker::default();
        let depth = |n| evaluate(&AlertInputs { queue_depth: Some(n), ..Default::default() });
        let a = t.update(depth(600), 1_000);
        assert_eq!((a[0].since_ms, a[0].firing), (1_000, 1));
        let b = t.update(depth(700), 2_000);
        assert_eq!((b[0].since_ms, b[0].firing, b[0].value), (1_000, 1, 700.0));
        assert!(t.update(depth(10), 3_000).is_empty());
        let c = t.update(depth(900), 4_000);
        assert_eq!((c[0].since_ms, c[0].firing), (4_000, 2), "a new firing after it cleared");

        let mut watch = AlertWatch::default();
        assert_eq!(watch.new_firings(&c).len(), 1);
        assert!(watch.new_firings(&c).is_empty(), "announced once");
    }

    #[test]
    fn durations_read_as_a_person_would_say_them() {
        assert_eq!(human_ms(850.0), "850 ms");
        assert_eq!(human_ms(42_000.0), "42.0 s");
        assert_eq!(human_ms(3_607_100.0), "60 min");
        assert_eq!(human_ms(12_600_000.0), "3.5 h");
    }

    #[test]
    fn critical_alerts_come_first() {
        let mut t = AlertTracker::default();
        let i = AlertInputs { queue_depth: Some(900), db_pool_used: Some(1.0), ..Default::default() };
        let a = t.update(evaluate(&i), 5);
        assert_eq!(a[0].severity, AlertSeverity::Critical);
        assert_eq!(a[1].id, "queue_depth");
    }
}

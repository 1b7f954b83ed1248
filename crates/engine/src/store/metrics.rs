//! Per-minute metric rollups (metric name, minute, count, sum, latency quantiles in milliseconds),
//! written by the metrics aggregator and read by the latency panels.

use serde::{Deserialize, Serialize};

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{ReadConn, exec, fetch_all, tx_ex};

/// One metric over one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct MetricRollup {
    pub metric: String,
    /// Unix ms at the start of the minute (a multiple of 60,000).
    pub minute: i64,
    pub count: i64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    /// A serialized HdrHistogram, so minutes can be merged into coarser windows exactly.
    pub histogram: Option<Vec<u8>>,
}

impl Store {
    /// Write (or replace) the rollups of some minutes in one transaction.
    pub async fn put_rollups(&self, rollups: &[MetricRollup]) -> Result<()> {
        for r in rollups {
            let n = r.metric.chars().count();
            if n == 0 || n > 128 {
                return Err(StoreError::InvalidInput {
                    field: "metric name",
                    value: clip(&r.metric),
                });
            }
            if r.minute.rem_euclid(60_000) != 0 || r.count < 0 {
                return Err(StoreError::InvalidInput {
                    field: "rollup minute/count",
                    value: format!("{}/{}", r.minute, r.count),
                });
            }
        }
        let mut tx = self.begin().await?;
        for r in rollups {
            exec!(
                tx_ex(&mut tx),
                "INSERT INTO metric_rollups (metric, minute, count, sum, min, max, p50, p90, p99, histogram) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (metric, minute) DO UPDATE SET \
                 count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, \
                 p50 = excluded.p50, p90 = excluded.p90, p99 = excluded.p99, histogram = excluded.histogram",
                &r.metric,
                r.minute,
                r.count,
                r.sum,
                r.min,
                r.max,
                r.p50,
                r.p90,
                r.p99,
                r.histogram.as_deref(),
            )?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The rollups of `metric` for minutes in `[from_ms, to_ms)`, oldest first.
    pub async fn rollups(
        &self,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<MetricRollup>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(fetch_all!(
            c.ex(),
            MetricRollup,
            "SELECT metric, minute, count, sum, min, max, p50, p90, p99, histogram FROM metric_rollups \
             WHERE metric = ? AND minute >= ? AND minute < ? ORDER BY minute",
            metric,
            from_ms,
            to_ms
        )?)
    }
}

#[derive(sqlx::FromRow)]
struct MetricName {
    metric: String,
}

impl Store {
    /// The names of the metrics with a rollup in a minute at or after `from_ms`, sorted. A scan of the
    /// range (the key is `(metric, minute)`): callers cache the answer (the live snapshot keeps it for
    /// a minute) or call it on demand (the history panel).
    pub async fn metric_names_since(&self, from_ms: i64) -> Result<Vec<String>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let rows = fetch_all!(
            c.ex(),
            MetricName,
            "SELECT DISTINCT metric FROM metric_rollups WHERE minute >= ? ORDER BY metric",
            from_ms
        )?;
        Ok(rows.into_iter().map(|r| r.metric).collect())
    }
}

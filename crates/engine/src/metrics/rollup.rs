//! Stored minute rollups: the histogram encoding (HdrHistogram V2, values in microseconds) and merging
//! the minutes of an hour, day or week back into quantiles — the table has p50/p90/p99 columns, and the
//! console also wants p95 over any window, which only the merged histograms can give exactly.

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::{Counter, Histogram};
use serde::Serialize;

use super::series::{Stats, merge_into, new_hist};
use crate::store::MetricRollup;

/// The V2 (uncompressed) cookie; the only encoding this module writes. Its counts are already
/// run-length and varint encoded, so a sparse minute is a few hundred bytes without deflate.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_HEADER_LEN: usize = 40;
/// Decoding trusts the header's bounds to size the histogram: refuse anything this module would not
/// have written (more digits, or bounds beyond ~200 days in µs), so a corrupt blob cannot make it
/// allocate gigabytes.
const MAX_DIGITS: u32 = 3;
const MAX_HIGHEST: u64 = 1 << 44;

/// Serialize a histogram for the `histogram` column.
pub(super) fn encode<T: Counter>(h: &Histogram<T>) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    V2Serializer::new().serialize(h, &mut buf).ok()?;
    Some(buf)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Decode a stored histogram; `None` for anything that is not a sane V2 blob.
pub fn decode_histogram(bytes: &[u8]) -> Option<Histogram<u64>> {
    if bytes.len() < V2_HEADER_LEN || be_u32(bytes, 0)? != V2_COOKIE {
        return None;
    }
    let payload = usize::try_from(be_u32(bytes, 4)?).ok()?;
    let digits = be_u32(bytes, 12)?;
    let (low, high) = (be_u64(bytes, 16)?, be_u64(bytes, 24)?);
    if payload > bytes.len() - V2_HEADER_LEN
        || digits > MAX_DIGITS
        || low == 0
        || high > MAX_HIGHEST
        || high < low.saturating_mul(2)
    {
        return None;
    }
    Deserializer::new().deserialize(&mut &bytes[..]).ok()
}

/// A quantile of `h` in milliseconds, clamped to the exact min and max (the histogram reports the top
/// of a bucket, which can lie a little above the largest sample).
pub(super) fn quantile_ms<T: Counter>(h: &Histogram<T>, q: f64, exact: &Stats) -> f64 {
    let v = h.value_at_quantile(q) as f64 / 1000.0;
    if exact.count == 0 {
        v
    } else {
        v.clamp(exact.min, exact.max.max(exact.min))
    }
}

/// Several minutes of one metric merged: exact count, sum, min, max, mean; quantiles from the merged
/// histograms (milliseconds). Counter rollups have no histogram, so their quantiles are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollupSummary {
    pub count: u64,
    pub sum: f64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    /// Rows whose histogram was missing or could not be decoded (their count is in `count`, not in the
    /// quantiles).
    pub rows_without_histogram: usize,
}

/// Merge the stored histograms of `rollups` (minutes without a readable histogram are skipped) and the
/// exact min/max of those minutes.
fn merged(rollups: &[MetricRollup]) -> Option<(Histogram<u64>, Stats, usize)> {
    let mut hist = new_hist::<u64>()?;
    // Merging into an auto-resizing histogram accepts minutes written with other bounds.
    hist.auto(true);
    let mut stats = Stats::ZERO;
    let mut skipped = 0;
    for r in rollups {
        match r.histogram.as_deref().and_then(decode_histogram) {
            Some(h) => {
                merge_into(&mut hist, &h);
                stats.merge(&Stats {
                    count: h.len(),
                    sum: r.sum,
                    min: r.min.unwrap_or(f64::INFINITY),
                    max: r.max.unwrap_or(f64::NEG_INFINITY),
                });
            }
            None => skipped += 1,
        }
    }
    Some((hist, stats, skipped))
}

/// The `q` quantile (0.0..=1.0, e.g. 0.95) in milliseconds over several stored minutes of one latency
/// metric; `None` when no minute has a readable histogram or `q` is out of range.
pub fn rollup_percentile(rollups: &[MetricRollup], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let (hist, stats, _) = merged(rollups)?;
    if hist.is_empty() {
        return None;
    }
    Some(quantile_ms(&hist, q, &stats))
}

/// Everything the history panel draws for one bucket (an hour of minutes, a day of hours...).
pub fn rollup_summary(rollups: &[MetricRollup]) -> RollupSummary {
    let count: u64 = rollups
        .iter()
        .map(|r| u64::try_from(r.count).unwrap_or(0))
        .fold(0, u64::saturating_add);
    let sum: f64 = rollups.iter().map(|r| r.sum).sum();
    let min = rollups.iter().filter_map(|r| r.min).reduce(f64::min);
    let max = rollups.iter().filter_map(|r| r.max).reduce(f64::max);
    let merged = merged(rollups);
    let q = |q: f64| match &merged {
        Some((hist, stats, _)) if !hist.is_empty() => Some(quantile_ms(hist, q, stats)),
        _ => None,
    };
    RollupSummary {
        count,
        sum,
        mean: (count > 0).then(|| sum / count as f64),
        min,
        max,
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        rows_without_histogram: merged.as_ref().map_or(rollups.len(), |m| m.2),
    }
}

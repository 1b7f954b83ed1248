//! Output helpers shared by the commands: UTC times, clipped cells, one JSON document per `--json`.

use anyhow::Context;
use serde::Serialize;

/// Prints `value` as one pretty JSON document (the `--json` contract: one document per command).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("encoding the output as json")?);
    Ok(())
}

/// `2026-01-01T00:00:00Z` from Unix seconds (proleptic Gregorian, UTC).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// [`utc`] of Unix milliseconds.
pub fn utc_ms(ms: i64) -> String {
    utc(ms.div_euclid(1000))
}

/// `-` for a missing time.
pub fn opt_utc(secs: Option<i64>) -> String {
    secs.map_or_else(|| "-".to_owned(), utc)
}

/// At most `max` characters of `s` on one line (a table cell), `…` when cut.
pub fn cell(s: &str, max: usize) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_cells() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(cell("a\nb", 4), "a b");
    }
}

//! Output helpers shared by the commands: UTC times, clipped cells, one JSON document per `--json`.

use anyhow::Context;
use serde::Serialize;

/// Prints `value` as one pretty JSON document (the `--json` contract: one document per command).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("encoding the output as json")?);
    Ok(())
}

/// `2026-01-01T00:00:00Z` from Unix seconds (the engine's formatting, shared with the CSV export).
pub use creatorflow_engine::iso_utc as utc;

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

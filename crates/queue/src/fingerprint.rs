//! Error fingerprints: what makes two failures "the same cause". The queue stamps every failed attempt
//! with `fingerprint(job kind, error kind, message)` so triage can group failures in SQL (migration 0006).
//!
//! The message is normalized first: quoted values, TikTok request ids, timestamps and every token that
//! carries a digit (order ids, package ids, counts, durations) become placeholders, so
//! `order 577301 not found (request_id 2026A1)` and `order 577999 not found (request_id 2026B7)` share a
//! fingerprint. Numbers right after `code`, `http` or `status` are kept: TikTok's error code and the HTTP
//! status are the cause, not an id. The hash is FNV-1a 64 written out here (not `std`'s hasher, whose
//! output may change between Rust releases): stored fingerprints must stay comparable across versions.

/// Longest normalized text kept (a stack trace or an HTML error page must not make a huge group key).
const MAX_PATTERN_CHARS: usize = 500;

/// Words after which a number is part of the cause and stays.
const KEEP_NUMBER_AFTER: [&str; 3] = ["code", "http", "status"];

/// Words after which the next token is an opaque id even without a digit.
const ID_AFTER: [&str; 3] = ["request_id", "logid", "x-tt-logid"];

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn quote_close(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '`' => Some('`'),
        '\u{201c}' => Some('\u{201d}'),
        '\u{2018}' => Some('\u{2019}'),
        _ => None,
    }
}

/// `message` with its variable parts replaced: `"…"` for quoted values, `<id>` for tokens mixing
/// letters and digits (and request ids), `<n>` for numbers, `<time>` for timestamps. Whitespace is
/// collapsed; the result is at most 500 characters.
pub fn normalize_error(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(MAX_PATTERN_CHARS));
    // The last word emitted (lower case), to decide about the token after it.
    let mut prev_word = String::new();
    // Rust's `Some(...)` around a code (`code Some(36009003)`, from a `{:?}` of an Option) keeps the
    // word before it in effect through the parenthesis.
    let mut through_paren = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        // A quote opens a value only at a word boundary (so "can't" stays a word), and only when it
        // closes before the end of the message.
        if let Some(close) = quote_close(c) {
            let at_boundary = i == 0 || !chars[i - 1].is_alphanumeric();
            if at_boundary && let Some(len) = chars[i + 1..].iter().position(|&d| d == close) {
                out.push(c);
                out.push('…');
                out.push(close);
                prev_word.clear();
                i += len + 2;
                continue;
            }
        }
        if is_token_char(c) {
            let start = i;
            let mut has_digit = false;
            while i < chars.len() {
                let d = chars[i];
                // ':' and '+' continue a token that already has a digit and go on with one: times
                // (12:30:01), offsets (+02:00) and ratios stay one placeholder.
                let joins = (d == ':' || d == '+')
                    && has_digit
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if !(is_token_char(d) || joins) {
                    break;
                }
                has_digit |= d.is_ascii_digit();
                i += 1;
            }
            // A sentence's full stop is not part of the token.
            let mut end = i;
            while end > start + 1 && chars[end - 1] == '.' {
                end -= 1;
            }
            let token: String = chars[start..end].iter().collect();
            let lower = token.to_lowercase();
            if ID_AFTER.contains(&prev_word.as_str()) {
                out.push_str("<id>");
            } else if has_digit {
                let all_digits = token.chars().all(|d| d.is_ascii_digit());
                if all_digits && KEEP_NUMBER_AFTER.contains(&prev_word.as_str()) {
                    out.push_str(&token);
                } else if looks_like_time(&token) {
                    out.push_str("<time>");
                } else if token
                    .chars()
                    .all(|d| d.is_ascii_digit() || d == '.' || d == '-')
                {
                    out.push_str("<n>");
                } else {
                    out.push_str("<id>");
                }
            } else {
                out.push_str(&token);
            }
            if token == "Some"
                && KEEP_NUMBER_AFTER.contains(&prev_word.as_str())
                && chars.get(end) == Some(&'(')
            {
                through_paren = true;
                for &dot in &chars[end..i] {
                    out.push(dot);
                }
                continue;
            }
            prev_word = lower;
            for &dot in &chars[end..i] {
                out.push(dot);
            }
            continue;
        }
        out.push(c);
        if c == '(' && through_paren {
            through_paren = false;
            i += 1;
            continue;
        }
        through_paren = false;
        if !matches!(c, '=' | ':') {
            // `request_id=abc` and `request_id: abc` still mark the next token as an id.
            prev_word.clear();
        }
        i += 1;
    }
    let trimmed = out.trim_end();
    if trimmed.chars().count() > MAX_PATTERN_CHARS {
        trimmed.chars().take(MAX_PATTERN_CHARS).collect()
    } else {
        trimmed.to_owned()
    }
}

/// `2026-01-01T10:00:00Z`, `2026-01-01`, `10:00:00` and the like.
fn looks_like_time(token: &str) -> bool {
    let b = token.as_bytes();
    let date =
        b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit);
    let clock = b.len() >= 5 && b[2] == b':' && b[..2].iter().all(u8::is_ascii_digit);
    date || clock
}

/// FNV-1a, 64 bits.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (n, p) in parts.iter().enumerate() {
        if n > 0 {
            // A separator that cannot occur in the parts' text keeps ("ab","c") apart from ("a","bc").
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in p.bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The fingerprint of a failure: 16 hex digits over the job kind, the error kind and the normalized
/// message.
pub fn fingerprint(job_kind: &str, error_kind: &str, message: &str) -> String {
    format!(
        "{:016x}",
        fnv1a(&[job_kind, error_kind, &normalize_error(message)])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_numbers_quotes_and_request_ids_are_stripped() {
        let a = "order 577301234 not found (endpoint GET /order/202309/orders, http 404, request_id 20260101ABCDEF)";
        let b = "order 577999 not found (endpoint GET /order/202309/orders, http 404, request_id 20260102XYZ)";
        assert_eq!(normalize_error(a), normalize_error(b));
        assert_eq!(
            normalize_error(a),
            "order <n> not found (endpoint GET /order/<n>/orders, http 404, request_id <id>)"
        );
        assert_eq!(
            normalize_error(r#"shop "Main St" must be re-authorized"#),
            "shop \"…\" must be re-authorized"
        );
        assert_eq!(normalize_error("can't ship pkg_1a2b3c"), "can't ship <id>");
        assert_eq!(
            normalize_error("at 2026-01-01T10:00:00Z after 30000 ms."),
            "at <time> after <n> ms."
        );
        assert_eq!(
            normalize_error("request_id=abcdef failed"),
            "request_id=<id> failed"
        );
        assert_eq!(
            normalize_error("  many   spaces\n here "),
            "many spaces here"
        );
    }

    #[test]
    fn codes_and_statuses_stay_part_of_the_cause() {
        let a = normalize_error("business rule Other (code 21011007: after-sale) (http 200)");
        let b = normalize_error("business rule Other (code 21004024: split) (http 200)");
        assert_ne!(a, b);
        assert!(a.contains("code 21011007"), "{a}");
        assert_ne!(normalize_error("http 500"), normalize_error("http 503"));
        assert_eq!(
            normalize_error("server error (code Some(36009003): retry)"),
            "server error (code Some(36009003): retry)"
        );
        assert_eq!(normalize_error("Some(42) apples"), "Some(<n>) apples");
    }

    #[test]
    fn fingerprints_are_stable_and_separate_kinds() {
        let f = fingerprint("ship", "server", "order 1 failed");
        assert_eq!(f, fingerprint("ship", "server", "order 2 failed"));
        assert_eq!(f.len(), 16);
        assert_ne!(f, fingerprint("label", "server", "order 1 failed"));
        assert_ne!(f, fingerprint("ship", "timeout", "order 1 failed"));
        // The value is part of the stored data: it must not change between versions.
        assert_eq!(
            fingerprint("", "", ""),
            format!("{:016x}", fnv1a(&["", "", ""]))
        );
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn long_messages_are_capped() {
        let long = "word ".repeat(1000);
        assert_eq!(normalize_error(&long).chars().count(), 500);
    }
}

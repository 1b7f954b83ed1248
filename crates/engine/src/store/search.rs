//! Search text: the store, not the database, turns order fields into tokens, so SQLite (FTS5) and
//! PostgreSQL (tsvector built from the tokens verbatim) match exactly the same things, and so user text
//! is reduced to plain alphanumeric tokens before it reaches a query language (FTS5 MATCH, tsquery): no
//! input can produce a syntax error or change the query's meaning.

use std::collections::BTreeSet;

/// A token longer than this is cut (PostgreSQL refuses lexemes over 2 KiB; nobody types 64 characters).
const MAX_TOKEN_CHARS: usize = 64;
/// At most this many distinct tokens per order (a tsvector is limited to 1 MiB; hostile input is huge).
const MAX_TOKENS: usize = 256;
/// At most this many tokens from a query (each one is an AND term).
const MAX_QUERY_TOKENS: usize = 16;

/// Lower-cased alphanumeric runs of `text`, each cut to [`MAX_TOKEN_CHARS`].
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.chars()
                .flat_map(char::to_lowercase)
                .take(MAX_TOKEN_CHARS)
                .collect::<String>()
        })
        // Lower-casing can produce non-alphanumeric marks (e.g. 'İ' → "i̇"): keep tokens uniform.
        .map(|t| {
            t.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
}

/// The space-separated, de-duplicated tokens of all fields of an order that search covers.
pub(crate) fn search_text<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut set = BTreeSet::new();
    for f in fields {
        for t in tokens(f) {
            if set.len() >= MAX_TOKENS {
                break;
            }
            set.insert(t);
        }
    }
    set.into_iter().collect::<Vec<_>>().join(" ")
}

/// `text` (a [`search_text`]) with the tokens of `extra` added, or `None` when the result would reach
/// the token cap: which tokens a capped text keeps depends on the order of the fields, so the caller
/// recomputes it from them instead.
pub(crate) fn with_tokens(text: &str, extra: &str) -> Option<String> {
    let mut set: BTreeSet<String> = text.split(' ').filter(|t| !t.is_empty()).map(str::to_owned).collect();
    set.extend(tokens(extra));
    (set.len() < MAX_TOKENS).then(|| set.into_iter().collect::<Vec<_>>().join(" "))
}

/// The tokens of a user's query, every one a prefix term; empty when the text has no searchable token.
pub(crate) fn query_tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens(text) {
        if !out.contains(&t) {
            out.push(t);
        }
        if out.len() >= MAX_QUERY_TOKENS {
            break;
        }
    }
    out
}

/// FTS5 MATCH expression: every token quoted as a string and prefix-matched, ANDed.
pub(crate) fn fts5_query(tokens: &[String]) -> String {
    // Tokens are alphanumeric only, so they cannot contain the `"` that would end the string.
    tokens
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// PostgreSQL tsquery text: every token quoted as a lexeme and prefix-matched, ANDed.
pub(crate) fn tsquery(tokens: &[String]) -> String {
    // Tokens are alphanumeric only, so they cannot contain the `'` that would end the lexeme.
    tokens
        .iter()
        .map(|t| format!("'{t}':*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_lowercase_and_drop_punctuation() {
        let t: Vec<String> = tokens("SKU-RED_42 \"Zoë\" o'Brien; DROP TABLE").collect();
        assert_eq!(
            t,
            ["sku", "red", "42", "zoë", "o", "brien", "drop", "table"]
        );
    }

    #[test]
    fn query_syntax_is_neutralized() {
        let q = query_tokens("\" OR * NEAR( ^a:b' -- ");
        assert_eq!(q, ["or", "near", "a", "b"]);
        assert_eq!(
            fts5_query(&q),
            "\"or\"* AND \"near\"* AND \"a\"* AND \"b\"*"
        );
        assert_eq!(tsquery(&q), "'or':* & 'near':* & 'a':* & 'b':*");
        assert!(query_tokens("\"'*()-:^").is_empty());
    }

    #[test]
    fn adding_tokens_matches_recomputing_from_the_fields() {
        let fields = ["5770", "Ada Lovelace", "MUG-1", "Ceramic mug, İstanbul blue", "ÅSA-42"];
        for extra in ["1Z999AA10123456784", "MUG-1", "", "  ", "ÅSA-42 new"] {
            let all: Vec<&str> = fields.iter().copied().chain([extra]).collect();
            assert_eq!(with_tokens(&search_text(fields), extra).as_deref(), Some(search_text(all).as_str()), "{extra:?}");
        }
        // At the cap the fields' order decides what stays: the caller must recompute.
        let many: String = (0..MAX_TOKENS - 1).map(|i| format!("w{i} ")).collect();
        assert!(with_tokens(&search_text([many.as_str()]), "one more").is_none());
    }

    #[test]
    fn search_text_is_bounded_and_deduplicated() {
        let huge = "x".repeat(1_000_000);
        let many: String = (0..10_000).map(|i| format!("w{i} ")).collect();
        let s = search_text([huge.as_str(), many.as_str(), "a A a"]);
        let toks: Vec<&str> = s.split(' ').collect();
        assert_eq!(toks.len(), MAX_TOKENS);
        assert!(
            toks.iter()
                .all(|t| !t.is_empty() && t.chars().count() <= MAX_TOKEN_CHARS)
        );
        assert_eq!(search_text(["a A a"]), "a");
        assert_eq!(search_text([""]), "");
    }
}

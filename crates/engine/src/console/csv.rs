//! CSV as people's spreadsheets write it (RFC 4180 plus what Excel and Sheets add: a UTF-8 BOM, CRLF or
//! LF line ends, blank lines) and as they read it back (fields quoted when needed, formula-looking
//! text defused). Small and strict about what it cannot understand: an unterminated quote is an
//! error on the line where the field started, never a silent merge of the rest of the file.

/// One parsed record and the 1-based line of the file it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub line: u32,
    pub fields: Vec<String>,
}

/// A record the parser could not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRecord {
    pub line: u32,
    pub reason: String,
}

/// Parses `text` into records; blank lines are skipped. A malformed record is returned as an error
/// in its place and parsing resumes at the next line (an unterminated quote ends the input).
pub(crate) fn parse(text: &str) -> Vec<Result<Record, BadRecord>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line: u32 = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut bad: Option<String> = None;
        let mut quoted_field = false;
        loop {
            let Some(c) = chars.next() else {
                break;
            };
            match c {
                '"' if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    // A quoted field: runs to the closing quote, `""` is one quote, newlines are data.
                    let mut closed = false;
                    while let Some(q) = chars.next() {
                        match q {
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => {
                                closed = true;
                                break;
                            }
                            '\n' => {
                                line += 1;
                                field.push('\n');
                            }
                            '\r' => {
                                if chars.peek() == Some(&'\n') {
                                    chars.next();
                                }
                                line += 1;
                                field.push('\n');
                            }
                            other => field.push(other),
                        }
                    }
                    if !closed {
                        out.push(Err(BadRecord { line: start, reason: "a quoted field is never closed".into() }));
                        return out;
                    }
                    match chars.peek() {
                        None | Some(',' | '\n' | '\r') => {}
                        Some(_) => bad = Some("text after a closing quote (write \"\" for a quote inside quotes)".into()),
                    }
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                '\n' | '\r' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    break;
                }
                other => field.push(other),
            }
        }
        fields.push(field);
        if let Some(reason) = bad {
            out.push(Err(BadRecord { line: start, reason }));
            continue;
        }
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue; // a blank line
        }
        out.push(Ok(Record { line: start, fields }));
    }
    out
}

/// `value` as one CSV field: quoted when it holds a comma, quote, line break or edge space.
pub(crate) fn field(value: &str) -> std::borrow::Cow<'_, str> {
    let needs = value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ');
    if needs {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
}

/// Free text from buyers (names, product titles) as a CSV field that a spreadsheet shows as text:
/// a leading `=`, `+`, `-`, `@`, tab or CR would make Excel or Sheets evaluate it as a formula
/// (OWASP "CSV injection"), so such text gets a leading `'`.
pub(crate) fn text_field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        field(&format!("'{value}")).into_owned().into()
    } else {
        field(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(u32, Vec<String>)> {
        parse(text)
            .into_iter()
            .map(|r| {
                let r = r.expect("parses");
                (r.line, r.fields)
            })
            .collect()
    }

    fn v(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn bom_crlf_blank_lines_and_quotes() {
        let text = "\u{feff}order_id,tracking_number,provider\r\n\r\n1,\"TN,1\",\"Royal \"\"Mail\"\"\"\r\n  \n2,TN2,DPD";
        assert_eq!(
            ok(text),
            vec![
                (1, v(&["order_id", "tracking_number", "provider"])),
                (3, v(&["1", "TN,1", "Royal \"Mail\""])),
                (5, v(&["2", "TN2", "DPD"])),
            ]
        );
    }

    #[test]
    fn quoted_newlines_count_lines_and_lone_cr_ends_a_line() {
        assert_eq!(ok("a,\"x\r\ny\"\rb,c\n"), vec![(1, v(&["a", "x\ny"])), (3, v(&["b", "c"]))]);
        assert_eq!(ok("a,,\n"), vec![(1, v(&["a", "", ""]))]);
    }

    #[test]
    fn malformed_records_are_errors_on_their_own_line() {
        let r = parse("h\n\"ab\"c,d\nok\n\"never closed\nmore");
        assert_eq!(r[0], Ok(Record { line: 1, fields: v(&["h"]) }));
        assert!(matches!(&r[1], Err(BadRecord { line: 2, reason }) if reason.contains("closing quote")));
        assert_eq!(r[2], Ok(Record { line: 3, fields: v(&["ok"]) }));
        assert!(matches!(&r[3], Err(BadRecord { line: 4, reason }) if reason.contains("never closed")));
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn fields_round_trip_and_formulas_are_defused() {
        for s in ["plain", "a,b", "say \"hi\"", "two\nlines", " edge ", ""] {
            let line = format!("{},x\n", field(s));
            assert_eq!(ok(&line), vec![(1, v(&[s, "x"]))], "{s:?}");
        }
        assert_eq!(text_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text_field("-5"), "'-5");
        assert_eq!(text_field("Zoë"), "Zoë");
    }
}

//! Shipping labels as real (small, valid) PDF documents: one A6 page, Helvetica text, a correct xref.
use crate::shop::model::{Order, Package};

/// Escapes a string for a PDF literal; non-ASCII becomes '?' because the base font is WinAnsi-ish.
fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' => "\\(".to_owned(),
            ')' => "\\)".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            _ => "?".to_owned(),
        })
        .collect()
}

/// Builds a PDF from page text lines (size in points).
pub fn text_pdf(lines: &[(f32, String)], width: u32, height: u32) -> Vec<u8> {
    let mut content = String::from("BT\n");
    let mut y = height as f32 - 36.0;
    for (size, line) in lines {
        content.push_str(&format!(
            "/F1 {size} Tf 1 0 0 1 24 {y:.1} Tm ({}) Tj\n",
            pdf_text(line)
        ));
        y -= size * 1.6;
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] \
             /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{obj}\nendobj\n", i + 1).as_bytes());
    }
    let xref_at = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The A6 label for a shipped package.
pub fn label_pdf(p: &Package, o: &Order, shop_name: &str) -> Vec<u8> {
    let r = &o.recipient;
    let lines = vec![
        (
            14.0,
            format!(
                "{} - SANDBOX LABEL",
                crate::shop::provider_name(&p.shipping_provider_id)
            ),
        ),
        (12.0, format!("Tracking: {}", p.tracking_number)),
        (9.0, format!("Package {}  Order {}", p.id, o.id)),
        (9.0, String::new()),
        (11.0, format!("To: {}", r.name)),
        (11.0, r.line1.clone()),
        (11.0, format!("{} {}", r.city, r.postal_code)),
        (11.0, "United Kingdom".to_owned()),
        (9.0, String::new()),
        (9.0, format!("From: {shop_name}")),
        (9.0, format!("Items: {}", p.line_item_ids.len())),
    ];
    // A6 portrait: 105 x 148 mm.
    text_pdf(&lines, 298, 420)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = text_pdf(&[(12.0, "Hello (label) \\ ok".to_owned())], 298, 420);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        // Work on bytes: the binary comment line makes a lossy string's indices differ.
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        let sx = find(b"startxref\n").unwrap_or(0) + b"startxref\n".len();
        let tail = String::from_utf8_lossy(&pdf[sx..]).to_string();
        let start: usize = tail
            .lines()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(pdf[start..].starts_with(b"xref\n0 6\n"));
        let xref = String::from_utf8_lossy(&pdf[start..]).to_string();
        let entries: Vec<usize> = xref
            .lines()
            .skip(3)
            .take(5)
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect();
        assert_eq!(entries.len(), 5);
        for (i, off) in entries.iter().enumerate() {
            let want = format!("{} 0 obj", i + 1);
            assert!(
                pdf[*off..].starts_with(want.as_bytes()),
                "object {} at {off}",
                i + 1
            );
        }
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(Hello \\(label\\) \\\\ ok) Tj"));
    }
}

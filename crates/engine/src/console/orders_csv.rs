//! CSV export of the orders a filter matches: every matching order, read in keyset pages (never the
//! whole result at once) and handed out in chunks, so a face streams a million-order export to a
//! file or a download without holding it. Columns: order id, local id, status, shop, buyer, items,
//! item count, total, currency, created, ship-by (ISO 8601 UTC), at risk, tracking.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::orders::OrderQuery;
use super::{Console, csv};
use crate::error::EngineError;
use crate::store::{DEFAULT_CREATOR_ID, MAX_PAGE, PageCursor, PageRequest};

/// Orders per chunk (four store pages).
pub const EXPORT_CHUNK_ROWS: u32 = 4 * MAX_PAGE;

/// The header line of the export.
pub const EXPORT_HEADER: &str = "order_id,local_id,status,shop,buyer,items,item_count,total,currency,created_utc,ship_by_utc,at_risk,tracking\r\n";

/// One chunk of an export: CSV text (the header in the first chunk only) and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CsvChunk {
    pub csv: String,
    /// Orders in this chunk.
    pub rows: u32,
    /// Pass as the query's `after` for the next chunk; `None` when this was the last.
    pub next: Option<PageCursor>,
}

/// `secs` (Unix seconds) as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn iso_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse: exact for every i64 day count we can meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

impl Console {
    /// One chunk of the CSV export of the orders `q` matches, newest first; `q.after` continues after
    /// the previous chunk (`q.limit` is ignored: a chunk is [`EXPORT_CHUNK_ROWS`] orders).
    pub async fn export_orders_csv(&self, q: &OrderQuery) -> Result<CsvChunk, EngineError> {
        let filter = self.order_filter(q).await?;
        let shops: HashMap<i64, String> =
            self.store.list_shops(DEFAULT_CREATOR_ID).await?.into_iter().map(|s| (s.id, s.name)).collect();
        let mut out = String::new();
        if q.after.is_none() {
            out.push_str(EXPORT_HEADER);
        }
        let mut after = q.after;
        let mut rows = 0u32;
        while rows < EXPORT_CHUNK_ROWS {
            let page = self.store.list_orders(&filter, PageRequest { limit: MAX_PAGE, after }).await?;
            let ids: Vec<i64> = page.orders.iter().map(|o| o.id).collect();
            let extras = self.store.export_extras(&ids).await?;
            for o in &page.orders {
                let (items, tracking) = extras.get(&o.id).cloned().unwrap_or_default();
                let shop = shops.get(&o.shop_id).map(String::as_str).unwrap_or("");
                let cols: [std::borrow::Cow<'_, str>; 13] = [
                    csv::field(&o.tts_order_id),
                    o.id.to_string().into(),
                    csv::field(&o.status),
                    csv::text_field(shop),
                    csv::text_field(&o.buyer_name),
                    csv::text_field(&items.join("; ")).into_owned().into(),
                    items.len().to_string().into(),
                    csv::field(o.total_amount.as_str()),
                    csv::field(&o.currency),
                    iso_utc(o.create_time).into(),
                    o.ship_by_time.map(iso_utc).unwrap_or_default().into(),
                    if o.at_risk { "yes" } else { "no" }.into(),
                    csv::field(&tracking.join(" ")).into_owned().into(),
                ];
                out.push_str(&cols.join(","));
                out.push_str("\r\n");
            }
            rows += page.orders.len() as u32;
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        Ok(CsvChunk { csv: out, rows, next: after })
    }

    /// The whole export of `q` written to `w` chunk by chunk (the CLI's `orders export`); returns the
    /// number of orders written.
    pub async fn write_orders_csv(&self, q: &OrderQuery, w: &mut (dyn std::io::Write + Send)) -> Result<u64, EngineError> {
        let mut q = OrderQuery { after: None, ..q.clone() };
        let mut total = 0u64;
        loop {
            let chunk = self.export_orders_csv(&q).await?;
            w.write_all(chunk.csv.as_bytes()).map_err(|source| EngineError::Export { source })?;
            total += u64::from(chunk.rows);
            match chunk.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        w.flush().map_err(|source| EngineError::Export { source })?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::iso_utc;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
    }
}

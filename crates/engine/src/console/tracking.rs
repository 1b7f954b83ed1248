//! Tracking numbers for seller-shipped orders, entered by a person (one at a time, or a CSV import).
//! The number is recorded locally (works offline) with a timeline event naming who entered it, and the
//! order's ship job is woken: the ship stage hands the number to TikTok under its exactly-once rules
//! (pipeline/ship.rs). Refused, with the reason, for TikTok-shipped and cancelled orders and for orders
//! already shipped with another number.

use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use super::Console;
use super::csv;
use super::jobs::check_actor;
use crate::error::EngineError;
use crate::pipeline::kinds;
use crate::store::{EventSource, NewOrderEvent, ShippingType, StoreError};

/// Longest tracking number accepted (TikTok's limit for a self-shipment).
pub const MAX_TRACKING_CHARS: usize = 64;
/// Largest CSV import accepted, in bytes (about 20,000 lines of order id, tracking number, provider).
pub const MAX_CSV_BYTES: usize = 2 * 1024 * 1024;
/// Most data lines one CSV import may hold.
pub const MAX_CSV_LINES: usize = 20_000;

/// TikTok statuses in which the parcel has left the seller.
const SHIPPED_STATUSES: [&str; 4] = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"];
/// Statuses that may still take a tracking number (the pipeline ships once the order is payable).
const OPEN_STATUSES: [&str; 4] = ["UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"];

/// A tracking number to record for a seller-shipped order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackingEntry {
    /// The TikTok order id or the local id.
    pub order: String,
    pub tracking_number: String,
    /// The carrier: TikTok's shipping provider id (digits) or its name (`Royal Mail`), matched against
    /// the providers TikTok offers for the order when it ships.
    pub provider: String,
}

/// What recording a tracking number did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrackingOutcome {
    /// Recorded; the order had no number waiting.
    Recorded,
    /// Recorded in place of a number that was waiting (it never reached TikTok).
    Replaced,
    /// The order already carries this number: nothing changed.
    Unchanged,
}

/// What happens next to the order's ship job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ShipJobState {
    /// It was waiting for a tracking number and runs now.
    Woken,
    /// It had stopped (dead-lettered, e.g. an unknown provider) and runs again now.
    Retried,
    /// It is queued, running or backing off, and will read the number when it runs.
    Queued,
    /// There is none yet: validation creates it once the order can ship, and it will find the number.
    AfterValidation,
    /// Nothing to ship (the number was already recorded as shipped).
    None,
}

/// The answer to one tracking entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackingResult {
    pub order_id: i64,
    pub tts_order_id: String,
    pub tracking_number: String,
    pub provider: String,
    pub outcome: TrackingOutcome,
    pub ship_job: ShipJobState,
}

/// A CSV file of tracking numbers: a header with `order_id`, `tracking_number` and `provider` (any
/// order, any case; other columns are ignored), then one order per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackingCsv {
    pub csv: String,
}

/// How one CSV line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CsvLineOutcome {
    Applied,
    Unchanged,
    Skipped,
}

/// One data line of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CsvLineReport {
    /// The line of the file the record starts on (1 is the header).
    pub line: u32,
    pub order: String,
    pub tracking_number: String,
    pub outcome: CsvLineOutcome,
    /// Why a line was skipped (or what it left unchanged).
    pub reason: Option<String>,
}

/// The whole import, line by line. Every line is applied in a transaction of its own, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CsvImportReport {
    pub applied: u32,
    pub unchanged: u32,
    pub skipped: u32,
    pub lines: Vec<CsvLineReport>,
}

/// A tracking number as TikTok takes it: 1–64 letters, digits or `-`, nothing else.
fn check_tracking(raw: &str) -> Result<String, EngineError> {
    let t = raw.trim();
    let bad = |reason: &str| EngineError::InvalidInput {
        field: "tracking number",
        value: t.chars().take(64).collect(),
        reason: reason.into(),
    };
    if t.is_empty() {
        return Err(bad("is empty"));
    }
    if t.chars().count() > MAX_TRACKING_CHARS {
        return Err(bad("is longer than 64 characters"));
    }
    if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad("may hold only letters, digits and '-' (no spaces)"));
    }
    Ok(t.to_owned())
}

/// The provider as given: `(id, name)`, one of them set.
fn check_provider(raw: &str) -> Result<(Option<String>, Option<String>), EngineError> {
    let p = raw.trim();
    let n = p.chars().count();
    if n == 0 || n > 64 || p.chars().any(char::is_control) {
        return Err(EngineError::InvalidInput {
            field: "shipping provider",
            value: p.chars().take(64).collect(),
            reason: "must be 1 to 64 characters: TikTok's provider id or its name".into(),
        });
    }
    Ok(if p.bytes().all(|b| b.is_ascii_digit()) { (Some(p.to_owned()), None) } else { (None, Some(p.to_owned())) })
}

impl Console {
    /// Records a tracking number a person entered for a seller-shipped order and wakes its ship job.
    /// `actor` (who) goes into the order's timeline.
    pub async fn add_tracking(&self, entry: &TrackingEntry, actor: &str) -> Result<TrackingResult, EngineError> {
        check_actor(actor)?;
        let tracking = check_tracking(&entry.tracking_number)?;
        let (provider_id, provider_name) = check_provider(&entry.provider)?;
        let provider = provider_id.clone().or(provider_name.clone()).unwrap_or_default();
        let order_id = self.resolve_order(&entry.order).await?;
        let mut tx = self.store.begin().await?;
        let t = match self.store.tracking_target(&mut tx, order_id).await {
            Ok(t) => t,
            Err(StoreError::OrderNotFound(_)) => return Err(EngineError::OrderNotFound { id: entry.order.trim().into() }),
            Err(e) => return Err(e.into()),
        };
        let refuse = |reason: String| EngineError::TrackingRefused { order: t.tts_order_id.clone(), reason };
        let result = |outcome, ship_job| TrackingResult {
            order_id,
            tts_order_id: t.tts_order_id.clone(),
            tracking_number: tracking.clone(),
            provider: provider.clone(),
            outcome,
            ship_job,
        };
        if t.shipping_type == ShippingType::Tiktok {
            return Err(refuse("it ships with TikTok logistics, which assigns the tracking number".into()));
        }
        if t.status == "CANCELLED" {
            return Err(refuse("it is cancelled".into()));
        }
        if t.shipped_at.is_some() || SHIPPED_STATUSES.contains(&t.status.as_str()) {
            if t.shipped_tracking.contains(&tracking) {
                return Ok(result(TrackingOutcome::Unchanged, ShipJobState::None));
            }
            let with = match t.shipped_tracking.as_slice() {
                [] => "another tracking number".to_owned(),
                known => format!("tracking {}", known.join(", ")),
            };
            return Err(refuse(format!("it was already shipped with {with}")));
        }
        if !OPEN_STATUSES.contains(&t.status.as_str()) {
            return Err(refuse(format!("it is {}", t.status)));
        }
        let same = t.pending.as_ref().is_some_and(|p| {
            p.tracking_number == tracking
                && p.shipping_provider_id == provider_id
                && p.shipping_provider.as_deref().map(str::to_lowercase) == provider_name.as_deref().map(str::to_lowercase)
        });
        let outcome = if same {
            TrackingOutcome::Unchanged
        } else {
            let replaced = t.pending.as_ref().map(|p| p.tracking_number.clone());
            self.store
                .put_manual_tracking(&mut tx, order_id, &tracking, provider_id.as_deref(), provider_name.as_deref())
                .await?;
            let message = match &replaced {
                Some(old) => format!("tracking {tracking} ({provider}) entered by {actor}, replacing {old}"),
                None => format!("tracking {tracking} ({provider}) entered by {actor}"),
            };
            let ev = NewOrderEvent {
                source: EventSource::User,
                kind: "tracking_entered".into(),
                message,
                data: Some(json!({ "tracking_number": tracking, "provider": provider, "actor": actor, "replaced": replaced })),
            };
            self.store.append_event(&mut tx, order_id, &ev).await?;
            if replaced.is_some() { TrackingOutcome::Replaced } else { TrackingOutcome::Recorded }
        };
        let key = format!("{}:{order_id}", kinds::SHIP);
        let woken = self.queue.wake_unique_tx(&mut tx, &key).await.map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        let ship_job = if woken {
            self.queue.wake();
            ShipJobState::Woken
        } else {
            match self.store.job_by_unique_key(&key).await? {
                None => ShipJobState::AfterValidation,
                // A ship job a person can unblock (e.g. refused for an unknown provider) runs again.
                Some((id, state)) if state == "discarded" => match self.queue.retry(id, None).await {
                    Ok(_) => ShipJobState::Retried,
                    // Someone else revived it first (or a newer ship job holds the key): it will run.
                    Err(creatorflow_queue::QueueError::UniqueConflict(_) | creatorflow_queue::QueueError::InvalidTransition { .. }) => {
                        ShipJobState::Queued
                    }
                    Err(e) => return Err(EngineError::Job(e)),
                },
                Some((_, state)) if state == "completed" || state == "cancelled" => ShipJobState::None,
                Some(_) => ShipJobState::Queued,
            }
        };
        Ok(result(outcome, ship_job))
    }

    /// Imports tracking numbers from CSV (see [`TrackingCsv`]); every line is applied with
    /// [`Console::add_tracking`] in its own transaction, or skipped with the reason.
    pub async fn import_tracking_csv(&self, file: &TrackingCsv, actor: &str) -> Result<CsvImportReport, EngineError> {
        check_actor(actor)?;
        if file.csv.len() > MAX_CSV_BYTES {
            return Err(EngineError::InvalidInput {
                field: "csv",
                value: format!("{} bytes", file.csv.len()),
                reason: format!(
                    "the limit is {} MiB ({MAX_CSV_LINES} lines); split the file",
                    MAX_CSV_BYTES / (1024 * 1024)
                ),
            });
        }
        let mut records = csv::parse(&file.csv).into_iter();
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(bad)) => {
                return Err(EngineError::InvalidInput { field: "csv header", value: format!("line {}", bad.line), reason: bad.reason });
            }
            None => {
                return Err(EngineError::InvalidInput {
                    field: "csv",
                    value: String::new(),
                    reason: "is empty: it needs a header order_id,tracking_number,provider and one line per order".into(),
                });
            }
        };
        let names: Vec<String> = header.fields.iter().map(|f| f.trim().to_ascii_lowercase()).collect();
        let column = |name: &str| names.iter().position(|n| n == name);
        let (Some(c_order), Some(c_tracking), Some(c_provider)) =
            (column("order_id"), column("tracking_number"), column("provider"))
        else {
            let missing: Vec<&str> =
                ["order_id", "tracking_number", "provider"].into_iter().filter(|n| column(n).is_none()).collect();
            return Err(EngineError::InvalidInput {
                field: "csv header",
                value: header.fields.join(",").chars().take(64).collect(),
                reason: format!("lacks the column(s) {}; the header must name order_id, tracking_number, provider", missing.join(", ")),
            });
        };
        let records: Vec<_> = records.collect();
        if records.len() > MAX_CSV_LINES {
            return Err(EngineError::InvalidInput {
                field: "csv",
                value: format!("{} lines", records.len()),
                reason: format!("the limit is {MAX_CSV_LINES} lines; split the file"),
            });
        }
        let mut report = CsvImportReport { applied: 0, unchanged: 0, skipped: 0, lines: Vec::with_capacity(records.len()) };
        for record in records {
            let line = match record {
                Ok(r) => r,
                Err(bad) => {
                    report.skipped += 1;
                    report.lines.push(CsvLineReport {
                        line: bad.line,
                        order: String::new(),
                        tracking_number: String::new(),
                        outcome: CsvLineOutcome::Skipped,
                        reason: Some(bad.reason),
                    });
                    continue;
                }
            };
            let get = |i: usize| line.fields.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
            let entry = TrackingEntry { order: get(c_order), tracking_number: get(c_tracking), provider: get(c_provider) };
            let (outcome, reason) = if entry.order.is_empty() {
                (CsvLineOutcome::Skipped, Some("order_id is empty".to_owned()))
            } else {
                match self.add_tracking(&entry, actor).await {
                    Ok(r) if r.outcome == TrackingOutcome::Unchanged => {
                        (CsvLineOutcome::Unchanged, Some("the order already carries this tracking number".into()))
                    }
                    Ok(_) => (CsvLineOutcome::Applied, None),
                    // A database that fails mid-import fails the import: the lines before are applied
                    // (and reported by a second run as unchanged); guessing on would mislabel the rest.
                    Err(e @ (EngineError::Database { .. } | EngineError::Job(_))) => return Err(e),
                    Err(EngineError::Store(e @ (StoreError::Database(_) | StoreError::Transaction(_)))) => {
                        return Err(EngineError::Store(e));
                    }
                    Err(e) => (CsvLineOutcome::Skipped, Some(e.to_string())),
                }
            };
            match outcome {
                CsvLineOutcome::Applied => report.applied += 1,
                CsvLineOutcome::Unchanged => report.unchanged += 1,
                CsvLineOutcome::Skipped => report.skipped += 1,
            }
            report.lines.push(CsvLineReport {
                line: line.line,
                order: entry.order,
                tracking_number: entry.tracking_number,
                outcome,
                reason,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_and_provider_rules() {
        assert_eq!(check_tracking("  RM-123456789GB ").unwrap(), "RM-123456789GB");
        assert!(check_tracking("").is_err());
        assert!(check_tracking("1Z 999").is_err());
        assert!(check_tracking(&"9".repeat(65)).is_err());
        assert!(check_tracking("TN;DROP").is_err());
        assert_eq!(check_provider("6617675021119438849").unwrap(), (Some("6617675021119438849".into()), None));
        assert_eq!(check_provider(" Royal Mail ").unwrap(), (None, Some("Royal Mail".into())));
        assert!(check_provider("").is_err());
        assert!(check_provider("a\u{0}b").is_err());
    }
}

//! Label PDFs: stored in sets (many label jobs' PDFs in one multi-row statement: pipeline/label.rs
//! commits concurrent jobs together), and the label stage's one-statement read of an order.
//! On SQLite every statement is a hop to the one writer thread and every commit a turn of the one
//! writer, so a label written alone costs what fifty written together do.

use std::collections::HashMap;

use creatorflow_queue::DbTx;
use sea_query::{OnConflict, Query};

use super::Store;
use super::error::{Result, StoreError};
use super::exec::{ID_ROWS, ReadConn, bad_statement, exec_stmt, fetch_with_ids};

/// Rows per multi-row statement: a label row carries its PDF (a few KB).
const LABEL_ROWS: usize = 100;

/// One label PDF to store, for the package's local row id.
#[derive(Debug, Clone, Copy)]
pub struct NewLabel<'a> {
    pub package_id: i64,
    pub document_type: &'a str,
    pub pdf: &'a [u8],
}

impl Store {
    /// Store (or replace) label PDFs in the caller's transaction. A package that is not cached fails
    /// the statement (foreign key): the caller decides whether to write the others alone.
    pub async fn store_labels_tx(&self, tx: &mut DbTx, labels: &[NewLabel<'_>]) -> Result<()> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        for chunk in labels.chunks(LABEL_ROWS) {
            let mut stmt = Query::insert();
            stmt.into_table("labels").columns(["package_id", "document_type", "pdf", "fetched_at"]);
            for l in chunk {
                stmt.values([l.package_id.into(), l.document_type.into(), l.pdf.to_vec().into(), now.into()])
                    .map_err(bad_statement)?;
            }
            stmt.on_conflict(
                OnConflict::column("package_id").update_columns(["document_type", "pdf", "fetched_at"]).to_owned(),
            );
            match exec_stmt(tx, &stmt).await {
                Ok(_) => {}
                Err(StoreError::Database(sqlx::Error::Database(d))) if d.is_foreign_key_violation() => {
                    return Err(StoreError::PackageNotFound(chunk[0].package_id));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What the label stage needs of an order, read in one statement (order, work log and cached
/// packages): under load every read waits for one of a few pooled connections, and the stage used
/// to make six.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelWork {
    pub shop_id: i64,
    pub tts_order_id: String,
    /// `None`: validate never started the order's work log.
    pub fulfillment: Option<LabelProgress>,
    /// Local row id per TikTok package id, for the packages cached so far.
    pub package_rows: Vec<(String, i64)>,
}

/// The label stage's part of the work log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelProgress {
    /// TikTok package ids to fetch labels for, in the order validate recorded them.
    pub package_ids: Vec<String>,
    pub label_stored_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LabelWorkRow {
    order_id: i64,
    shop_id: i64,
    tts_order_id: String,
    f_order_id: Option<i64>,
    tts_package_ids: Option<String>,
    label_stored_at: Option<i64>,
    package_row: Option<i64>,
    tts_package_id: Option<String>,
}

impl Store {
    /// The label stage's view of an order; `None` when the order is not cached (removed with its shop).
    pub async fn label_work(&self, order_id: i64) -> Result<Option<LabelWork>> {
        Ok(self.label_works(&[order_id]).await?.remove(&order_id))
    }

    /// [`Store::label_work`] for many orders in one statement per ID_ROWS (the stage's group read);
    /// orders no longer cached are absent from the map.
    pub async fn label_works(&self, order_ids: &[i64]) -> Result<HashMap<i64, LabelWork>> {
        let mut c = ReadConn::acquire(self.db()).await?;
        let mut found: HashMap<i64, LabelWork> = HashMap::with_capacity(order_ids.len());
        for chunk in order_ids.chunks(ID_ROWS) {
            let rows: Vec<LabelWorkRow> = fetch_with_ids(
                c.ex(),
                "SELECT o.id AS order_id, o.shop_id, o.tts_order_id, f.order_id AS f_order_id, f.tts_package_ids, \
                 f.label_stored_at, p.id AS package_row, p.tts_package_id FROM orders o \
                 LEFT JOIN fulfillments f ON f.order_id = o.id LEFT JOIN packages p ON p.order_id = o.id \
                 WHERE o.id IN ",
                chunk,
            )
            .await?;
            // Several rows per order (one per package): the first makes the entry, each adds its package.
            for r in rows {
                let work = found.entry(r.order_id).or_insert_with(|| LabelWork {
                    shop_id: r.shop_id,
                    tts_order_id: r.tts_order_id.clone(),
                    fulfillment: r.f_order_id.map(|_| LabelProgress {
                        package_ids: r.tts_package_ids.as_deref().unwrap_or("").split_whitespace().map(str::to_owned).collect(),
                        label_stored_at: r.label_stored_at,
                    }),
                    package_rows: Vec::new(),
                });
                if let (Some(package), Some(row)) = (r.tts_package_id, r.package_row) {
                    work.package_rows.push((package, row));
                }
            }
        }
        // In row id order, as the packages were stored.
        for work in found.values_mut() {
            work.package_rows.sort_by_key(|&(_, row)| row);
        }
        Ok(found)
    }
}

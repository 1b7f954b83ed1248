//! The set writes of shipping, for the stages' group commits (pipeline/group.rs): work logs marked
//! shipped, tracking numbers learnt (label, confirm), shipment rows, and the search text that makes
//! a tracking number findable. One statement per ID_ROWS orders where the one-order versions were
//! one (or five) per order: on SQLite every statement is a hop to the one writer's thread, and
//! those hops bound the pipeline's throughput (BENCHMARKS.md, the pipeline section).

use std::collections::{HashMap, HashSet};

use creatorflow_queue::DbTx;
use sea_query::{CaseStatement, Expr, ExprTrait, Func, Query, Value};

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{Ex, ID_ROWS, bad_statement, exec_stmt, fetch_stmt, tx_ex};
use super::model::NewShipment;
use super::search::with_tokens;

/// `CASE key WHEN k1 THEN v1 ... END` over `rows` (the first row of a key wins, as it would one by
/// one); `None` for an empty list.
fn case_by<V: Into<Value> + Clone>(key: &'static str, rows: &[(i64, V)]) -> Option<CaseStatement> {
    let mut rows = rows.iter();
    let (k, v) = rows.next()?;
    let mut case = Expr::case(Expr::col(key).eq(*k), Expr::val(v.clone()));
    for (k, v) in rows {
        case = case.case(Expr::col(key).eq(*k), Expr::val(v.clone()));
    }
    Some(case)
}

impl Store {
    /// Marks orders shipped (with the tracking number when known), in the caller's transaction. Per
    /// order newly marked, whether validate had reserved its stock; an order shipped before is
    /// absent (its shipment was recorded already), and so is one without a work log. An order
    /// listed twice is marked by its first listing, as one by one.
    pub async fn mark_shipped_tx(&self, tx: &mut DbTx, orders: &[(i64, Option<&str>)]) -> Result<HashMap<i64, bool>> {
        #[derive(sqlx::FromRow)]
        struct Marked {
            order_id: i64,
            stock_reserved: bool,
        }
        self.check_tx(tx)?;
        let now = self.now_ms();
        let mut marked = HashMap::with_capacity(orders.len());
        for chunk in orders.chunks(ID_ROWS) {
            let mut seen = HashSet::with_capacity(chunk.len());
            let tracking: Vec<(i64, String)> = chunk
                .iter()
                .filter(|(id, _)| seen.insert(*id))
                .filter_map(|(id, t)| Some((*id, (*t)?.to_owned())))
                .collect();
            let mut stmt = Query::update();
            stmt.table("fulfillments").value("shipped_at", now).value("updated_at", now);
            if let Some(case) = case_by("order_id", &tracking) {
                // An order without a number in this group keeps the one it has.
                let learnt: Expr = case.finally(Expr::val(Option::<String>::None)).into();
                stmt.value("tracking_number", Func::coalesce([learnt, Expr::col("tracking_number")]));
            }
            stmt.and_where(Expr::col("order_id").is_in(chunk.iter().map(|(id, _)| *id)))
                .and_where(Expr::col("shipped_at").is_null())
                .returning(Query::returning().columns(["order_id", "stock_reserved"]));
            for m in fetch_stmt::<Marked, _>(tx, &stmt).await? {
                marked.insert(m.order_id, m.stock_reserved);
            }
        }
        Ok(marked)
    }

    /// Records the tracking numbers TikTok assigned (label or confirm stage, whichever learns an
    /// order's first), in the caller's transaction. Returns the orders whose number this call set:
    /// the caller records their shipments.
    pub async fn set_tracking_once_tx(&self, tx: &mut DbTx, orders: &[(i64, &str)]) -> Result<HashSet<i64>> {
        self.check_tx(tx)?;
        let now = self.now_ms();
        let mut set = HashSet::with_capacity(orders.len());
        for chunk in orders.chunks(ID_ROWS) {
            let rows: Vec<(i64, String)> = chunk.iter().map(|(id, t)| (*id, (*t).to_owned())).collect();
            let Some(case) = case_by("order_id", &rows) else { continue };
            let stmt = Query::update()
                .table("fulfillments")
                .value("tracking_number", case.finally(Expr::col("tracking_number")))
                .value("updated_at", now)
                .and_where(Expr::col("order_id").is_in(chunk.iter().map(|(id, _)| *id)))
                .and_where(Expr::col("tracking_number").is_null())
                .returning_col("order_id")
                .to_owned();
            set.extend(fetch_stmt::<(i64,), _>(tx, &stmt).await?.into_iter().map(|r| r.0));
        }
        Ok(set)
    }

    /// Records shipments the pipeline learnt (multi-row inserts) and makes their tracking numbers
    /// searchable, in the caller's transaction. A shipment of an order no longer cached fails the
    /// call ([`StoreError::OrderNotFound`]). Shipments naming a package go through
    /// [`Store::record_shipment`], which checks the package belongs to the order.
    pub async fn record_shipments_tx(&self, tx: &mut DbTx, shipments: &[NewShipment]) -> Result<()> {
        self.check_tx(tx)?;
        for s in shipments {
            let n = s.tracking_number.chars().count();
            if n == 0 || n > 128 {
                return Err(StoreError::InvalidInput { field: "tracking number", value: clip(&s.tracking_number) });
            }
            if let Some(package) = s.package_id {
                return Err(StoreError::InvalidInput { field: "shipment package (record_shipment checks it)", value: package.to_string() });
            }
        }
        // The orders' search texts, read before the insert: the read is also the check that every
        // order is cached (after a foreign-key violation PostgreSQL answers nothing more in the
        // transaction, so the failed insert could not say which order is missing).
        let mut ids: Vec<i64> = shipments.iter().map(|s| s.order_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let texts = self.search_texts(tx, &ids).await?;
        if let Some(missing) = shipments.iter().find(|s| !texts.contains_key(&s.order_id)) {
            return Err(StoreError::OrderNotFound(missing.order_id));
        }
        let now = self.now_ms();
        for chunk in shipments.chunks(ID_ROWS) {
            let mut stmt = Query::insert();
            stmt.into_table("shipments").columns([
                "order_id",
                "package_id",
                "tracking_number",
                "shipping_provider_id",
                "shipping_provider",
                "status",
                "source",
                "shipped_at",
                "created_at",
            ]);
            for s in chunk {
                stmt.values([
                    s.order_id.into(),
                    Option::<i64>::None.into(),
                    s.tracking_number.as_str().into(),
                    s.shipping_provider_id.as_deref().into(),
                    s.shipping_provider.as_deref().into(),
                    s.status.as_str().into(),
                    s.source.as_str().into(),
                    s.shipped_at.into(),
                    now.into(),
                ])
                .map_err(bad_statement)?;
            }
            match exec_stmt(tx, &stmt).await {
                Ok(_) => {}
                // Removed since the read (a concurrent shop removal on PostgreSQL).
                Err(StoreError::Database(sqlx::Error::Database(d))) if d.is_foreign_key_violation() => {
                    return Err(StoreError::OrderNotFound(chunk[0].order_id));
                }
                Err(e) => return Err(e),
            }
        }
        let extras: Vec<(i64, &str)> = shipments.iter().map(|s| (s.order_id, s.tracking_number.as_str())).collect();
        self.extend_search_texts(tx, &ids, &texts, &extras).await
    }

    /// The search text of each of `ids` that is a cached order.
    async fn search_texts(&self, tx: &mut DbTx, ids: &[i64]) -> Result<HashMap<i64, String>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            search_text: String,
        }
        let mut texts = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ID_ROWS) {
            let stmt = Query::select()
                .columns(["id", "search_text"])
                .from("orders")
                .and_where(Expr::col("id").is_in(chunk.iter().copied()))
                .to_owned();
            texts.extend(fetch_stmt::<Row, _>(tx, &stmt).await?.into_iter().map(|r| (r.id, r.search_text)));
        }
        Ok(texts)
    }

    /// [`Store::add_to_search`] for many (order, searchable value) pairs over the orders' current
    /// texts `old` (of `ids`, sorted and distinct): one update of the texts that changed, and the
    /// FTS index's entries replaced in multi-row statements.
    async fn extend_search_texts(&self, tx: &mut DbTx, ids: &[i64], old: &HashMap<i64, String>, extras: &[(i64, &str)]) -> Result<()> {
        // Each order's new text, its values added in turn (as one by one).
        let mut new: HashMap<i64, String> = HashMap::with_capacity(ids.len());
        for (id, extra) in extras {
            let current = match new.get(id).or_else(|| old.get(id)) {
                Some(t) => t,
                None => return Err(StoreError::OrderNotFound(*id)),
            };
            let text = match with_tokens(current, extra) {
                Some(t) => t,
                // Past the token cap: the text as its rows give it.
                None => self.search_text_of_rows(tx, *id).await?,
            };
            new.insert(*id, text);
        }
        let changed: Vec<(i64, &str, &str)> = ids
            .iter()
            .filter_map(|id| {
                let (before, after) = (old.get(id)?, new.get(id)?);
                (before != after).then_some((*id, before.as_str(), after.as_str()))
            })
            .collect();
        for chunk in changed.chunks(ID_ROWS) {
            let texts: Vec<(i64, String)> = chunk.iter().map(|(id, _, t)| (*id, (*t).to_owned())).collect();
            let Some(case) = case_by("id", &texts) else { continue };
            let stmt = Query::update()
                .table("orders")
                .value("search_text", case.finally(Expr::col("search_text")))
                .and_where(Expr::col("id").is_in(chunk.iter().map(|(id, _, _)| *id)))
                .to_owned();
            exec_stmt(tx, &stmt).await?;
            fts_replace_many(tx_ex(tx), chunk).await?;
        }
        Ok(())
    }
}

/// The SQLite FTS5 index's entries of `changed` (order id, old text, new text) replaced: one
/// multi-row delete command and one multi-row insert (PostgreSQL's tsvector is a generated column).
async fn fts_replace_many(ex: Ex<'_>, changed: &[(i64, &str, &str)]) -> Result<()> {
    let Ex::Sqlite(c) = ex else { return Ok(()) };
    if changed.is_empty() {
        return Ok(());
    }
    let rows = |n: usize, row: &str| vec![row; n].join(", ");
    // External-content FTS5: removing an entry needs the exact text it was indexed with.
    let delete = format!("INSERT INTO order_fts (order_fts, rowid, search_text) VALUES {}", rows(changed.len(), "('delete', ?, ?)"));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(delete));
    for (id, old, _) in changed {
        q = q.bind(*id).bind(*old);
    }
    q.execute(&mut *c).await?;
    let insert = format!("INSERT INTO order_fts (rowid, search_text) VALUES {}", rows(changed.len(), "(?, ?)"));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
    for (id, _, new) in changed {
        q = q.bind(*id).bind(*new);
    }
    q.execute(&mut *c).await?;
    Ok(())
}

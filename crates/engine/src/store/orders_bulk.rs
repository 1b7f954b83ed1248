//! The bulk upsert of a sync page: one read finds which orders are cached, and the new ones — nearly
//! all of them in a spike — go in with a handful of multi-row statements instead of eight statements
//! each. Every statement on SQLite is a hop to the one writer connection's thread, and a 10,000-order
//! spike otherwise spends most of its sync time on those hops. Cached orders (confirm's and refresh's
//! re-reads, come in batches of up to 50) are set-based too: one read of their rows and one of their
//! local tracking numbers, one version-guarded UPDATE for all of them (`update_cached_rows`, which
//! the one-by-one path uses too), then their line items and packages in multi-row statements.

use std::collections::HashMap;

use creatorflow_queue::DbTx;
use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::Store;
use super::error::{Result, StoreError};
use super::exec::{bad_statement, exec_stmt, fetch_stmt};
use super::model::{Order, UpsertOutcome};
use super::orders::{Existing, awaiting_shipment, drop_unlisted_package, fts_replace, is_stale, order_search_text, ship_by, update_cached_rows, validate};
use super::exec::tx_ex;

/// Rows per multi-row statement: at most 19 bound values a row stays well under SQLite's
/// 32,766-variable limit and PostgreSQL's 65,535.
const CHUNK: usize = 500;

/// A cached row of an order on the page.
#[derive(sqlx::FromRow)]
struct Cached {
    tts_order_id: String,
    id: i64,
    update_time: i64,
    status: String,
    search_text: String,
}

#[derive(sqlx::FromRow)]
struct Tracking {
    order_id: i64,
    tracking_number: String,
}

#[derive(sqlx::FromRow)]
struct PkgRow {
    id: i64,
    order_id: i64,
    tts_package_id: String,
}

#[derive(sqlx::FromRow)]
struct NewRow {
    id: i64,
    shop_id: i64,
    tts_order_id: String,
}

impl Store {
    /// Upsert a page of order versions inside the caller's transaction; outcomes are in input
    /// order. Same result as calling [`Store::upsert_order`] for each, in fewer statements.
    pub async fn upsert_orders_tx(&self, tx: &mut DbTx, orders: &[Order]) -> Result<Vec<UpsertOutcome>> {
        self.check_tx(tx)?;
        for o in orders {
            validate(o)?;
        }
        let mut outcomes: Vec<Option<UpsertOutcome>> = vec![None; orders.len()];
        // Shops in order of first appearance, so that ids follow the input order (as they do one by one).
        let mut shops: Vec<i64> = Vec::new();
        for o in orders {
            if !shops.contains(&o.shop_id) {
                shops.push(o.shop_id);
            }
        }
        let mut cached: HashMap<i64, HashMap<String, Existing>> = HashMap::new();
        let mut creators: HashMap<i64, i64> = HashMap::new();
        for &shop_id in &shops {
            let ids = orders.iter().filter(|o| o.shop_id == shop_id).map(|o| o.tts_order_id.as_str());
            cached.insert(shop_id, self.cached_order_ids(tx, shop_id, ids).await?);
        }
        // New orders, each once: a page that lists an order twice upserts its second copy through
        // the one-by-one path below, after the first is in.
        let mut seen = std::collections::HashSet::new();
        let fresh: Vec<usize> = (0..orders.len())
            .filter(|&i| {
                let o = &orders[i];
                !cached[&o.shop_id].contains_key(o.tts_order_id.as_str()) && seen.insert((o.shop_id, o.tts_order_id.as_str()))
            })
            .collect();
        for &i in &fresh {
            let shop_id = orders[i].shop_id;
            if let std::collections::hash_map::Entry::Vacant(e) = creators.entry(shop_id) {
                e.insert(self.shop_creator(tx, shop_id).await?);
            }
        }
        if !fresh.is_empty() {
            let rows: Vec<(i64, &Order)> = fresh.iter().map(|&i| (creators[&orders[i].shop_id], &orders[i])).collect();
            let ids = self.insert_new_orders(tx, &rows).await?;
            for (&i, id) in fresh.iter().zip(ids) {
                outcomes[i] = Some(UpsertOutcome::Inserted { id });
            }
        }
        // Cached orders, each once (a second copy goes one by one below, after the first).
        let mut updates: Vec<(usize, &Existing)> = Vec::new();
        for (i, o) in orders.iter().enumerate() {
            if outcomes[i].is_some() || !seen.insert((o.shop_id, o.tts_order_id.as_str())) {
                continue;
            }
            let Some(e) = cached[&o.shop_id].get(o.tts_order_id.as_str()) else { continue };
            if is_stale(e, o) {
                outcomes[i] = Some(UpsertOutcome::Stale { id: e.id });
            } else {
                updates.push((i, e));
            }
        }
        if !updates.is_empty() {
            for (i, outcome) in self.update_cached_orders(tx, orders, &updates).await? {
                outcomes[i] = Some(outcome);
            }
        }
        for (i, o) in orders.iter().enumerate() {
            if outcomes[i].is_none() {
                outcomes[i] = Some(self.upsert_order(tx, o).await?);
            }
        }
        outcomes.into_iter().map(|o| o.ok_or(StoreError::Database(sqlx::Error::RowNotFound))).collect()
    }

    async fn cached_order_ids<'a>(
        &self,
        tx: &mut DbTx,
        shop_id: i64,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, Existing>> {
        let ids: Vec<&str> = ids.collect();
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::select()
                .columns(["tts_order_id", "id", "update_time", "status", "search_text"])
                .from("orders")
                .and_where(Expr::col("shop_id").eq(shop_id))
                .and_where(Expr::col("tts_order_id").is_in(chunk.iter().copied()))
                .to_owned();
            let rows: Vec<Cached> = fetch_stmt(tx, &stmt).await?;
            out.extend(rows.into_iter().map(|r| {
                let e = Existing { id: r.id, update_time: r.update_time, status: r.status, search_text: r.search_text };
                (r.tts_order_id, e)
            }));
        }
        Ok(out)
    }

    /// Newer versions of cached orders (`updates`: index into `orders`, its cached row): the outcome
    /// of each. Same result as `upsert_order` for each.
    async fn update_cached_orders(
        &self,
        tx: &mut DbTx,
        orders: &[Order],
        updates: &[(usize, &Existing)],
    ) -> Result<Vec<(usize, UpsertOutcome)>> {
        let pg = matches!(tx, DbTx::Postgres(_));
        // Tracking numbers entered locally stay searchable after a remote update.
        let mut local: HashMap<i64, Vec<String>> = HashMap::new();
        let ids: Vec<i64> = updates.iter().map(|(_, e)| e.id).collect();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::select()
                .columns(["order_id", "tracking_number"])
                .from("shipments")
                .and_where(Expr::col("order_id").is_in(chunk.iter().copied()))
                .order_by("id", sea_query::Order::Asc)
                .to_owned();
            let rows: Vec<Tracking> = fetch_stmt(tx, &stmt).await?;
            for r in rows {
                local.entry(r.order_id).or_default().push(r.tracking_number);
            }
        }
        let now = self.now_ms();
        let rows: Vec<(usize, &Existing, String)> = updates
            .iter()
            .map(|&(i, e)| {
                let tracking: Vec<&str> = local.get(&e.id).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
                (i, e, order_search_text(&orders[i], &tracking))
            })
            .collect();
        let mut updated = std::collections::HashSet::new();
        for chunk in rows.chunks(CHUNK) {
            let chunk: Vec<(&Order, &Existing, &str)> = chunk.iter().map(|(i, e, text)| (&orders[*i], *e, text.as_str())).collect();
            updated.extend(update_cached_rows(tx, &chunk, now).await?);
        }
        let mut out = Vec::with_capacity(updates.len());
        let mut written: Vec<(i64, &Order, &Existing, String)> = Vec::new();
        for (i, e, text) in rows {
            if updated.contains(&e.id) {
                out.push((i, UpsertOutcome::Updated { id: e.id, previous_status: e.status.clone() }));
                written.push((e.id, &orders[i], e, text));
            } else {
                out.push((i, UpsertOutcome::Stale { id: e.id }));
            }
        }
        if written.is_empty() {
            return Ok(out);
        }

        // Line items are replaced.
        let ids: Vec<i64> = written.iter().map(|w| w.0).collect();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::delete().from_table("line_items").and_where(Expr::col("order_id").is_in(chunk.iter().copied())).to_owned();
            exec_stmt(tx, &stmt).await?;
        }
        let items: Vec<(i64, &super::model::LineItem)> =
            written.iter().flat_map(|(id, o, _, _)| o.line_items.iter().map(move |li| (*id, li))).collect();
        insert_line_items(tx, &items, pg).await?;

        // Packages are upserted; one TikTok no longer lists (split / combined) is dropped unless local
        // work refers to it.
        let packages: Vec<(i64, &super::model::Package)> =
            written.iter().flat_map(|(id, o, _, _)| o.packages.iter().map(move |p| (*id, p))).collect();
        upsert_packages(tx, &packages, true).await?;
        let listed: std::collections::HashSet<(i64, &str)> = packages.iter().map(|(id, p)| (*id, p.tts_package_id.as_str())).collect();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::select()
                .columns(["id", "order_id", "tts_package_id"])
                .from("packages")
                .and_where(Expr::col("order_id").is_in(chunk.iter().copied()))
                .to_owned();
            let known: Vec<PkgRow> = fetch_stmt(tx, &stmt).await?;
            for k in known.iter().filter(|k| !listed.contains(&(k.order_id, k.tts_package_id.as_str()))) {
                drop_unlisted_package(tx, k.id).await?;
            }
        }

        // A version with the same searchable text (a status change, the usual update) leaves the
        // index alone.
        for (id, _, e, text) in &written {
            if e.search_text != *text {
                fts_replace(tx_ex(tx), *id, Some(&e.search_text), text).await?;
            }
        }
        Ok(out)
    }

    async fn shop_creator(&self, tx: &mut DbTx, shop_id: i64) -> Result<i64> {
        let stmt = Query::select().column("creator_id").from("shops").and_where(Expr::col("id").eq(shop_id)).to_owned();
        let rows: Vec<(i64,)> = fetch_stmt(tx, &stmt).await?;
        rows.first().map(|r| r.0).ok_or(StoreError::ShopNotFound(shop_id))
    }

    /// Orders not cached yet (each with its creator), with their line items, packages and search
    /// entries. Ids in input order.
    async fn insert_new_orders(&self, tx: &mut DbTx, rows: &[(i64, &Order)]) -> Result<Vec<i64>> {
        let orders: Vec<&Order> = rows.iter().map(|r| r.1).collect();
        let now = self.now_ms();
        let pg = matches!(tx, DbTx::Postgres(_));
        let texts: Vec<String> = orders.iter().map(|o| order_search_text(o, &[])).collect();
        let mut ids: HashMap<(i64, String), i64> = HashMap::with_capacity(orders.len());
        for (c, chunk) in rows.chunks(CHUNK).enumerate() {
            let mut stmt = Query::insert();
            stmt.into_table("orders").columns([
                "creator_id", "shop_id", "tts_order_id", "status", "create_time", "update_time", "paid_time",
                "buyer_name", "shipping_type", "rts_sla_time", "shipping_due_time", "total_amount", "currency",
                "recipient_address", "raw", "ship_by_time", "awaiting_shipment", "search_text", "synced_at",
            ]);
            for (j, &(creator_id, o)) in chunk.iter().enumerate() {
                stmt.values([
                    Expr::val(creator_id),
                    Expr::val(o.shop_id),
                    Expr::val(o.tts_order_id.clone()),
                    Expr::val(o.status.clone()),
                    Expr::val(o.create_time),
                    Expr::val(o.update_time),
                    Expr::val(o.paid_time),
                    Expr::val(o.buyer_name.clone()),
                    Expr::val(o.shipping_type.as_str()),
                    Expr::val(o.rts_sla_time),
                    Expr::val(o.shipping_due_time),
                    money(pg, o.total_amount.as_str()),
                    Expr::val(o.currency.clone()),
                    Expr::val(o.recipient_address.clone()),
                    Expr::val(o.raw.clone()),
                    Expr::val(ship_by(o)),
                    Expr::val(awaiting_shipment(o)),
                    Expr::val(texts[c * CHUNK + j].clone()),
                    Expr::val(now),
                ])
                .map_err(bad_statement)?;
            }
            stmt.returning(Query::returning().columns(["id", "shop_id", "tts_order_id"]));
            let returned: Vec<NewRow> = fetch_stmt(tx, &stmt).await?;
            ids.extend(returned.into_iter().map(|r| ((r.shop_id, r.tts_order_id), r.id)));
        }
        let ids: Vec<i64> = orders
            .iter()
            .map(|o| ids.get(&(o.shop_id, o.tts_order_id.clone())).copied().ok_or(StoreError::Database(sqlx::Error::RowNotFound)))
            .collect::<Result<_>>()?;

        let items: Vec<(i64, &super::model::LineItem)> =
            orders.iter().zip(&ids).flat_map(|(o, &id)| o.line_items.iter().map(move |li| (id, li))).collect();
        insert_line_items(tx, &items, pg).await?;
        let packages: Vec<(i64, &super::model::Package)> =
            orders.iter().zip(&ids).flat_map(|(o, &id)| o.packages.iter().map(move |p| (id, p))).collect();
        upsert_packages(tx, &packages, false).await?;

        // SQLite's external-content FTS5 index (PostgreSQL's tsvector is a generated column).
        if !pg {
            for (c, chunk) in ids.chunks(CHUNK).enumerate() {
                let mut stmt = Query::insert();
                stmt.into_table("order_fts").columns(["rowid", "search_text"]);
                for (j, id) in chunk.iter().enumerate() {
                    stmt.values([Expr::val(*id), Expr::val(texts[c * CHUNK + j].clone())]).map_err(bad_statement)?;
                }
                exec_stmt(tx, &stmt).await?;
            }
        }
        Ok(ids)
    }
}

/// Money goes in as its exact text; PostgreSQL's column is numeric.
fn money(pg: bool, amount: &str) -> sea_query::SimpleExpr {
    if pg { Expr::val(amount.to_owned()).cast_as("numeric") } else { Expr::val(amount.to_owned()) }
}

/// Line items of orders whose old ones are gone (new orders, or deleted just before).
async fn insert_line_items(tx: &mut DbTx, items: &[(i64, &super::model::LineItem)], pg: bool) -> Result<()> {
    for chunk in items.chunks(CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table("line_items").columns([
            "order_id", "tts_line_item_id", "product_id", "product_name", "sku_id", "sku_name", "seller_sku",
            "sale_price", "currency", "display_status", "tts_package_id",
        ]);
        for (id, li) in chunk {
            stmt.values([
                Expr::val(*id),
                Expr::val(li.tts_line_item_id.clone()),
                Expr::val(li.product_id.clone()),
                Expr::val(li.product_name.clone()),
                Expr::val(li.sku_id.clone()),
                Expr::val(li.sku_name.clone()),
                Expr::val(li.seller_sku.clone()),
                money(pg, li.sale_price.as_str()),
                Expr::val(li.currency.clone()),
                Expr::val(li.display_status.clone()),
                Expr::val(li.tts_package_id.clone()),
            ])
            .map_err(bad_statement)?;
        }
        // An order listing one line item twice keeps the first, as the one-by-one path does.
        stmt.on_conflict(OnConflict::columns(["order_id", "tts_line_item_id"]).do_nothing().to_owned());
        exec_stmt(tx, &stmt).await?;
    }
    Ok(())
}

/// Packages of orders: inserted, or (`update`, for cached orders) their status, tracking and provider
/// replaced by TikTok's.
async fn upsert_packages(tx: &mut DbTx, packages: &[(i64, &super::model::Package)], update: bool) -> Result<()> {
    for chunk in packages.chunks(CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table("packages").columns([
            "order_id", "tts_package_id", "status", "tracking_number", "shipping_provider_id", "shipping_provider",
        ]);
        for (id, p) in chunk {
            stmt.values([
                Expr::val(*id),
                Expr::val(p.tts_package_id.clone()),
                Expr::val(p.status.clone()),
                Expr::val(p.tracking_number.clone()),
                Expr::val(p.shipping_provider_id.clone()),
                Expr::val(p.shipping_provider.clone()),
            ])
            .map_err(bad_statement)?;
        }
        let mut conflict = OnConflict::columns(["order_id", "tts_package_id"]);
        let conflict = if update {
            conflict.update_columns(["status", "tracking_number", "shipping_provider_id", "shipping_provider"]).to_owned()
        } else {
            conflict.do_nothing().to_owned()
        };
        stmt.on_conflict(conflict);
        exec_stmt(tx, &stmt).await?;
    }
    Ok(())
}

//! The console's order list: filters (status, shop, created range, at risk, search text) and keyset
//! pagination newest first on (create_time, id), built with sea-query; counts by status.

use sea_query::{
    Expr, ExprTrait, Order as SortOrder, PostgresQueryBuilder, Query, SqliteQueryBuilder,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::Result;
use super::exec::{Ex, ReadConn, fetch_all};
use super::model::{OrderSummary, StatusCount};
use super::orders::SUMMARY_COLUMNS;
use super::search::{fts5_query, query_tokens, tsquery};
use super::{DEFAULT_CREATOR_ID, Store};

/// Most rows one page may ask for.
pub const MAX_PAGE: u32 = 500;

/// A search matching at most this many orders is served from its matches (sorted on the 0007 index
/// `orders_id_created`, then only the page's rows read) rather than by walking the newest-first index;
/// see `Store::few_matches`. Measured at a million orders (`bench orders`, BENCHMARKS.md): sorting on
/// the index costs ~1 µs a match against the walk's ~50 × 1,000,000 / N index steps, so on CPU alone
/// the crossover is near 3,000; but buyer-name searches (~1,750 matches) had the same p50 either way
/// and a longer tail when sorted (p99 38–62 ms against 26–31 ms on the loaded 2-core machine: one
/// page read per match), so the threshold stays at 1,000.
const FEW_MATCHES: usize = 1_000;

/// The SQLite index the few-matches path sorts on (migration 0007): (id, creator_id, create_time).
const SORT_INDEX: &str = "orders_id_created";

/// Which orders to list. Every filter is optional and they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    pub creator_id: i64,
    /// Any of these TikTok statuses (empty: all).
    pub statuses: Vec<String>,
    pub shop_id: Option<i64>,
    /// `create_time >= created_from` (seconds).
    pub created_from: Option<i64>,
    /// `create_time < created_to` (seconds).
    pub created_to: Option<i64>,
    /// Only unshipped orders whose ship-by time is within the store's risk window.
    pub at_risk: bool,
    /// Search as you type: every word is a prefix of a word of the order id, buyer name, product
    /// names, SKUs or tracking numbers.
    pub text: Option<String>,
}

impl Default for OrderFilter {
    fn default() -> Self {
        Self {
            creator_id: DEFAULT_CREATOR_ID,
            statuses: Vec::new(),
            shop_id: None,
            created_from: None,
            created_to: None,
            at_risk: false,
            text: None,
        }
    }
}

/// The position after the last row of a page (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PageCursor {
    pub create_time: i64,
    pub id: i64,
}

/// A page to fetch: up to `limit` rows after `after` (the first page when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<PageCursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: 100,
            after: None,
        }
    }
}

/// One page of orders and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    pub next: Option<PageCursor>,
}

impl Store {
    /// One keyset page of orders, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter, page: PageRequest) -> Result<OrderPage> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let mut c = ReadConn::acquire(&self.db).await?;
        let few = self.few_matches(&mut c, filter).await?;
        let mut orders: Vec<OrderSummary> = match c.ex() {
            Ex::Sqlite(conn) => {
                let (sql, values) = self.sqlite_list_sql(filter, page, limit, few.as_deref());
                sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut *conn)
                    .await?
            }
            Ex::Pg(conn) => {
                let q = self.list_query(filter, page, limit, None, SUMMARY_COLUMNS);
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut *conn)
                    .await?
            }
        };
        let next = if orders.len() > limit as usize {
            orders.truncate(limit as usize);
            orders.last().map(|o| PageCursor {
                create_time: o.create_time,
                id: o.id,
            })
        } else {
            None
        };
        self.mark_at_risk(&mut orders);
        Ok(OrderPage { orders, next })
    }

    /// The database's plan for [`Store::list_orders`] with these arguments, one line per step
    /// (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`): to check that indexes serve the console.
    pub async fn explain_list_orders(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Vec<String>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let few = self.few_matches(&mut c, filter).await?;
        let limit = page.limit.clamp(1, MAX_PAGE);
        Ok(match c.ex() {
            Ex::Sqlite(conn) => {
                let (sql, values) = self.sqlite_list_sql(filter, page, limit, few.as_deref());
                let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as_with(
                    sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")),
                    values,
                )
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter().map(|r| r.3).collect()
            }
            Ex::Pg(conn) => {
                let q = self.list_query(filter, page, limit, None, SUMMARY_COLUMNS);
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                let rows: Vec<(String,)> =
                    sqlx::query_as_with(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")), values)
                        .fetch_all(&mut *conn)
                        .await?;
                rows.into_iter().map(|r| r.0).collect()
            }
        })
    }

    /// The SQLite statement of a page. With few search matches (`few`: their ids as a JSON array) it
    /// is a deferred join: the inner query sorts the matches on `orders_id_created` — (id,
    /// creator_id, create_time), a few MB that stay cached — and keeps the page's ids; only those rows
    /// are read from the table. Reading every match's row to sort them (the table is ~300 MB at a
    /// million orders) made a search's time depend on the page cache: p99 103 ms at 550 matches.
    fn sqlite_list_sql(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
        limit: u32,
        few: Option<&str>,
    ) -> (String, SqlxValues) {
        let Some(ids) = few else {
            return self.list_query(filter, page, limit, None, SUMMARY_COLUMNS).build_sqlx(SqliteQueryBuilder);
        };
        let (inner, values) = self.list_query(filter, page, limit, Some(ids), "id").build_sqlx(SqliteQueryBuilder);
        // INDEXED BY: the planner would otherwise walk a newest-first index across the whole table,
        // testing each row against the matches (what many matches want, see `few_matches`).
        let inner = inner.replacen("FROM \"orders\"", &format!("FROM \"orders\" INDEXED BY {SORT_INDEX}"), 1);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders WHERE id IN ({inner}) ORDER BY create_time DESC, id DESC"
        );
        (sql, values)
    }

    /// SQLite search: the ids of every order the text matches, as a JSON array, when there are at
    /// most [`FEW_MATCHES`] (`None` when there are more, no text, or on PostgreSQL). Newest-first over
    /// the whole index would otherwise be the plan for every search: fine when matches are dense (a
    /// buyer's first name), but a tracking number or an order id matches one order, and finding it
    /// walked all million rows (~75 ms). Few matches are sorted on an index instead (see
    /// `sqlite_list_sql`); many keep the walk, which meets its first page of matches early. One row
    /// comes back (the ids as one JSON text, passed on to `json_each`), not one message per id.
    async fn few_matches(&self, c: &mut ReadConn, filter: &OrderFilter) -> Result<Option<String>> {
        let tokens = filter.text.as_deref().map(query_tokens).unwrap_or_default();
        let Ex::Sqlite(conn) = c.ex() else { return Ok(None) };
        if tokens.is_empty() {
            return Ok(None);
        }
        let (n, ids): (i64, String) = sqlx::query_as(
            "SELECT count(*), json_group_array(rowid) FROM \
             (SELECT rowid FROM order_fts WHERE order_fts MATCH ? LIMIT ?)",
        )
        .bind(fts5_query(&tokens))
        .bind(FEW_MATCHES as i64 + 1)
        .fetch_one(&mut *conn)
        .await?;
        Ok((n <= FEW_MATCHES as i64).then_some(ids))
    }

    /// The page's query selecting `columns`. `few_matches` (SQLite): the matching ids as a JSON array.
    fn list_query(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
        limit: u32,
        few_matches: Option<&str>,
        columns: &'static str,
    ) -> sea_query::SelectStatement {
        let mut q = Query::select();
        q.expr(Expr::cust(columns))
            .from("orders")
            .and_where(Expr::col("creator_id").eq(filter.creator_id));
        if !filter.statuses.is_empty() {
            q.and_where(Expr::col("status").is_in(filter.statuses.iter().map(String::as_str)));
        }
        if let Some(shop) = filter.shop_id {
            q.and_where(Expr::col("shop_id").eq(shop));
        }
        if let Some(from) = filter.created_from {
            q.and_where(Expr::col("create_time").gte(from));
        }
        if let Some(to) = filter.created_to {
            q.and_where(Expr::col("create_time").lt(to));
        }
        if filter.at_risk {
            // Written exactly like the partial index's predicate (a bound parameter would not match it).
            let awaiting = match self.backend() {
                creatorflow_queue::Backend::Sqlite => "awaiting_shipment = 1",
                creatorflow_queue::Backend::Postgres => "awaiting_shipment",
            };
            q.and_where(Expr::cust(awaiting));
            match self.backend() {
                // `+` keeps SQLite off orders_at_risk (ship_by order, then a sort of every unshipped
                // order: 600 ms at 120k of them) and on orders_awaiting_created, which walks the
                // unshipped orders newest first, already in the list's order.
                creatorflow_queue::Backend::Sqlite => {
                    q.and_where(Expr::cust_with_values("+ship_by_time <= ?", [self.at_risk_before()]));
                }
                creatorflow_queue::Backend::Postgres => {
                    q.and_where(Expr::col("ship_by_time").lte(self.at_risk_before()));
                }
            }
        }
        let tokens = filter.text.as_deref().map(query_tokens).unwrap_or_default();
        if let Some(ids) = few_matches {
            // One bound JSON text whatever the count: one statement text, prepared once and cached.
            q.and_where(Expr::cust_with_values("id IN (SELECT value FROM json_each(?))", [ids]));
        } else if !tokens.is_empty() {
            q.and_where(match self.backend() {
                // `+id`: a filter, never the driver. With 0007's index present the planner would
                // otherwise look every match up by rowid and sort them all (42k rows for `maria`)
                // instead of walking newest first to the page.
                creatorflow_queue::Backend::Sqlite => Expr::cust_with_values(
                    "+id IN (SELECT rowid FROM order_fts WHERE order_fts MATCH ?)",
                    [fts5_query(&tokens)],
                ),
                // sea-query numbers custom PostgreSQL placeholders `$n` within the fragment.
                creatorflow_queue::Backend::Postgres => {
                    Expr::cust_with_values("search_tsv @@ CAST($1 AS tsquery)", [tsquery(&tokens)])
                }
            });
        }
        if let Some(after) = page.after {
            // Row-value comparison: both databases walk the (…, create_time, id) index from the cursor.
            q.and_where(
                Expr::tuple([Expr::col("create_time"), Expr::col("id")]).lt(Expr::tuple([
                    Expr::val(after.create_time),
                    Expr::val(after.id),
                ])),
            );
        }
        q.order_by("create_time", SortOrder::Desc)
            .order_by("id", SortOrder::Desc)
            .limit(u64::from(limit) + 1);
        q
    }

    /// Search as you type: the newest `limit` orders matching every word of `text` as a prefix.
    pub async fn search(
        &self,
        creator_id: i64,
        text: &str,
        limit: u32,
    ) -> Result<Vec<OrderSummary>> {
        let filter = OrderFilter {
            creator_id,
            text: Some(text.to_owned()),
            ..OrderFilter::default()
        };
        if query_tokens(text).is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .list_orders(&filter, PageRequest { limit, after: None })
            .await?
            .orders)
    }

    /// Orders per TikTok status, for a creator (and optionally one shop).
    pub async fn count_by_status(
        &self,
        creator_id: i64,
        shop_id: Option<i64>,
    ) -> Result<Vec<StatusCount>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(match shop_id {
            None => fetch_all!(
                c.ex(),
                StatusCount,
                "SELECT status, COUNT(*) AS count FROM orders WHERE creator_id = ? GROUP BY status ORDER BY status",
                creator_id
            )?,
            Some(shop) => fetch_all!(
                c.ex(),
                StatusCount,
                "SELECT status, COUNT(*) AS count FROM orders WHERE creator_id = ? AND shop_id = ? \
                 GROUP BY status ORDER BY status",
                creator_id,
                shop
            )?,
        })
    }
}

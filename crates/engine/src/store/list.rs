//! The console's order list: filters (status, shop, created range, at risk, search text) and keyset
//! pagination newest first on (create_time, id), built with sea-query; counts by status.

use sea_query::{
    Expr, ExprTrait, Order as SortOrder, PostgresQueryBuilder, Query, SqliteQueryBuilder,
};
use sea_query_sqlx::SqlxBinder;
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
        let q = self.list_query(filter, page, limit);
        let mut c = ReadConn::acquire(&self.db).await?;
        let mut orders: Vec<OrderSummary> = match c.ex() {
            Ex::Sqlite(conn) => {
                let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut *conn)
                    .await?
            }
            Ex::Pg(conn) => {
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
        let q = self.list_query(filter, page, page.limit.clamp(1, MAX_PAGE));
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(match c.ex() {
            Ex::Sqlite(conn) => {
                let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as_with(
                    sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")),
                    values,
                )
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter().map(|r| r.3).collect()
            }
            Ex::Pg(conn) => {
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                let rows: Vec<(String,)> =
                    sqlx::query_as_with(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")), values)
                        .fetch_all(&mut *conn)
                        .await?;
                rows.into_iter().map(|r| r.0).collect()
            }
        })
    }

    fn list_query(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
        limit: u32,
    ) -> sea_query::SelectStatement {
        let mut q = Query::select();
        q.expr(Expr::cust(SUMMARY_COLUMNS))
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
            q.and_where(Expr::cust(awaiting))
                .and_where(Expr::col("ship_by_time").lte(self.at_risk_before()));
        }
        let tokens = filter.text.as_deref().map(query_tokens).unwrap_or_default();
        if !tokens.is_empty() {
            q.and_where(match self.backend() {
                creatorflow_queue::Backend::Sqlite => Expr::cust_with_values(
                    "id IN (SELECT rowid FROM order_fts WHERE order_fts MATCH ?)",
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

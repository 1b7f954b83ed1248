//! Running one hand-written statement on either backend: `?` placeholders become `$n` on PostgreSQL,
//! and `?num` marks a decimal-string parameter that PostgreSQL casts to NUMERIC.

use creatorflow_queue::{Backend, Db, DbTx};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};

use super::error::Result;

/// One connection of either backend, borrowed for a statement.
pub(crate) enum Ex<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// The connection inside a write transaction.
pub(crate) fn tx_ex(tx: &mut DbTx) -> Ex<'_> {
    match tx {
        DbTx::Sqlite(t) => Ex::Sqlite(t),
        DbTx::Postgres(t) => Ex::Pg(t),
    }
}

/// A pooled connection from the read side.
pub(crate) enum ReadConn {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl ReadConn {
    pub(crate) async fn acquire(db: &Db) -> Result<Self> {
        Ok(match db {
            Db::Sqlite { reader, .. } => ReadConn::Sqlite(reader.acquire().await?),
            Db::Postgres(pool) => ReadConn::Pg(pool.acquire().await?),
        })
    }

    pub(crate) fn ex(&mut self) -> Ex<'_> {
        match self {
            ReadConn::Sqlite(c) => Ex::Sqlite(c),
            ReadConn::Pg(c) => Ex::Pg(c),
        }
    }
}

/// Rewrite a statement written with `?` / `?num` placeholders for `backend`.
pub(crate) fn sql_for(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Sqlite => sql.replace("?num", "?"),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            let mut rest = sql;
            while let Some(i) = rest.find('?') {
                out.push_str(&rest[..i]);
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                rest = &rest[i + 1..];
                if let Some(r) = rest.strip_prefix("num") {
                    out.push_str("::numeric");
                    rest = r;
                }
            }
            out.push_str(rest);
            out
        }
    }
}

/// `exec!(ex, sql, args...)`: execute, returning rows affected.
macro_rules! exec {
    ($ex:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        use $crate::store::exec::{Ex, sql_for};
        use creatorflow_queue::Backend;
        match $ex {
            Ex::Sqlite(c) => sqlx::query(sqlx::AssertSqlSafe(sql_for(Backend::Sqlite, $sql)))
                $(.bind($arg))*
                .execute(&mut *c).await.map(|r| r.rows_affected()),
            Ex::Pg(c) => sqlx::query(sqlx::AssertSqlSafe(sql_for(Backend::Postgres, $sql)))
                $(.bind($arg))*
                .execute(&mut *c).await.map(|r| r.rows_affected()),
        }
    }};
}

/// `fetch_all!(ex, T, sql, args...)`: decode every row as `T` (a `FromRow` type).
macro_rules! fetch_all {
    ($ex:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {{
        use $crate::store::exec::{Ex, sql_for};
        use creatorflow_queue::Backend;
        match $ex {
            Ex::Sqlite(c) => sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe(sql_for(Backend::Sqlite, $sql)))
                $(.bind($arg))*
                .fetch_all(&mut *c).await,
            Ex::Pg(c) => sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe(sql_for(Backend::Postgres, $sql)))
                $(.bind($arg))*
                .fetch_all(&mut *c).await,
        }
    }};
}

/// `fetch_opt!(ex, T, sql, args...)`: decode at most one row as `T`.
macro_rules! fetch_opt {
    ($ex:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {{
        use $crate::store::exec::{Ex, sql_for};
        use creatorflow_queue::Backend;
        match $ex {
            Ex::Sqlite(c) => sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe(sql_for(Backend::Sqlite, $sql)))
                $(.bind($arg))*
                .fetch_optional(&mut *c).await,
            Ex::Pg(c) => sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe(sql_for(Backend::Postgres, $sql)))
                $(.bind($arg))*
                .fetch_optional(&mut *c).await,
        }
    }};
}

pub(crate) use {exec, fetch_all, fetch_opt};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let sql = "INSERT INTO t (a, b, c) VALUES (?, ?num, ?)";
        assert_eq!(
            sql_for(Backend::Sqlite, sql),
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"
        );
        assert_eq!(
            sql_for(Backend::Postgres, sql),
            "INSERT INTO t (a, b, c) VALUES ($1, $2::numeric, $3)"
        );
    }
}

/// Runs a sea-query statement (the multi-row writes of bulk paths) in the caller's transaction;
/// rows affected.
pub(crate) async fn exec_stmt<S: sea_query_sqlx::SqlxBinder>(tx: &mut DbTx, stmt: &S) -> Result<u64> {
    Ok(match tx {
        DbTx::Sqlite(t) => {
            let (sql, values) = stmt.build_sqlx(sea_query::SqliteQueryBuilder);
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values).execute(&mut **t).await?.rows_affected()
        }
        DbTx::Postgres(t) => {
            let (sql, values) = stmt.build_sqlx(sea_query::PostgresQueryBuilder);
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values).execute(&mut **t).await?.rows_affected()
        }
    })
}

/// Runs a sea-query statement in the caller's transaction; the rows it returns.
pub(crate) async fn fetch_stmt<T, S>(tx: &mut DbTx, stmt: &S) -> Result<Vec<T>>
where
    S: sea_query_sqlx::SqlxBinder,
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    Ok(match tx {
        DbTx::Sqlite(t) => {
            let (sql, values) = stmt.build_sqlx(sea_query::SqliteQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
        DbTx::Postgres(t) => {
            let (sql, values) = stmt.build_sqlx(sea_query::PostgresQueryBuilder);
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values).fetch_all(&mut **t).await?
        }
    })
}

/// Ids per `IN (...)` list of the set statements.
pub(crate) const ID_ROWS: usize = 500;

/// Which of `order_ids` a one-column `order_id` SELECT returns, in the caller's transaction:
/// `select(chunk)` builds that SELECT for one ID_ROWS chunk of the ids.
pub(crate) async fn order_ids_in(
    tx: &mut DbTx,
    order_ids: &[i64],
    select: impl Fn(&[i64]) -> sea_query::SelectStatement,
) -> Result<std::collections::HashSet<i64>> {
    #[derive(sqlx::FromRow)]
    struct OrderId {
        order_id: i64,
    }
    let mut found = std::collections::HashSet::new();
    for chunk in order_ids.chunks(ID_ROWS) {
        found.extend(fetch_stmt::<OrderId, _>(tx, &select(chunk)).await?.into_iter().map(|r| r.order_id));
    }
    Ok(found)
}

/// Every row of `sql_prefix` followed by `(?, ?, ...)`, one placeholder per id, with `ids` bound in
/// order: the set reads whose SQL sea-query cannot express (correlated JSON aggregates).
pub(crate) async fn fetch_with_ids<T>(ex: Ex<'_>, sql_prefix: &str, ids: &[i64]) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::with_capacity(sql_prefix.len() + 3 * ids.len() + 2);
    sql.push_str(sql_prefix);
    sql.push('(');
    for i in 0..ids.len() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
    sql.push(')');
    Ok(match ex {
        Ex::Sqlite(c) => {
            let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql_for(Backend::Sqlite, &sql)));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await?
        }
        Ex::Pg(c) => {
            let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql_for(Backend::Postgres, &sql)));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await?
        }
    })
}

/// A multi-row statement sea-query could not build (a row of the wrong width).
pub(crate) fn bad_statement(e: impl std::fmt::Display) -> super::error::StoreError {
    super::error::StoreError::InvalidInput { field: "multi-row statement", value: super::error::clip(&e.to_string()) }
}

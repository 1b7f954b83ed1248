//! Database handle over SQLite (one writer + a read pool, WAL) or PostgreSQL, and a transaction
//! type the engine uses for its own rows so enqueues can commit with them.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite, Transaction};

use crate::error::{QueueError, Result};

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A cheap-to-clone database handle. SQLite: every write goes through one connection
/// (`BEGIN IMMEDIATE`), so writers queue in-process instead of spinning on `SQLITE_BUSY`;
/// reads use a separate pool and see committed data (WAL).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// Options for [`Db::connect_with`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// SQLite read pool size.
    pub sqlite_readers: u32,
    /// PostgreSQL pool size.
    pub pg_max_connections: u32,
    /// How long a SQLite connection waits for a lock held by another process.
    pub busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            sqlite_readers: 4,
            pg_max_connections: 16,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl Db {
    /// Connect to `sqlite://path` (created if missing) or `postgres://...`, and apply migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &DbOptions::default()).await
    }

    /// [`Db::connect`] with explicit pool options.
    pub async fn connect_with(url: &str, opts: &DbOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                // Two pools (writer + readers) would each get their own private in-memory database.
                return Err(QueueError::UnsupportedUrl(url.to_owned()));
            }
            let o = SqliteConnectOptions::from_str(url)?;
            Self::connect_sqlite_options(o, opts).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let o = PgConnectOptions::from_str(url)?;
            Self::connect_postgres_options(o, opts).await
        } else {
            Err(QueueError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Open (or create) a SQLite database file.
    pub async fn connect_sqlite(path: &Path) -> Result<Self> {
        let o = SqliteConnectOptions::new().filename(path);
        Self::connect_sqlite_options(o, &DbOptions::default()).await
    }

    async fn connect_sqlite_options(o: SqliteConnectOptions, opts: &DbOptions) -> Result<Self> {
        let o = o
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: durable against process crashes, one fsync per checkpoint.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(opts.busy_timeout)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(o.clone())
            .await?;
        sqlx::migrate!("../../migrations/sqlite")
            .run(&writer)
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(opts.sqlite_readers.max(1))
            .connect_with(o)
            .await?;
        Ok(Db::Sqlite { writer, reader })
    }

    /// Connect to PostgreSQL with explicit options (tests use this to set a per-test `search_path`).
    pub async fn connect_postgres_options(o: PgConnectOptions, opts: &DbOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(opts.pg_max_connections.max(1))
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(o)
            .await?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Db::Postgres(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begin a write transaction: `BEGIN IMMEDIATE` on the SQLite writer, READ COMMITTED on PostgreSQL.
    /// On SQLite this holds the single writer connection until commit/rollback: do not call queue
    /// methods that write on their own (other than `*_tx`) while holding it.
    pub async fn begin(&self) -> Result<DbTx> {
        Ok(match self {
            Db::Sqlite { writer, .. } => DbTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => DbTx::Postgres(pool.begin().await?),
        })
    }

    /// Close every pool (waits for connections to be returned).
    pub async fn close(&self) {
        match self {
            Db::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Run a sea-query statement on the read side and decode every row.
    pub(crate) async fn read_all<T, S>(&self, stmt: &S) -> Result<Vec<T>>
    where
        S: SqlxBinder,
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            Db::Sqlite { reader, .. } => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_all(reader)
                    .await?
            }
            Db::Postgres(pool) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// Run a sea-query statement on the read side and decode at most one row.
    pub(crate) async fn read_optional<T, S>(&self, stmt: &S) -> Result<Option<T>>
    where
        S: SqlxBinder,
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            Db::Sqlite { reader, .. } => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_optional(reader)
                    .await?
            }
            Db::Postgres(pool) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }
}

/// A write transaction on either backend. The engine writes its own rows through
/// [`DbTx::sqlite`] / [`DbTx::postgres`] and enqueues with `Queue::insert_tx` in the same commit.
#[derive(Debug)]
pub enum DbTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl DbTx {
    pub async fn commit(self) -> Result<()> {
        match self {
            DbTx::Sqlite(tx) => tx.commit().await?,
            DbTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            DbTx::Sqlite(tx) => tx.rollback().await?,
            DbTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTx::Sqlite(_) => Backend::Sqlite,
            DbTx::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite transaction, for the caller's own statements.
    pub fn sqlite(&mut self) -> Option<&mut Transaction<'static, Sqlite>> {
        match self {
            DbTx::Sqlite(tx) => Some(tx),
            DbTx::Postgres(_) => None,
        }
    }

    /// The PostgreSQL transaction, for the caller's own statements.
    pub fn postgres(&mut self) -> Option<&mut Transaction<'static, Postgres>> {
        match self {
            DbTx::Postgres(tx) => Some(tx),
            DbTx::Sqlite(_) => None,
        }
    }

    /// Execute a sea-query statement; returns rows affected.
    pub(crate) async fn exec<S: SqlxBinder>(&mut self, stmt: &S) -> Result<u64> {
        Ok(match self {
            DbTx::Sqlite(tx) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), values)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
            DbTx::Postgres(tx) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), values)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
        })
    }

    /// Run a sea-query statement and decode every row.
    pub(crate) async fn fetch_all<T, S>(&mut self, stmt: &S) -> Result<Vec<T>>
    where
        S: SqlxBinder,
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            DbTx::Sqlite(tx) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_all(&mut **tx)
                    .await?
            }
            DbTx::Postgres(tx) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    /// Run a sea-query statement and decode at most one row.
    pub(crate) async fn fetch_optional<T, S>(&mut self, stmt: &S) -> Result<Option<T>>
    where
        S: SqlxBinder,
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            DbTx::Sqlite(tx) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            DbTx::Postgres(tx) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }
}

//! The live snapshot's cache hit rate, defined as the database's page cache: the share of page reads
//! answered from memory rather than from the file system (SQLite) or from disk (PostgreSQL), over the
//! last 60 s. It is the cache that decides whether order lookups, searches and the queue's claims stay
//! fast as the local cache grows; a falling rate means the working set no longer fits.
//!
//! - SQLite: `sqlite3_db_status(SQLITE_DBSTATUS_CACHE_HIT / _MISS)` of each connection, read and reset
//!   at every sample. Only connections idle at that moment are read (a busy one keeps its counts for
//!   the next sample), so sampling never waits for a query.
//! - PostgreSQL: `blks_hit` / `blks_read` of `pg_stat_database` for the current database, the change
//!   since the previous sample (for every client of that database, not only this process).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use creatorflow_queue::Db;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};

/// The span the rate covers.
const WINDOW: Duration = Duration::from_secs(60);

/// What the rate is measured on, as the UI's tooltip says it.
pub(crate) const SQLITE_SOURCE: &str =
    "SQLite page cache: page reads answered from SQLite's in-memory cache rather than read from the database file, last 60 s";
pub(crate) const POSTGRES_SOURCE: &str =
    "PostgreSQL buffer cache: block reads answered from shared buffers rather than disk (pg_stat_database, whole database), last 60 s";

/// Hits and misses sampled over the last minute.
#[derive(Debug, Default)]
pub(crate) struct PageCacheWindow {
    samples: VecDeque<(Instant, u64, u64)>,
    /// PostgreSQL's cumulative counters at the previous sample.
    pg_last: Option<(i64, i64)>,
    /// SQLite: whether the whole database file fits in one connection's page cache, at the last
    /// sample. Then every miss is a page another connection's write made stale, or one read for the
    /// first time (cheap: the OS has it), never an eviction: a low rate says nothing about memory.
    pub(crate) fits_in_cache: Option<bool>,
}

impl PageCacheWindow {
    fn push(&mut self, now: Instant, hits: u64, misses: u64) {
        while self.samples.front().is_some_and(|(t, _, _)| now.duration_since(*t) > WINDOW) {
            self.samples.pop_front();
        }
        if hits + misses > 0 {
            self.samples.push_back((now, hits, misses));
        }
    }

    /// `(hits, misses)` in the window.
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.samples.iter().fold((0, 0), |(h, m), (_, a, b)| (h + a, m + b))
    }

    /// Add what happened since the last sample. A database error leaves the window as it was: the
    /// rate is a dashboard figure, never a reason to fail the snapshot.
    pub(crate) async fn sample(window: &std::sync::Mutex<PageCacheWindow>, db: &Db) {
        let now = Instant::now();
        match db {
            Db::Sqlite { writer, reader } => {
                let (mut hits, mut misses) = (0, 0);
                let mut fits = None;
                for pool in [writer, reader] {
                    for mut conn in idle_connections(pool) {
                        if let Some((h, m)) = sqlite_counts(&mut conn).await {
                            hits += h;
                            misses += m;
                        }
                        if fits.is_none() {
                            fits = fits_in_cache(&mut conn).await;
                        }
                    }
                }
                let mut w = lock(window);
                w.push(now, hits, misses);
                if fits.is_some() {
                    w.fits_in_cache = fits;
                }
            }
            Db::Postgres(pool) => {
                let row: Result<(i64, i64), _> = sqlx::query_as(
                    "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()",
                )
                .fetch_one(pool)
                .await;
                let Ok((hit, read)) = row else { return };
                let mut w = lock(window);
                if let Some((h0, r0)) = w.pg_last.replace((hit, read)) {
                    // A stats reset makes the counters go back: skip that interval.
                    let (dh, dr) = (hit - h0, read - r0);
                    if dh >= 0 && dr >= 0 {
                        w.push(now, dh as u64, dr as u64);
                    }
                }
            }
        }
    }
}

fn lock(m: &std::sync::Mutex<PageCacheWindow>) -> std::sync::MutexGuard<'_, PageCacheWindow> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every connection of `pool` that is idle now (all returned to the pool when dropped).
fn idle_connections(pool: &SqlitePool) -> Vec<PoolConnection<Sqlite>> {
    let mut out = Vec::new();
    while let Some(c) = pool.try_acquire() {
        out.push(c);
    }
    out
}

/// Whether the database file (`page_count × page_size`) fits in the connection's page cache
/// (`cache_size`: pages, or KiB when negative); `None` if SQLite would not say.
async fn fits_in_cache(conn: &mut PoolConnection<Sqlite>) -> Option<bool> {
    let (bytes, page_size, cache_size): (i64, i64, i64) = sqlx::query_as(
        "SELECT page_count * page_size, page_size, cache_size FROM pragma_page_count(), pragma_page_size(), pragma_cache_size()",
    )
    .fetch_one(&mut **conn)
    .await
    .ok()?;
    let capacity = if cache_size < 0 { cache_size.saturating_mul(-1024) } else { cache_size.saturating_mul(page_size) };
    Some(bytes <= capacity)
}

/// A connection's page-cache hits and misses since its previous read (the counters are reset).
async fn sqlite_counts(conn: &mut PoolConnection<Sqlite>) -> Option<(u64, u64)> {
    let mut handle = conn.lock_handle().await.ok()?;
    let db = handle.as_raw_handle().as_ptr();
    let read = |op: i32| -> Option<u64> {
        let (mut current, mut highwater) = (0i32, 0i32);
        // SAFETY: `db` is this connection's open sqlite3 handle, held exclusively through the locked
        // handle for the whole call (the connection's worker thread cannot use it meanwhile);
        // sqlite3_db_status only reads and resets the connection's counters into our two ints.
        let rc = unsafe { libsqlite3_sys::sqlite3_db_status(db, op, &mut current, &mut highwater, 1) };
        (rc == libsqlite3_sys::SQLITE_OK).then(|| u64::try_from(current).unwrap_or(0))
    };
    let hits = read(libsqlite3_sys::SQLITE_DBSTATUS_CACHE_HIT)?;
    let misses = read(libsqlite3_sys::SQLITE_DBSTATUS_CACHE_MISS)?;
    Some((hits, misses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_samples_older_than_a_minute() {
        let mut w = PageCacheWindow::default();
        let t0 = Instant::now();
        w.push(t0, 90, 10);
        w.push(t0 + Duration::from_secs(30), 9, 1);
        assert_eq!(w.totals(), (99, 11));
        w.push(t0 + Duration::from_secs(61), 0, 0);
        assert_eq!(w.totals(), (9, 1));
    }

    /// The cache-hit alert is held back only while the file fits one connection's cache.
    #[tokio::test]
    async fn a_database_fits_its_cache_until_it_outgrows_cache_size() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (x BLOB)").execute(&mut *conn).await.unwrap();
        sqlx::query("INSERT INTO t SELECT zeroblob(1000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT i FROM n)")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert_eq!(fits_in_cache(&mut conn).await, Some(true), "~100 KB under the default 2 MB cache");
        sqlx::query("PRAGMA cache_size = 10").execute(&mut *conn).await.unwrap();
        assert_eq!(fits_in_cache(&mut conn).await, Some(false), "~100 KB over ten pages");
        sqlx::query("PRAGMA cache_size = -100000").execute(&mut *conn).await.unwrap();
        assert_eq!(fits_in_cache(&mut conn).await, Some(true), "a cache given in KiB");
    }
}

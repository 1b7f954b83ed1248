//! How far back a sync pass reads: every pass a couple of seconds before the watermark, and the first
//! pass of a process (then one a window later) the whole wide window.

use std::sync::Arc;
use std::time::Duration;

use creatorflow_engine::connection::ClientTuning;
use creatorflow_engine::demo;
use creatorflow_engine::metrics::Metrics;
use creatorflow_engine::pipeline::{Pipeline, PipelineConfig};
use creatorflow_engine::store::Store;
use creatorflow_engine::sync::{Cursor, ORDERS_STREAM, SyncConfig};
use creatorflow_queue::Db;
use tiktok_sandbox::SandboxConfig;

const WIDE: i64 = 3_600;
const NARROW: i64 = 2;

fn pipeline(store: &Store, shop: &demo::DemoShop) -> Pipeline {
    let config = PipelineConfig {
        sync: SyncConfig { overlap_secs: NARROW, wide_overlap_secs: WIDE, ..SyncConfig::default() },
        ..PipelineConfig::default()
    };
    Pipeline::new(store.clone(), shop.connections.clone(), Arc::new(Metrics::new(store.clock())), None, config)
}

async fn watermark(store: &Store, shop_id: i64) -> i64 {
    let cursor = store.get_cursor(shop_id, ORDERS_STREAM).await.unwrap().expect("a cursor after a pass");
    serde_json::from_value::<Cursor>(cursor).unwrap().update_time
}

/// Cached orders of the shop whose version is at least `since`: what a pass from `since` must read.
async fn cached_since(store: &Store, shop_id: i64, since: i64) -> u64 {
    let Db::Sqlite { reader, .. } = store.db() else { unreachable!("a SQLite test") };
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM orders WHERE shop_id = ? AND update_time >= ?")
        .bind(shop_id)
        .bind(since)
        .fetch_one(reader)
        .await
        .unwrap();
    n as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_reread_a_few_seconds_and_a_wide_window_once_per_process_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Db::connect_sqlite(&dir.path().join("cf.db")).await.unwrap());
    let mut sc = SandboxConfig::with_seed(7);
    // 300 orders over the last two hours: about one every 24 s, so the narrow and the wide window
    // hold very different numbers of them.
    sc.initial_orders = 300;
    sc.initial_orders_span_secs = 2 * WIDE;
    sc.orders_per_minute = 0.0;
    let tuning = ClientTuning { request_timeout: Duration::from_secs(5), ..ClientTuning::default() };
    let shop = demo::start(&store, sc, tuning).await.unwrap();
    let id = shop.shop.id;

    let first = pipeline(&store, &shop);
    let backfill = first.sync_shop(&shop.shop).await.unwrap();
    assert_eq!(backfill.fetched, 300, "the first pass backfills every order: {backfill:?}");

    // The same process again: the wide pass is not due, so only the last seconds are re-read.
    let w = watermark(&store, id).await;
    let narrow = first.sync_shop(&shop.shop).await.unwrap();
    let expected = cached_since(&store, id, w - NARROW).await;
    assert_eq!(narrow.fetched, expected, "a pass re-reads {NARROW} s before the watermark: {narrow:?}");

    // A new process (a restart) reads the wide window first: a version shown late is not missed.
    let w = watermark(&store, id).await;
    let restarted = pipeline(&store, &shop);
    let wide = restarted.sync_shop(&shop.shop).await.unwrap();
    let expected_wide = cached_since(&store, id, w - WIDE).await;
    assert_eq!(wide.fetched, expected_wide, "the first pass of a process reads {WIDE} s back: {wide:?}");
    assert!(
        wide.fetched > narrow.fetched + 50,
        "the windows differ: wide {} against narrow {}",
        wide.fetched,
        narrow.fetched
    );
    let again = restarted.sync_shop(&shop.shop).await.unwrap();
    assert!(again.fetched < wide.fetched, "and then it is narrow again: {again:?} after {wide:?}");
    shop.sandbox.shutdown().await.unwrap();
}

//! A pipeline on a temp SQLite database wired to an in-process sandbox shop, and the checks every
//! scenario ends with.

use std::sync::Arc;
use std::time::Duration;

use creatorflow_engine::connection::ClientTuning;
use creatorflow_engine::demo::{self, DemoShop};
use creatorflow_engine::metrics::Metrics;
use creatorflow_engine::pipeline::{DemoCarrier, Pipeline, PipelineConfig};
use creatorflow_engine::runner::{Runner, RunnerConfig};
use creatorflow_engine::store::Store;
use creatorflow_queue::{Db, JobFilter, JobState};
use tiktok_sandbox::{FaultSettings, SandboxConfig};

pub struct HarnessConfig {
    pub orders: usize,
    pub faults: FaultSettings,
    pub access_token_ttl_secs: i64,
    /// New orders per minute while the test runs (Poisson, with bursts).
    pub orders_per_minute: f64,
    /// Share of orders TikTok ships (the rest are seller-shipped).
    pub tiktok_shipping_share: f64,
    /// Book seller-shipped parcels with the demo carrier; without it they wait for a person's tracking.
    pub carrier: bool,
}

impl Default for HarnessConfig {
    fn default() -> Self {
        Self {
            orders: 100,
            faults: FaultSettings::default(),
            access_token_ttl_secs: 3600,
            orders_per_minute: 0.0,
            tiktok_shipping_share: SandboxConfig::with_seed(42).tiktok_shipping_share,
            carrier: true,
        }
    }
}

pub struct Harness {
    pub demo: DemoShop,
    pub store: Store,
    pub runner: Option<Runner>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(c: HarnessConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect_sqlite(&dir.path().join("cf.db")).await.unwrap();
        let store = Store::new(db);
        let mut sc = SandboxConfig::with_seed(42);
        sc.initial_orders = c.orders;
        sc.orders_per_minute = c.orders_per_minute;
        sc.unpaid_resolve_secs = 2;
        sc.on_hold_secs = 2;
        sc.cancel_window_secs = 3;
        sc.access_token_ttl_secs = c.access_token_ttl_secs;
        sc.faults = c.faults;
        sc.tiktok_shipping_share = c.tiktok_shipping_share;
        // Label documents from a host of their own, as on TikTok: its breaker is not the API's.
        sc.separate_document_host = true;
        let tuning = ClientTuning {
            request_timeout: Duration::from_millis(2_500),
            connect_timeout: Duration::from_millis(1_000),
            qps_per_path: 50.0,
            refresh_margin: Duration::from_secs(1),
        };
        let demo = demo::start(&store, sc, tuning).await.unwrap();
        let metrics = Arc::new(Metrics::new(store.clock()));
        let config = PipelineConfig {
            wait_outside: Duration::from_secs(30),
            on_hold_retry: Duration::from_secs(1),
            ..PipelineConfig::default()
        };
        let carrier: Option<Arc<dyn creatorflow_engine::pipeline::CarrierAdapter>> =
            if c.carrier { Some(Arc::new(DemoCarrier::default())) } else { None };
        let pipeline = Pipeline::new(store.clone(), demo.connections.clone(), metrics, carrier, config);
        let runner = Runner::start(
            pipeline,
            RunnerConfig { poll_interval: Duration::from_millis(300), idle_horizon: Duration::from_secs(10), ..RunnerConfig::default() },
        )
        .await
        .unwrap();
        Harness { demo, store, runner: Some(runner), dir }
    }

    pub fn pipeline(&self) -> &Pipeline {
        self.runner.as_ref().unwrap().pipeline()
    }

    /// Waits past the sandbox's unpaid/on-hold/cancel windows, then until the pipeline is idle.
    pub async fn settle_and_drain(&self, max: Duration) {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let runner = self.runner.as_ref().unwrap();
        // until_idle needs &mut; poll through backlog instead to keep the harness shared.
        let deadline = std::time::Instant::now() + max;
        let mut ticks = 0u64;
        loop {
            let b = runner.backlog().await.unwrap();
            let unpaid_or_held = self
                .demo
                .sandbox
                .stats()
                .orders_by_status
                .iter()
                .filter(|(s, _)| s.as_str() == "UNPAID" || s.as_str() == "ON_HOLD")
                .map(|(_, n)| *n)
                .sum::<u64>();
            if b.active == 0 && b.due_soon == 0 && unpaid_or_held == 0 && self.all_open_orders_done().await {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "pipeline did not drain in {max:?}: {b:?}");
            ticks += 1;
            if ticks.is_multiple_of(20) {
                let st = self.demo.sandbox.stats();
                eprintln!("draining: {b:?}; tiktok: {:?}; pool {:?}", st.orders_by_status, runner.pool_stats());
                let q = self.pipeline().queue();
                let stuck = q
                    .list(&JobFilter { states: vec![JobState::Discarded], limit: Some(3), ..JobFilter::default() })
                    .await
                    .unwrap();
                let shop = self.store.get_shop(self.demo.shop.id).await.unwrap();
                eprintln!("  shop {:?} paused {}; sample: {:?}", shop.status, shop.paused,
                    stuck.iter().map(|j| (j.kind.clone(), j.state, j.snoozes, j.last_error_kind.clone(), j.last_error_message.clone())).collect::<Vec<_>>());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every order TikTok shows as shippable locally has a finished fulfillment.
    async fn all_open_orders_done(&self) -> bool {
        let stats = self.demo.sandbox.stats();
        let awaiting = stats.orders_by_status.get("AWAITING_SHIPMENT").copied().unwrap_or(0);
        awaiting == 0
    }

    /// Failed attempts recorded on the pipeline queue (attempts spent).
    pub async fn attempt_failures(&self) -> usize {
        let q = self.pipeline().queue();
        let jobs = q.list(&JobFilter { limit: Some(100_000), ..JobFilter::default() }).await.unwrap();
        let mut n = 0;
        for j in jobs.iter().filter(|j| j.attempt > 1 || j.state == JobState::Discarded || j.state == JobState::Retryable) {
            n += q.attempts(j.id).await.unwrap().iter().filter(|a| a.outcome == "failed").count();
        }
        n
    }

    pub async fn assert_every_shippable_order_shipped_once(&self) {
        let stats = self.demo.sandbox.stats();
        assert_eq!(stats.duplicate_ships, 0, "duplicate ship calls: {:?}", stats.ship_calls);
        assert_eq!(stats.rejected_signatures, 0, "signatures rejected");
        assert_eq!(stats.orders_by_status.get("AWAITING_SHIPMENT").copied().unwrap_or(0), 0, "{:?}", stats.orders_by_status);
        let q = self.pipeline().queue();
        let discarded = q
            .list(&JobFilter { states: vec![JobState::Discarded], limit: Some(1000), ..JobFilter::default() })
            .await
            .unwrap();
        let reasons: Vec<_> = discarded.iter().map(|j| (j.kind.clone(), j.last_error_kind.clone(), j.last_error_message.clone())).collect();
        assert!(discarded.is_empty(), "dead-lettered jobs (none is genuinely failing in this shop): {reasons:#?}");
        // What we recorded as shipped is shipped on TikTok, and no cancelled order is among it.
        let shipped = self.shipped_orders().await;
        eprintln!(
            "shipped {} orders; sandbox orders by status {:?}; calls {:?}; faults {:?}; refreshes {}",
            shipped.len(),
            stats.orders_by_status,
            stats.calls,
            stats.faults_injected,
            stats.token_refreshes
        );
        assert!(!shipped.is_empty());
        for id in &shipped {
            let remote = self.demo.sandbox.order_json(id).expect("a shipped order exists remotely");
            let status = remote["status"].as_str().unwrap_or_default().to_owned();
            assert!(
                ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"].contains(&status.as_str()),
                "order {id} recorded shipped but is {status} on tiktok"
            );
        }
        let shipped_remotely: u64 = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"]
            .iter()
            .map(|s| stats.orders_by_status.get(*s).copied().unwrap_or(0))
            .sum();
        assert!(shipped.len() as u64 <= shipped_remotely);
        let integrity: (String,) = match self.store.db() {
            Db::Sqlite { writer, .. } => sqlx::query_as("PRAGMA integrity_check").fetch_one(writer).await.unwrap(),
            _ => ("ok".into(),),
        };
        assert_eq!(integrity.0, "ok");
    }

    /// Shipped TikTok-shipping orders whose label is not stored yet.
    pub async fn labels_missing(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM fulfillments f JOIN orders o ON o.id = f.order_id \
                   WHERE o.shipping_type = 'TIKTOK' AND f.shipped_at IS NOT NULL AND f.label_stored_at IS NULL";
        let Db::Sqlite { reader, .. } = self.store.db() else { panic!("the pipeline harness runs on SQLite") };
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(reader).await.unwrap();
        n
    }

    /// TikTok order ids the pipeline recorded as shipped.
    pub async fn shipped_orders(&self) -> Vec<String> {
        let sql = "SELECT o.tts_order_id FROM orders o JOIN fulfillments f ON f.order_id = o.id WHERE f.shipped_at IS NOT NULL";
        match self.store.db() {
            Db::Sqlite { reader, .. } => {
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(reader).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
            Db::Postgres(pool) => {
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(pool).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.runner.take() {
            r.shutdown(Duration::from_secs(5)).await.unwrap();
        }
    }
}

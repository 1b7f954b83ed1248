//! The pipeline running inside the console's process: `Console::launch` opens the database and starts
//! the `Runner` (sync loop, worker pools, metrics flush) on a worker slot of its own, so the desktop
//! app (and `serve`) work the orders themselves instead of only reading what a `creatorflow-cli run`
//! wrote. First launch: with no shop connected it starts the built-in demo shop instead (a fresh demo
//! database, the sandbox in this process generating orders, the demo carrier) and says so.

use std::sync::Arc;
use std::time::Duration;

use tiktok_sandbox::{SandboxConfig, SandboxHandle};
use creatorflow_queue::Queue;

use super::{Console, ConsoleConfig};
use crate::connection::ClientTuning;
use crate::demo;
use crate::error::EngineError;
use crate::metrics::Metrics;
use crate::node::NodeIdentity;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::runner::{Runner, RunnerConfig};
use crate::store::DEFAULT_CREATOR_ID;

/// How `Console::launch` runs the pipeline.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// With no shop in the database, run the built-in demo shop (in a database of its own) instead.
    pub demo_when_no_shop: bool,
    /// Most jobs at once in the main pool.
    pub max_workers: usize,
    /// Time between sync passes of a shop.
    pub poll_interval: Duration,
    /// The demo shop's sandbox (orders at start, new orders per minute, faults, seed).
    pub demo_sandbox: SandboxConfig,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        // A demo that shows a living shop: a backlog to work through at start, then a steady stream.
        // The backlog is a burst that just came in, and holds are short: the demo's order-to-fulfillment
        // figures then show the pipeline, not a shop left alone for two days (which would fire the
        // order-latency alert at every start).
        let demo_sandbox = SandboxConfig {
            initial_orders: 120,
            initial_orders_span_secs: 10,
            on_hold_secs: 10,
            orders_per_minute: 60.0,
            ..SandboxConfig::default()
        };
        ServiceOptions { demo_when_no_shop: false, max_workers: 64, poll_interval: Duration::from_secs(5), demo_sandbox }
    }
}

/// The running pipeline a launched `Console` (and every clone) holds.
pub(crate) struct Service {
    pipeline: Pipeline,
    /// `None` once shut down; a tokio mutex because shutting down awaits under it.
    runner: tokio::sync::Mutex<Option<Runner>>,
    /// The pools' figures, copied out of the runner by the snapshot without awaiting its lock.
    pools: std::sync::Mutex<PoolFigures>,
    /// The demo shop's sandbox (taken at shutdown); `is_demo` stays true after.
    demo: std::sync::Mutex<Option<SandboxHandle>>,
    is_demo: bool,
    /// In demo mode, the console over the real database the demo stands in for.
    home: Option<Console>,
    /// The worker slot: held for as long as the service lives.
    _node: NodeIdentity,
}

/// Worker pool figures for the snapshot: `(in flight, concurrency, max)` of the main and label pools.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PoolFigures {
    pub main: (usize, usize, usize),
    pub labels: (usize, usize, usize),
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("demo", &self.is_demo).finish_non_exhaustive()
    }
}

impl Service {
    pub(crate) fn is_demo(&self) -> bool {
        self.is_demo
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub(crate) fn home(&self) -> Option<&Console> {
        self.home.as_ref()
    }

    /// The demo shop's sandbox while it runs (its fault controls, `demo_faults.rs`).
    pub(crate) fn with_demo<T>(&self, f: impl FnOnce(&SandboxHandle) -> T) -> Option<T> {
        self.demo.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(f)
    }

    /// The worker pools now. `try_lock`: a snapshot taken while `shutdown` holds the runner reports
    /// the last figures rather than waiting for the pools to drain.
    pub(crate) fn pool_figures(&self) -> PoolFigures {
        let mut last = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(guard) = self.runner.try_lock() {
            *last = match guard.as_ref() {
                Some(r) => {
                    let (main_max, label_max) = r.max_workers();
                    let (m, l) = (r.pool_stats(), r.label_pool_stats());
                    PoolFigures {
                        main: (m.in_flight, m.concurrency, main_max),
                        labels: (l.in_flight, l.concurrency, label_max),
                    }
                }
                None => PoolFigures::default(),
            };
        }
        *last
    }
}

impl Console {
    /// Opens the database and starts the pipeline in this process: the runner with its sync loop,
    /// worker pools and metrics flush, on a worker slot of this data dir (so a crashed earlier process's
    /// jobs come back at once). With no shop connected and `options.demo_when_no_shop`, the built-in
    /// demo shop runs instead, in a fresh database under `DATA_DIR/demo`, and the console reports demo
    /// mode (`Overview::demo`, `LiveSnapshot::demo`). Stop it with [`Console::shutdown`].
    pub async fn launch(config: ConsoleConfig, options: ServiceOptions) -> Result<Console, EngineError> {
        Console::open(config).await?.start_service(options).await
    }

    /// [`Console::launch`] on a console already open (e.g. one given a secret store with
    /// `with_secret_store`). A console whose pipeline already runs is returned as it is.
    pub async fn start_service(self, options: ServiceOptions) -> Result<Console, EngineError> {
        if self.service.is_some() {
            return Ok(self);
        }
        let has_shop = !self.store.list_shops(DEFAULT_CREATOR_ID).await?.is_empty();
        if !has_shop && options.demo_when_no_shop {
            // The real database stays open: shops connected from the demo go there (`connect.rs`).
            return Self::launch_demo(self, options).await;
        }
        let node = NodeIdentity::claim(&self.data_dir)?;
        let metrics = Arc::new(Metrics::new(self.store.clock()));
        // Seller-shipped orders wait for a tracking number entered by a person (no carrier configured).
        let pipeline = Pipeline::new(self.store.clone(), self.connections()?, metrics, None, PipelineConfig::default());
        self.start(pipeline, node, None, &options).await
    }

    async fn launch_demo(home: Console, options: ServiceOptions) -> Result<Console, EngineError> {
        let (db, path) = demo::fresh_database(&home.data_dir).await?;
        let dir = home.data_dir.join(demo::DEMO_DIR);
        let mut console = Console::over(Queue::new(db.clone()), db, format!("sqlite://{}", path.display()), home.data_dir.clone());
        let shop = demo::start(&console.store, options.demo_sandbox.clone(), ClientTuning::default()).await?;
        tracing::info!(sandbox = shop.sandbox.base_url(), database = %path.display(), "no shop is connected: the demo shop runs");
        // The demo's credentials are in memory; the console's shop commands see the same store.
        console.connections = Arc::new(std::sync::Mutex::new(Some(shop.connections.clone())));
        let node = NodeIdentity::claim(&dir)?;
        let metrics = Arc::new(Metrics::new(console.store.clock()));
        let pipeline = demo::pipeline(console.store.clone(), shop.connections.clone(), metrics);
        console.start(pipeline, node, Some((shop.sandbox, home)), &options).await
    }

    async fn start(
        mut self,
        pipeline: Pipeline,
        node: NodeIdentity,
        demo: Option<(SandboxHandle, Console)>,
        options: &ServiceOptions,
    ) -> Result<Console, EngineError> {
        let workers = options.max_workers.max(1);
        let config = RunnerConfig {
            node_id: node.id().to_owned(),
            max_workers: workers,
            min_workers: workers.min(crate::runner::MIN_WORKERS),
            poll_interval: options.poll_interval,
            ..RunnerConfig::default()
        };
        let runner = match Runner::start(pipeline.clone(), config).await {
            Ok(r) => r,
            Err(e) => {
                if let Some((sandbox, _)) = demo {
                    sandbox.shutdown().await.ok();
                }
                return Err(e);
            }
        };
        let (demo, home) = demo.unzip();
        self.service = Some(Arc::new(Service {
            pipeline,
            runner: tokio::sync::Mutex::new(Some(runner)),
            pools: std::sync::Mutex::default(),
            is_demo: demo.is_some(),
            demo: std::sync::Mutex::new(demo),
            home,
            _node: node,
        }));
        Ok(self)
    }

    /// Stops the pipeline of a launched console: syncing stops, running jobs get up to `grace` to
    /// finish (the rest go back to the queue), the metrics' unfinished minute is written, the demo
    /// shop's sandbox stops. Live subscriptions end. The console stays usable read-only; calling it
    /// again (or on a console that was only opened) does nothing.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), EngineError> {
        self.live.end_subscriptions();
        let Some(service) = &self.service else { return Ok(()) };
        let runner = service.runner.lock().await.take();
        let result = match runner {
            Some(r) => r.shutdown(grace).await,
            None => return Ok(()),
        };
        let sandbox = service.demo.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await.ok();
        }
        result
    }

    /// The service, when the pipeline runs in this process.
    pub(crate) fn service(&self) -> Option<&Arc<Service>> {
        self.service.as_ref()
    }

    /// The pipeline running in this process (its metrics, breakers, store), if any.
    pub fn pipeline(&self) -> Option<&Pipeline> {
        self.service.as_ref().map(|s| s.pipeline())
    }
}

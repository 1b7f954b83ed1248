//! A local TikTok Shop simulator that speaks the real wire format and enforces its rules.
//!
//! One port serves the API host paths (`/order/202309/...`), the auth host paths
//! (`/api/v2/token/get|refresh`), label documents (`/sandbox/labels/...`), an OAuth authorize
//! stand-in (`/sandbox/oauth/authorize`) and the admin surface (`/sandbox/admin/...`, loopback only).
//! With `separate_document_host`, label documents come from a second port instead — a host of their
//! own, as on TikTok, which can be down while the API answers.
//! It knows only the wire format (tiktok-shop-api.md): it shares no code with the client it tests.
mod admin;
mod api;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod config;
mod error;
mod pdf;
pub mod shop;
pub mod sign;
mod state;
mod webhook;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{EndpointFaults, FaultSettings, SandboxConfig, Window};
pub use error::SandboxError;
pub use shop::OrderSpec;
pub use shop::model::{OrderStatus, ShippingType};
pub use state::{Stats, WebhookStats};
pub use webhook::{EVENT_TYPES, RETRY_SCHEDULE_SECS};

use state::{AppState, Counters, RateLimiter, Tokens, lock};

/// How often the background ticker moves the shop and delivers webhooks (system clock only).
const TICK: Duration = Duration::from_millis(200);

/// Entry point: start a sandbox server.
pub struct Sandbox;

impl Sandbox {
    /// Starts on `addr` (must be loopback; port 0 picks one) with the system clock and a background
    /// ticker that moves the shop and delivers webhooks.
    pub async fn start(
        config: SandboxConfig,
        addr: SocketAddr,
    ) -> Result<SandboxHandle, SandboxError> {
        Self::start_with_clock(config, addr, Arc::new(SystemClock), true).await
    }

    /// Starts with an injected clock. With `background_ticker = false` nothing happens between requests
    /// unless the test calls [`SandboxHandle::tick`], which makes webhook delivery deterministic.
    pub async fn start_with_clock(
        config: SandboxConfig,
        addr: SocketAddr,
        clock: Arc<dyn Clock>,
        background_ticker: bool,
    ) -> Result<SandboxHandle, SandboxError> {
        if !addr.ip().is_loopback() {
            return Err(SandboxError::NotLoopback(addr));
        }
        config.validate()?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let base_url = format!("http://{local}");
        let documents = if config.separate_document_host {
            let doc_addr = SocketAddr::new(addr.ip(), 0);
            let l = tokio::net::TcpListener::bind(doc_addr)
                .await
                .map_err(|source| SandboxError::Bind { addr: doc_addr, source })?;
            let a = l
                .local_addr()
                .map_err(|source| SandboxError::Bind { addr: doc_addr, source })?;
            Some((l, a))
        } else {
            None
        };
        let document_base_url = match &documents {
            Some((_, a)) => format!("http://{a}"),
            None => base_url.clone(),
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(SandboxError::HttpClient)?;
        let now = clock.now_ms();
        let state = Arc::new(AppState {
            shop: Mutex::new(shop::Shop::new(config.clone(), now)),
            tokens: Mutex::new(Tokens::new(&config, now.div_euclid(1000))),
            faults: Mutex::new(config.faults.clone()),
            fault_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0xfa17)),
            limiter: Mutex::new(RateLimiter::new(config.rate_limit_qps)),
            stats: Mutex::new(Counters::default()),
            webhooks: Mutex::new(webhook::WebhookState::new(config.webhook_url.clone())),
            request_seq: AtomicU64::new(1),
            http,
            document_base_url: document_base_url.clone(),
            clock,
            cfg: config,
        });
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        let document_server = documents.map(|(l, _)| {
            let app = Router::new()
                .route("/sandbox/labels/{file}", get(api::label))
                .with_state(state.clone());
            tokio::spawn(async move { axum::serve(l, app).await })
        });
        let ticker = background_ticker.then(|| {
            let st = state.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(TICK);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    every.tick().await;
                    webhook::pump(&st).await;
                }
            })
        });
        Ok(SandboxHandle {
            state,
            addr: local,
            base_url,
            document_base_url,
            shutdown: Some(tx),
            server: Some(server),
            document_server,
            ticker,
        })
    }
}

fn router(state: Arc<AppState>) -> Router {
    // With a document host of its own, the API port serves no documents (TikTok's API host does not).
    let documents_here = !state.cfg.separate_document_host;
    let r = Router::new();
    let r = if documents_here { r.route("/sandbox/labels/{file}", get(api::label)) } else { r };
    r
        .route("/sandbox/admin/stats", get(admin::stats))
        .route(
            "/sandbox/admin/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route("/sandbox/admin/outage", post(admin::outage))
        .route("/sandbox/admin/storm", post(admin::storm))
        .route("/sandbox/admin/orders", post(admin::orders))
        .route("/sandbox/admin/deauthorize", post(admin::deauthorize))
        .route("/sandbox/oauth/authorize", get(api::authorize))
        .fallback(api::handle)
        .with_state(state)
}

/// A running sandbox. Dropping it without [`SandboxHandle::shutdown`] aborts the server task.
pub struct SandboxHandle {
    state: Arc<AppState>,
    addr: SocketAddr,
    base_url: String,
    document_base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// The document host's server, with `separate_document_host` (stopped with the API's).
    document_server: Option<JoinHandle<std::io::Result<()>>>,
    ticker: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`: both the API base URL and the auth base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// Where `doc_url`s point: the document host's own base URL with `separate_document_host`, else
    /// [`SandboxHandle::base_url`].
    pub fn document_base_url(&self) -> &str {
        &self.document_base_url
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The configuration it runs with (including the credentials it accepts).
    pub fn config(&self) -> &SandboxConfig {
        &self.state.cfg
    }
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }
    pub fn faults(&self) -> FaultSettings {
        lock(&self.state.faults).clone()
    }
    pub fn set_faults(&self, faults: FaultSettings) -> Result<(), SandboxError> {
        faults.validate()?;
        *lock(&self.state.faults) = faults;
        Ok(())
    }
    /// Adds an outage window starting now on the sandbox clock.
    pub fn add_outage(&self, duration_ms: i64) -> Window {
        let start_ms = self.state.now_ms();
        let w = Window {
            start_ms,
            end_ms: start_ms + duration_ms,
        };
        lock(&self.state.faults).outages.push(w);
        w
    }
    /// Adds an outage of the document host (label downloads answer 503) starting now on the sandbox
    /// clock; the API keeps answering.
    pub fn add_document_outage(&self, duration_ms: i64) -> Window {
        let start_ms = self.state.now_ms();
        let w = Window { start_ms, end_ms: start_ms + duration_ms };
        lock(&self.state.faults).document_outages.push(w);
        w
    }
    /// Adds a throttle storm (every call answered 429 / 36009002) starting now on the sandbox clock.
    pub fn add_throttle_storm(&self, duration_ms: i64) -> Window {
        let start_ms = self.state.now_ms();
        let w = Window { start_ms, end_ms: start_ms + duration_ms };
        lock(&self.state.faults).throttle_storms.push(w);
        w
    }
    /// Now on the sandbox clock (ms since the epoch), the time base of fault windows.
    pub fn now_ms(&self) -> i64 {
        self.state.now_ms()
    }
    /// Creates one order now and returns its id.
    pub fn create_order(&self, spec: OrderSpec) -> String {
        self.state.shop_now().create_order(spec)
    }
    /// The wire JSON of an order, as detail would return it.
    pub fn order_json(&self, id: &str) -> Option<serde_json::Value> {
        let shop = self.state.shop_now();
        shop.order(id).map(|o| shop.order_json(o))
    }
    /// Package ids of an order.
    pub fn package_ids(&self, order_id: &str) -> Vec<String> {
        self.state
            .shop_now()
            .order(order_id)
            .map(|o| o.package_ids.clone())
            .unwrap_or_default()
    }
    /// The seller revokes the app: all tokens answer 105001 from now on; a SELLER_DEAUTHORIZATION
    /// webhook is queued. A new OAuth code flow authorizes again.
    pub fn deauthorize(&self) {
        self.state.deauthorize();
    }
    /// Moves the shop to the clock's now and delivers due webhooks, waiting for the receivers.
    pub async fn tick(&self) {
        webhook::pump(&self.state).await;
    }
    /// Stops accepting, finishes in-flight requests and stops the ticker.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        // Documents are single GETs: nothing to finish gracefully.
        if let Some(d) = self.document_server.take() {
            d.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => match server.await {
                Ok(res) => res.map_err(SandboxError::Serve),
                // The server task was cancelled or panicked; either way it is gone.
                Err(_) => Ok(()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
        if let Some(d) = self.document_server.take() {
            d.abort();
        }
    }
}

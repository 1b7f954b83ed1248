//! `creatorflow-web`: the web console's transport. `engine::Console` over HTTP (`/api/<command>`, the same
//! commands and JSON arguments as the desktop app's Tauri IPC), a live snapshot stream as Server-Sent
//! Events, the UI build, and the TikTok webhook receiver (`POST /webhooks/tiktok`).
//!
//! Like the Tauri commands, every route is a thin adapter: deserialize, call one `Console` method, map the
//! error. Access: loopback without a token by default; any other address only with an access token, checked
//! on every request (see `access.rs`).

mod access;
mod api;
mod assets;
mod live;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use creatorflow_engine::Console;
use tokio::net::TcpListener;

pub use access::{Access, AccessError, TOKEN_COOKIE};

/// The path TikTok pushes webhooks to (register `https://<your host>/webhooks/tiktok` with TikTok).
pub const WEBHOOK_PATH: &str = "/webhooks/tiktok";

/// What the routes share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub console: Console,
    pub access: Arc<Access>,
}

/// The whole web console as an axum router (for tests and for embedding).
pub fn router(console: Console, access: Access) -> Router {
    let state = AppState { console, access: Arc::new(access) };
    Router::new()
        .nest("/api", api::routes())
        .merge(webhook::routes())
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::check))
        .with_state(state)
}

/// Why `serve` did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the web console stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, not yet running web console: its address is known (port 0 picks a free one).
pub struct Server {
    listener: TcpListener,
    router: Router,
    access: Access,
}

impl Server {
    /// Binds `addr`. Refuses a non-loopback address without an access token.
    pub async fn bind(console: Console, addr: SocketAddr, token: Option<String>) -> Result<Server, ServeError> {
        // Checked before binding: a refused address is never opened, not even briefly.
        Access::new(addr, token.clone())?;
        let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
        let access = Access::new(bound, token)?;
        Ok(Server { router: router(console, access.clone()), listener, access })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // Known since bind; a socket that cannot report it is not listening.
        self.listener.local_addr().unwrap_or_else(|_| self.access.bound())
    }

    /// The URL to open in a browser (with the token, which the server trades for a cookie on first visit).
    pub fn url(&self) -> String {
        self.access.browser_url(self.local_addr())
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        Ok(())
    }
}

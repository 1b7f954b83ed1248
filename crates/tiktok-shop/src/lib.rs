//! Typed async client for the TikTok Shop Partner API (202309+).
//!
//! - [`signing`]: request and webhook signatures (HMAC-SHA256), checked against the published vectors.
//! - [`Client`] / [`ShopClient`]: every endpoint the pipeline uses, one code path for TikTok and the local
//!   sandbox (only [`ClientConfig`]'s base URLs differ).
//! - [`TokenManager`]: proactive refresh, one refresh-and-retry on 105002, newest pair persisted.
//! - [`Error`]: a taxonomy the pipeline acts on; every API error keeps endpoint, HTTP status, request_id.
//! - [`SecretStore`]: OS keyring, or an explicit 0600 file (`CREATORFLOW_SECRET_STORE=file`).

pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod gate;
mod httpdate;
pub mod models;
pub mod ratelimit;
pub mod secret;
pub mod secret_store;
pub mod shop_api;
pub mod signing;
pub mod tokens;
mod transport;
pub mod webhook;

pub use auth::AuthClient;
pub use client::Client;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ClientConfig;
pub use error::{BusinessRule, CallContext, Error, ErrorKind};
pub use gate::{SendGate, gated};
pub use models::token::TokenSet;
pub use ratelimit::{RateKey, RateLimiter, RatePermit};
pub use secret::{AppCredentials, Secret};
pub use secret_store::{
    FileStore, KeyringStore, MemoryStore, SECRET_STORE_ENV, SecretStore, StoreTokenSink, load_tokens,
    open_secret_store, open_secret_store_from_env, token_secret_name,
};
pub use shop_api::ShopClient;
pub use tokens::{TokenManager, TokenSink};
pub use transport::{Nothing, decode_envelope};
pub use webhook::verify_webhook;

//! Shared setup of the contract tests: the real client against an in-process sandbox on 127.0.0.1:0.
//! Both run on manual clocks that move together (the sandbox counts milliseconds, the client seconds),
//! so token expiry, ON_HOLD release and the 72-hour rule are reached without waiting.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tiktok_sandbox::{Sandbox, SandboxConfig, SandboxHandle, Stats};
use tiktok_shop::{
    AppCredentials, Client, ClientConfig, Error, ManualClock, Secret, ShopClient, TokenManager,
    TokenSet, TokenSink,
};

/// 2026-01-01T00:00:00Z, the sandbox's default start.
pub const T0_MS: i64 = 1_767_225_600_000;

/// A sandbox with no background activity: no initial orders, nothing random happens to orders.
pub fn quiet_config(seed: u64) -> SandboxConfig {
    let mut c = SandboxConfig::with_seed(seed);
    c.initial_orders = 0;
    c.cancel_probability = 0.0;
    c.address_update_probability = 0.0;
    c.unpaid_share = 0.0;
    c.on_hold_share = 0.0;
    c
}

/// Records every token pair the manager hands to its sink (what the keyring would store).
#[derive(Debug, Default)]
pub struct RecordingSink(pub Mutex<Vec<TokenSet>>);

impl TokenSink for RecordingSink {
    fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tokens.clone());
        Ok(())
    }
}

impl RecordingSink {
    pub fn saved(&self) -> Vec<TokenSet> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub struct Harness {
    pub sb: SandboxHandle,
    pub sb_clock: tiktok_sandbox::ManualClock,
    pub clock: ManualClock,
    pub client: Client,
    pub tokens: Arc<TokenManager>,
    pub shop: ShopClient,
    pub sink: Arc<RecordingSink>,
}

/// The token pair the sandbox starts with, as an authorization would have returned it.
pub fn initial_tokens(cfg: &SandboxConfig, now_secs: i64) -> TokenSet {
    TokenSet {
        access_token: Secret::new(cfg.access_token.clone()),
        access_token_expire_in: now_secs + cfg.access_token_ttl_secs,
        refresh_token: Secret::new(cfg.refresh_token.clone()),
        refresh_token_expire_in: now_secs + cfg.refresh_token_ttl_secs,
        open_id: Some(cfg.open_id.clone()),
        seller_name: Some(cfg.seller_name.clone()),
        seller_base_region: Some(cfg.shop_region.clone()),
        user_type: Some(0),
        granted_scopes: vec![],
    }
}

/// Client settings for tests: short back-off (the sandbox answers at once) and a short request timeout
/// so the timeout fault is reached quickly. `refresh_margin` 0 so only the sandbox decides expiry.
pub fn test_client_config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::with_bases(base, base).expect("loopback base url");
    c.backoff_base = Duration::from_millis(5);
    c.backoff_cap = Duration::from_millis(40);
    c.request_timeout = Duration::from_millis(1500);
    c.connect_timeout = Duration::from_millis(500);
    c.refresh_margin = Duration::ZERO;
    c
}

/// Sandbox on a manual clock (no background ticker) + the real client on a manual clock at the same time.
pub async fn start(cfg: SandboxConfig) -> Harness {
    start_with(cfg, |_| {}).await
}

pub async fn start_with(cfg: SandboxConfig, tweak: impl FnOnce(&mut ClientConfig)) -> Harness {
    let sb_clock = tiktok_sandbox::ManualClock::new(T0_MS);
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback addr");
    let sb = Sandbox::start_with_clock(cfg, addr, Arc::new(sb_clock.clone()), false)
        .await
        .expect("sandbox starts");
    let clock = ManualClock::new(T0_MS / 1000);
    let mut ccfg = test_client_config(sb.base_url());
    tweak(&mut ccfg);
    let c = sb.config().clone();
    let client = Client::with_clock(
        ccfg,
        AppCredentials::new(c.app_key.clone(), c.app_secret.clone()),
        Arc::new(clock.clone()),
    )
    .expect("client builds");
    let sink = Arc::new(RecordingSink::default());
    let tokens = client.token_manager(initial_tokens(&c, T0_MS / 1000), Some(sink.clone()));
    let shop = client.shop(tokens.clone(), c.shop_cipher.clone());
    Harness {
        sb,
        sb_clock,
        clock,
        client,
        tokens,
        shop,
        sink,
    }
}

impl Harness {
    /// Moves both clocks (and then the sandbox's shop) forward.
    pub async fn advance_secs(&self, secs: i64) {
        self.sb_clock.advance_secs(secs);
        self.clock.advance(secs);
        self.sb.tick().await;
    }

    pub fn stats(&self) -> Stats {
        self.sb.stats()
    }

    /// The happy-path invariants: every request the client signed was accepted, nothing shipped twice.
    pub fn assert_clean(&self) {
        let s = self.stats();
        assert_eq!(
            s.rejected_signatures, 0,
            "client signatures rejected: {s:?}"
        );
        assert_eq!(
            s.rejected_timestamps, 0,
            "client timestamps rejected: {s:?}"
        );
        assert_eq!(s.duplicate_ships, 0, "duplicate ships: {s:?}");
        assert_eq!(s.http_429, 0, "429s: {s:?}");
    }

    /// How many calls the sandbox saw on one endpoint name (e.g. `orders.search`).
    pub fn calls(&self, name: &str) -> u64 {
        self.stats().calls.get(name).copied().unwrap_or(0)
    }
}

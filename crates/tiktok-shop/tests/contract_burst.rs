//! Contract: a burst above 50 QPS on one API path. The sandbox counts a real sliding one-second window
//! on wall time, so these tests use system clocks and last a few seconds; they assert on counts only.
mod contract_common;

use contract_common::{initial_tokens, quiet_config, test_client_config};
use std::net::SocketAddr;
use std::sync::Arc;
use tiktok_sandbox::{OrderSpec, Sandbox, SandboxHandle};
use tiktok_shop::{AppCredentials, Client, Clock, ShopClient, SystemClock};

async fn setup(seed: u64, client_qps: f64) -> (SandboxHandle, Arc<ShopClient>, String) {
    let cfg = quiet_config(seed);
    assert_eq!(cfg.rate_limit_qps, 50);
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sb = Sandbox::start(cfg.clone(), addr).await.expect("sandbox");
    let id = sb.create_order(OrderSpec::default());
    let mut ccfg = test_client_config(sb.base_url());
    ccfg.qps_per_path = client_qps;
    ccfg.request_timeout = std::time::Duration::from_secs(10);
    let client = Client::new(
        ccfg,
        AppCredentials::new(cfg.app_key.clone(), cfg.app_secret.clone()),
    )
    .expect("client");
    let tokens = client.token_manager(initial_tokens(&cfg, SystemClock.now_unix()), None);
    let shop = Arc::new(client.shop(tokens, cfg.shop_cipher.clone()));
    (sb, shop, id)
}

async fn burst(shop: &Arc<ShopClient>, id: &str, n: usize) -> usize {
    let calls = (0..n).map(|_| {
        let shop = shop.clone();
        let ids = vec![id.to_owned()];
        async move { shop.get_orders(&ids).await }
    });
    futures::future::join_all(calls)
        .await
        .iter()
        .filter(|r| r.is_ok())
        .count()
}

#[tokio::test]
async fn two_hundred_concurrent_calls_at_50_qps_get_no_429() {
    let (sb, shop, id) = setup(50, 50.0).await;
    let ok = burst(&shop, &id, 200).await;
    let s = sb.stats();
    assert_eq!(ok, 200);
    assert_eq!(s.http_429, 0, "{s:?}");
    assert_eq!(s.rate_limited, 0);
    assert_eq!(s.calls.get("orders.get"), Some(&200), "no call was retried");
    assert_eq!(s.rejected_signatures, 0);
}

/// The control: without the client's limiter the same burst is throttled by the sandbox, so the test
/// above passes because of the limiter, not because the sandbox is lenient.
#[tokio::test]
async fn the_same_burst_without_the_limiter_is_throttled() {
    let (sb, shop, id) = setup(51, 100_000.0).await;
    let _ = burst(&shop, &id, 200).await;
    let s = sb.stats();
    assert!(s.rate_limited > 0 && s.http_429 > 0, "{s:?}");
}

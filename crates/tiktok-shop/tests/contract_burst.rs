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

/// The target, measured the way `creatorflow-cli bench api` does: 64 callers on one path for
/// 60 s against the 50 QPS sandbox. Ignored by default (it takes a minute); it prints the figures and
/// asserts the targets: at least 95% of the allowed calls made, fewer than 0.1% answered 429.
/// `cargo test -p tiktok-shop --test contract_burst -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for 60 s; a benchmark-style check of the issue's target"]
async fn sixty_second_burst_meets_the_utilisation_and_429_targets() {
    let (sb, shop, id) = setup(52, 50.0).await;
    let seconds = 60u64;
    let start = std::time::Instant::now();
    let deadline = start + std::time::Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let shop = shop.clone();
            let ids = vec![id.clone()];
            tokio::spawn(async move {
                let mut ok = 0u64;
                while std::time::Instant::now() < deadline {
                    if shop.get_orders(&ids).await.is_ok() {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.expect("caller");
    }
    let secs = start.elapsed().as_secs_f64();
    let s = sb.stats();
    let requests = s.calls.get("orders.get").copied().unwrap_or(0);
    let utilisation = 100.0 * ok as f64 / (50.0 * secs);
    let rate_429 = 100.0 * s.http_429 as f64 / requests as f64;
    println!(
        "60 s burst: {ok} calls ok in {secs:.2} s, {requests} requests at the sandbox, utilisation {utilisation:.2} %, 429s {} ({rate_429:.3} %)",
        s.http_429
    );
    assert!(utilisation >= 95.0, "utilisation {utilisation:.2} %");
    assert!(rate_429 < 0.1, "429 rate {rate_429:.3} %");
}

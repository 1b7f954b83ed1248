//! Contract: tokens against the sandbox's auth host — proactive refresh before a known expiry, one
//! refresh on 105002 when the server expires a token early, concurrent callers sharing that refresh,
//! rotation (the sink always holds the newest refresh token), and an expired refresh token.
mod contract_common;

use contract_common::{T0_MS, initial_tokens, quiet_config, start};
use std::sync::Arc;
use tiktok_sandbox::OrderSpec;
use tiktok_shop::{Error, ErrorKind, Secret};

#[tokio::test]
async fn token_expiring_mid_run_is_refreshed_once_and_the_call_succeeds() {
    let mut cfg = quiet_config(30);
    cfg.access_token_ttl_secs = 3600;
    let h = start(cfg).await;
    let id = h.sb.create_order(OrderSpec::default());
    // The client believes the token lasts a week (as if the server cut it short): only 105002 tells it.
    let old = h.tokens.snapshot().await;
    let lying = tiktok_shop::TokenSet {
        access_token_expire_in: T0_MS / 1000 + 7 * 24 * 3600,
        ..old.clone()
    };
    let tokens = h.client.token_manager(lying, Some(h.sink.clone()));
    let shop = h
        .client
        .shop(tokens.clone(), h.sb.config().shop_cipher.clone());
    shop.get_orders(std::slice::from_ref(&id)).await.expect("fresh token");

    h.advance_secs(3601).await;
    let orders = shop
        .get_orders(std::slice::from_ref(&id))
        .await
        .expect("refreshed and retried");
    assert_eq!(orders[0].id, id);
    assert_eq!(tokens.refresh_count(), 1);
    let s = h.stats();
    assert_eq!(s.token_refreshes, 1);
    assert_eq!(
        s.responses_by_code.get("105002"),
        Some(&1),
        "one 105002, then success"
    );
    assert_eq!(s.calls.get("orders.get"), Some(&3));

    // Rotation: the pair in use is the one the sink saw last, and it differs from the first pair.
    let now = tokens.snapshot().await;
    let saved = h.sink.saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved.last(), Some(&now));
    assert_ne!(now.refresh_token, old.refresh_token);
    assert_ne!(now.access_token, old.access_token);
    assert_eq!(now.access_token_expire_in, T0_MS / 1000 + 3601 + 3600);
    // The spent refresh token is dead on the server; the newest one works.
    let err = h
        .client
        .auth()
        .refresh(&old.refresh_token)
        .await
        .expect_err("spent");
    assert_eq!(err.kind(), ErrorKind::Reauthorize);
    let again = tokens
        .refresh_now()
        .await
        .expect("newest refresh token works");
    assert_eq!(h.sink.saved().last(), Some(&again));
    h.assert_clean();
}

#[tokio::test]
async fn known_expiry_is_refreshed_before_the_call_without_a_105002() {
    let mut cfg = quiet_config(31);
    cfg.access_token_ttl_secs = 3600;
    let h = start(cfg).await;
    let id = h.sb.create_order(OrderSpec::default());
    h.advance_secs(3600).await;
    h.shop.get_orders(&[id]).await.expect("proactive refresh");
    let s = h.stats();
    assert_eq!(s.token_refreshes, 1);
    assert_eq!(s.rejected_tokens, 0, "the expired token was never sent");
    assert_eq!(h.tokens.refresh_count(), 1);
    assert_eq!(h.sink.saved().last(), Some(&h.tokens.snapshot().await));
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let mut cfg = quiet_config(32);
    cfg.access_token_ttl_secs = 3600;
    let h = start(cfg).await;
    let id = h.sb.create_order(OrderSpec::default());
    let lying = tiktok_shop::TokenSet {
        access_token_expire_in: i64::MAX / 2,
        ..h.tokens.snapshot().await
    };
    let tokens = h.client.token_manager(lying, Some(h.sink.clone()));
    let shop = Arc::new(
        h.client
            .shop(tokens.clone(), h.sb.config().shop_cipher.clone()),
    );
    h.advance_secs(7200).await;
    let calls = (0..20).map(|_| {
        let shop = shop.clone();
        let id = id.clone();
        async move { shop.get_orders(&[id]).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(tokens.refresh_count(), 1);
    assert_eq!(h.stats().token_refreshes, 1);
    assert_eq!(h.sink.saved().len(), 1);
}

#[tokio::test]
async fn expired_refresh_token_means_reauthorization() {
    let mut cfg = quiet_config(33);
    cfg.access_token_ttl_secs = 3600;
    cfg.refresh_token_ttl_secs = 7200;
    let h = start(cfg).await;
    let id = h.sb.create_order(OrderSpec::default());
    h.advance_secs(7200).await;
    let err = h.shop.get_orders(&[id]).await.expect_err("both expired");
    assert!(
        matches!(err, Error::Deauthorized { code: 36004001, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Reauthorize);
    assert!(h.sink.saved().is_empty(), "nothing new to save");
}

#[tokio::test]
async fn unknown_refresh_token_is_no_auth_record() {
    let h = start(quiet_config(34)).await;
    let cfg = h.sb.config().clone();
    let mut t = initial_tokens(&cfg, T0_MS / 1000);
    t.refresh_token = Secret::new("ROW_rt_never_issued");
    let tokens = h.client.token_manager(t, None);
    let err = tokens.refresh_now().await.expect_err("unknown");
    assert!(
        matches!(err, Error::Deauthorized { code: 36004005, .. }),
        "{err:?}"
    );
    // The auth host's error never echoes the app secret or the refresh token.
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&cfg.app_secret) && !text.contains("ROW_rt_never_issued"));
}

/// Two processes on one machine (the desktop app and `creatorflow-cli run`) each hold a manager over
/// the same stored pair. TikTok rotates the refresh token, so after one refreshes, the other's is dead:
/// it adopts the stored, newer pair instead of failing (before refreshing, or after a refresh fails).
#[tokio::test]
async fn a_second_manager_over_the_same_store_adopts_the_newer_pair() {
    let mut cfg = quiet_config(35);
    cfg.access_token_ttl_secs = 3600;
    let h = start(cfg).await;
    let id = h.sb.create_order(OrderSpec::default());
    let store: Arc<dyn tiktok_shop::SecretStore> = Arc::new(tiktok_shop::MemoryStore::new());
    let sink = Arc::new(tiktok_shop::StoreTokenSink::new(store.clone(), "tokens/shop/1"));
    let first = h.tokens.snapshot().await;
    tiktok_shop::TokenSink::save(sink.as_ref(), &first).unwrap();
    let desktop = h.client.token_manager(first.clone(), Some(sink.clone()));
    let cli = h.client.token_manager(first.clone(), Some(sink.clone()));

    h.advance_secs(1800).await;
    cli.refresh_now().await.expect("the cli refreshes");
    // The desktop's token expired (the cli's lasts another half hour): its proactive refresh finds the
    // cli's pair and spends nothing.
    h.advance_secs(1801).await;
    let shop = h.client.shop(desktop.clone(), h.sb.config().shop_cipher.clone());
    shop.get_orders(std::slice::from_ref(&id)).await.expect("adopted the cli's pair");
    assert_eq!(desktop.refresh_count(), 0, "no refresh of its own");
    let (d, c) = (desktop.snapshot().await, cli.snapshot().await);
    assert!(d.access_token == c.access_token && d.refresh_token == c.refresh_token, "one pair in both");
    assert_eq!(h.stats().token_refreshes, 1);

    // Both refresh at once from one pair: the loser's refresh fails on the spent token, then it
    // adopts the winner's pair.
    let before = h.stats().token_refreshes;
    let (a, b) = tokio::join!(desktop.refresh_now(), cli.refresh_now());
    a.expect("desktop");
    b.expect("cli");
    assert!(h.stats().token_refreshes > before);
    let stored = tiktok_shop::load_tokens(store.as_ref(), "tokens/shop/1").unwrap().unwrap();
    let in_use = [desktop.snapshot().await.refresh_token, cli.snapshot().await.refresh_token];
    assert!(in_use.contains(&stored.refresh_token), "the stored pair is one in use");
    shop.get_orders(&[id]).await.expect("still works");
}

//! Webhook ingestion: signed pushes become refresh jobs (deduped on the notification id); forged,
//! malformed, hostile and oversized pushes get a clear error and change nothing.

use std::time::Duration;

use creatorflow_engine::pipeline::{MAX_WEBHOOK_BYTES, WebhookError, WebhookOutcome};
use creatorflow_engine::store::ShopStatus;
use creatorflow_queue::{JobFilter, JobState};
use serde_json::json;
use tiktok_shop::signing::webhook_signature;

use crate::harness::{Harness, HarnessConfig};

fn signed(h: &Harness, body: &[u8]) -> String {
    let c = h.demo.sandbox.config();
    webhook_signature(&c.app_key, &c.app_secret, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_pushes_refresh_orders_once_and_hostile_ones_change_nothing() {
    let h = Harness::start(HarnessConfig { orders: 20, ..HarnessConfig::default() }).await;
    h.settle_and_drain(Duration::from_secs(60)).await;
    let p = h.pipeline();
    let shop_id = h.demo.sandbox.config().shop_id.clone();
    let order_id = h.shipped_orders().await.into_iter().next().expect("an order shipped");
    let body = serde_json::to_vec(&json!({
        "type": 1, "tts_notification_id": "n-1", "shop_id": shop_id, "timestamp": 1,
        "data": {"order_id": order_id, "order_status": "IN_TRANSIT", "update_time": 1}
    }))
    .unwrap();
    let sig = signed(&h, &body);
    match p.receive_webhook(&body, Some(&sig)).await.unwrap() {
        WebhookOutcome::Accepted { jobs, event_type, .. } => assert_eq!((jobs, event_type), (1, 1)),
        other => panic!("{other:?}"),
    }
    // TikTok retries until acknowledged: the same notification again is a no-op.
    assert_eq!(p.receive_webhook(&body, Some(&sig)).await.unwrap(), WebhookOutcome::Duplicate);
    let refreshes = |state| {
        let q = p.queue().clone();
        async move {
            q.list(&JobFilter { states: vec![state], kind: Some("refresh".into()), ..JobFilter::default() }).await.unwrap().len()
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while refreshes(JobState::Completed).await < 1 {
        assert!(std::time::Instant::now() < deadline, "the refresh job did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Forged: right shape, wrong signature, or none.
    let forged = body.clone();
    assert!(matches!(p.receive_webhook(&forged, Some("00ff")).await, Err(WebhookError::Signature)));
    assert!(matches!(p.receive_webhook(&forged, None).await, Err(WebhookError::Signature)));
    // Hostile and malformed bodies, each signed so only the content is wrong.
    let too_big = vec![b' '; MAX_WEBHOOK_BYTES + 1];
    assert!(matches!(p.receive_webhook(&too_big, Some("x")).await, Err(WebhookError::TooLarge(_))));
    for bad in [
        &b"not json"[..],
        b"{\"type\":\"one\"}",
        b"[]",
        b"{\"type\":1,\"shop_id\":123}",
        b"\xff\xfe\x00",
    ] {
        let err = p.receive_webhook(bad, Some(&signed(&h, bad))).await.unwrap_err();
        assert!(matches!(err, WebhookError::Payload(_)), "{err:?} for {bad:?}");
        assert!(!err.is_ours());
    }
    let unknown_shop = serde_json::to_vec(&json!({"type": 1, "tts_notification_id": "n-2", "shop_id": "999", "data": {}})).unwrap();
    assert!(matches!(
        p.receive_webhook(&unknown_shop, Some(&signed(&h, &unknown_shop))).await,
        Err(WebhookError::UnknownShop(_))
    ));
    let no_id = serde_json::to_vec(&json!({"type": 1, "shop_id": shop_id, "data": {}})).unwrap();
    assert!(matches!(p.receive_webhook(&no_id, Some(&signed(&h, &no_id))).await, Err(WebhookError::NoNotificationId)));
    // Known type with data that does not match, a type this version does not know, an absurd order id:
    // accepted and kept, no job for nonsense.
    for (i, data) in [json!({"order_id": 5}), json!({"anything": [1, 2, 3]}), json!({"order_id": "x".repeat(10_000)})].into_iter().enumerate() {
        let t = if i == 1 { 99 } else { 1 };
        let b = serde_json::to_vec(&json!({"type": t, "tts_notification_id": format!("odd-{i}"), "shop_id": shop_id, "data": data})).unwrap();
        match p.receive_webhook(&b, Some(&signed(&h, &b))).await.unwrap() {
            WebhookOutcome::Accepted { jobs, .. } => assert_eq!(jobs, 0),
            other => panic!("{other:?}"),
        }
    }

    // Deauthorization by push: the shop stops cleanly.
    let deauth = serde_json::to_vec(&json!({"type": 6, "tts_notification_id": "n-6", "shop_id": shop_id, "data": {"message": "bye"}})).unwrap();
    p.receive_webhook(&deauth, Some(&signed(&h, &deauth))).await.unwrap();
    assert_eq!(h.store.get_shop(h.demo.shop.id).await.unwrap().status, ShopStatus::Deauthorized);
    h.shutdown().await;
}

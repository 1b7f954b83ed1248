//! Label downloads come from TikTok's document host, not the API host: an outage of the document
//! host parks label jobs through that host's own breaker (no attempt spent, nothing dead-lettered)
//! while shipping and confirming go on against the API host, and the labels are all stored after.

use std::time::{Duration, Instant};

use creatorflow_engine::breaker::BreakerState;

use super::harness::{Harness, HarnessConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_host_outage_parks_labels_while_shipping_goes_on() {
    let h = Harness::start(HarnessConfig { orders: 300, ..HarnessConfig::default() }).await;
    let sandbox = &h.demo.sandbox;
    assert_ne!(sandbox.document_base_url(), sandbox.base_url(), "documents come from a host of their own");
    sandbox.add_document_outage(15_000);
    tokio::time::sleep(Duration::from_secs(8)).await;

    let breakers = h.pipeline().breakers().snapshot();
    let doc = breakers.iter().find(|b| b.host == sandbox.document_base_url());
    assert!(
        doc.is_some_and(|b| b.state != BreakerState::Closed),
        "the document host's breaker should be open: {breakers:?}"
    );
    assert!(!h.pipeline().breakers().is_open(sandbox.base_url()), "the API host answers: {breakers:?}");
    assert!(!h.shipped_orders().await.is_empty(), "shipping goes on while documents are down");
    assert!(h.labels_missing().await > 0, "labels wait for the document host");
    let refused = sandbox.stats().faults_injected.get("document_outage").copied().unwrap_or(0);
    assert!(refused > 0, "label downloads met the outage");
    assert_eq!(h.attempt_failures().await, 0, "no attempt may be spent on the document host's outage");

    h.settle_and_drain(Duration::from_secs(180)).await;
    // Parked label jobs wake at the end of the breaker's open period (up to its 30 s cap).
    let deadline = Instant::now() + Duration::from_secs(120);
    while h.labels_missing().await > 0 {
        assert!(Instant::now() < deadline, "{} labels still missing after the outage", h.labels_missing().await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(h.attempt_failures().await, 0, "no attempt may be spent on the document host's outage");
    assert!(sandbox.stats().labels_served > 0);
    h.assert_every_shippable_order_shipped_once().await;
    h.shutdown().await;
}

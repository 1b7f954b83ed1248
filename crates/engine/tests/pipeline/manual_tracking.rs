//! Seller-shipped orders with no carrier adapter wait for a person's tracking number; manual entry and
//! CSV import (through the Console, on the same database, as a second process would) wake their ship
//! jobs and the pipeline marks them shipped on TikTok with exactly that number — once.

use std::time::{Duration, Instant};

use creatorflow_engine::store::ShipmentStatus;
use creatorflow_engine::{Console, ConsoleConfig, ShipJobState, TrackingCsv, TrackingEntry, TrackingOutcome};
use creatorflow_queue::{JobFilter, JobState};

use crate::harness::{Harness, HarnessConfig};

const ROYAL_MAIL_ID: &str = "6617675021119438849";
const EVRI_ID: &str = "6617675021119438850";

async fn scheduled_ship_jobs(h: &Harness) -> usize {
    let f = JobFilter { states: vec![JobState::Scheduled], kind: Some("ship".into()), limit: Some(10_000), ..JobFilter::default() };
    h.pipeline().queue().list(&f).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_and_csv_tracking_ship_seller_orders_exactly_once() {
    let h = Harness::start(HarnessConfig { orders: 24, tiktok_shipping_share: 0.0, carrier: false, ..HarnessConfig::default() }).await;
    // Past the sandbox's unpaid/on-hold windows, every shippable order's ship job parks for a person.
    let deadline = Instant::now() + Duration::from_secs(60);
    let awaiting = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = h.demo.sandbox.stats();
        let awaiting = stats.orders_by_status.get("AWAITING_SHIPMENT").copied().unwrap_or(0) as usize;
        let held = ["UNPAID", "ON_HOLD"].iter().map(|s| stats.orders_by_status.get(*s).copied().unwrap_or(0)).sum::<u64>();
        if held == 0 && awaiting > 0 && scheduled_ship_jobs(&h).await == awaiting {
            break awaiting;
        }
        assert!(Instant::now() < deadline, "ship jobs never parked: {:?}", stats.orders_by_status);
    };
    assert!(h.shipped_orders().await.is_empty(), "nothing ships without a tracking number");
    let f = JobFilter { states: vec![JobState::Scheduled], kind: Some("ship".into()), limit: Some(10_000), ..JobFilter::default() };
    let mut order_ids: Vec<i64> =
        h.pipeline().queue().list(&f).await.unwrap().iter().map(|j| j.args["order_id"].as_i64().unwrap()).collect();
    order_ids.sort();
    assert_eq!(order_ids.len(), awaiting);

    let url = format!("sqlite://{}", h.dir.path().join("cf.db").display());
    let console = Console::open(ConsoleConfig { data_dir: h.dir.path().to_path_buf(), database_url: Some(url) }).await.unwrap();
    let mut expected = Vec::new(); // (tts order id, tracking number, provider id)
    let half = order_ids.len() / 2;
    // One at a time, the provider by name (resolved against TikTok's list at ship time) ...
    for (i, id) in order_ids[..half].iter().enumerate() {
        let tracking = format!("RM{i:04}GB");
        let r = console
            .add_tracking(&TrackingEntry { order: id.to_string(), tracking_number: tracking.clone(), provider: "royal mail".into() }, "ana")
            .await
            .unwrap();
        assert_eq!(r.outcome, TrackingOutcome::Recorded);
        assert_eq!(r.ship_job, ShipJobState::Woken);
        expected.push((r.tts_order_id, tracking, ROYAL_MAIL_ID));
    }
    // ... the rest from CSV with the provider's id, except one whose provider TikTok does not offer.
    let mut csv = String::from("order_id,tracking_number,provider\r\n");
    let rest = &order_ids[half..];
    for (i, id) in rest.iter().enumerate() {
        let provider = if i == 0 { "Pony Express" } else { EVRI_ID };
        csv.push_str(&format!("{id},EV{i:04},{provider}\r\n"));
    }
    let report = console.import_tracking_csv(&TrackingCsv { csv }, "importer").await.unwrap();
    assert_eq!(report.applied as usize, rest.len(), "{:?}", report.lines);
    for (i, id) in rest.iter().enumerate().skip(1) {
        let tts = console.show_order(&id.to_string()).await.unwrap().order.tts_order_id;
        expected.push((tts, format!("EV{i:04}"), EVRI_ID));
    }

    // The unknown provider dead-letters its ship job with what to do; entering it again revives it.
    let pony = rest[0];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f = JobFilter { states: vec![JobState::Discarded], kind: Some("ship".into()), ..JobFilter::default() };
        let dead = h.pipeline().queue().list(&f).await.unwrap();
        if let Some(j) = dead.iter().find(|j| j.args["order_id"].as_i64() == Some(pony)) {
            assert_eq!(j.last_error_kind.as_deref(), Some("unknown_shipping_provider"));
            assert!(j.last_error_message.as_deref().unwrap_or_default().contains("Royal Mail, Evri, DPD"), "{j:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the unknown provider was not refused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = console
        .add_tracking(&TrackingEntry { order: pony.to_string(), tracking_number: "DPD0001".into(), provider: "DPD".into() }, "ana")
        .await
        .unwrap();
    assert_eq!((r.outcome, r.ship_job), (TrackingOutcome::Replaced, ShipJobState::Retried));
    expected.push((r.tts_order_id, "DPD0001".into(), "6617675021119438851"));

    let deadline = Instant::now() + Duration::from_secs(60);
    while h.demo.sandbox.stats().orders_by_status.get("AWAITING_SHIPMENT").copied().unwrap_or(0) > 0 {
        assert!(Instant::now() < deadline, "not shipped: {:?}", h.demo.sandbox.stats().orders_by_status);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (tts, tracking, provider) in &expected {
        let remote = h.demo.sandbox.order_json(tts).unwrap();
        assert_eq!(remote["tracking_number"].as_str(), Some(tracking.as_str()), "{tts}: {remote}");
        assert_eq!(remote["shipping_provider_id"].as_str(), Some(*provider), "{tts}");
    }
    // Locally: the person's row became the submitted shipment (no second pipeline row), and a number
    // entered after shipping with another value is refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (tts, tracking, _) = &expected[0];
    let d = console.show_order(tts).await.unwrap();
    let rows: Vec<_> = d.shipments.iter().map(|s| (s.tracking_number.clone(), s.status)).collect();
    assert_eq!(rows, vec![(tracking.clone(), ShipmentStatus::Submitted)], "{:?}", d.shipments);
    assert!(d.timeline.iter().any(|e| e.kind == "tracking_entered" && e.message.contains("by ana")));
    assert!(d.timeline.iter().any(|e| e.kind == "shipped"));
    let again = console
        .add_tracking(&TrackingEntry { order: tts.clone(), tracking_number: "OTHER1".into(), provider: "DPD".into() }, "ana")
        .await;
    assert!(matches!(again, Err(creatorflow_engine::EngineError::TrackingRefused { .. })), "{again:?}");
    h.assert_every_shippable_order_shipped_once().await;
    h.shutdown().await;
}

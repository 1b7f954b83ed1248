//! Cases: inventory, webhook dedupe, labels, cursors and the timeline.

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;
use serde_json::json;

use crate::harness::*;

/// Reserves one order's `units` through validate's group path (a group of one), in `tx`.
async fn reserve_order(store: &Store, tx: &mut creatorflow_queue::DbTx, units: &[(&str, i64)]) -> Result<bool, StoreError> {
    let units: Vec<(String, i64)> = units.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    let request = StockRequest { creator_id: DEFAULT_CREATOR_ID, units: &units };
    store.reserve_many_tx(tx, &[request]).await?.pop().expect("one answer per order")
}

pub async fn inventory_never_negative_under_concurrency(h: &Harness) -> anyhow::Result<()> {
    h.store
        .set_stock(DEFAULT_CREATOR_ID, "MUG-1", true, 10)
        .await?;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await?;
            match reserve_order(&store, &mut tx, &[("MUG-1", 1)]).await {
                Ok(took_stock) => {
                    tx.commit().await?;
                    Ok::<_, StoreError>(Some(took_stock))
                }
                Err(StoreError::OutOfStock {
                    available,
                    requested,
                    ..
                }) => {
                    assert_eq!((available, requested), (0, 1));
                    tx.rollback().await?;
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }));
    }
    let mut reserved = 0;
    for t in tasks {
        if let Some(took_stock) = t.await?? {
            assert!(took_stock, "a tracked SKU's reservation takes stock");
            reserved += 1;
        }
    }
    assert_eq!(reserved, 10);
    let item = h
        .store
        .get_inventory(DEFAULT_CREATOR_ID, "MUG-1")
        .await?
        .context("inventory row")?;
    assert_eq!((item.on_hand, item.reserved, item.available()), (10, 10, 0));
    Ok(())
}

pub async fn inventory_release_and_rollback(h: &Harness) -> anyhow::Result<()> {
    let c = DEFAULT_CREATOR_ID;
    h.store.set_stock(c, "A", true, 3).await?;
    h.store.set_stock(c, "B", true, 1).await?;
    h.store.set_stock(c, "FREE", false, 0).await?;

    // An order needing 2 A and 2 B: B runs out, and the order takes no A either.
    let mut tx = h.store.begin().await?;
    match reserve_order(&h.store, &mut tx, &[("A", 2), ("B", 2)]).await {
        Err(StoreError::OutOfStock {
            sku,
            requested: 2,
            available: 1,
        }) if sku == "B" => {}
        other => bail!("expected OutOfStock, got {other:?}"),
    }
    tx.commit().await?;
    assert_eq!(
        h.store.get_inventory(c, "A").await?.map(|i| i.reserved),
        Some(0)
    );

    let mut tx = h.store.begin().await?;
    assert!(reserve_order(&h.store, &mut tx, &[("A", 2), ("FREE", 1000), ("UNKNOWN", 1)]).await?, "A is tracked");
    assert!(!reserve_order(&h.store, &mut tx, &[("FREE", 1000), ("UNKNOWN", 1)]).await?, "nothing tracked");
    match h.store.release(&mut tx, c, "A", 3).await {
        Err(StoreError::ReleaseExceedsReserved {
            requested: 3,
            reserved: 2,
            ..
        }) => {}
        other => bail!("expected ReleaseExceedsReserved, got {other:?}"),
    }
    assert_eq!(
        h.store.release(&mut tx, c, "A", 1).await?,
        Reservation::Reserved
    );
    assert_eq!(
        h.store.consume(&mut tx, c, "A", 1).await?,
        Reservation::Reserved
    );
    match reserve_order(&h.store, &mut tx, &[("A", 0)]).await {
        Err(StoreError::InvalidInput {
            field: "quantity", ..
        }) => {}
        other => bail!("expected InvalidInput, got {other:?}"),
    }
    tx.commit().await?;
    let a = h.store.get_inventory(c, "A").await?.context("A")?;
    assert_eq!((a.on_hand, a.reserved), (2, 0));

    // Stock cannot be set below what is reserved.
    let mut tx = h.store.begin().await?;
    reserve_order(&h.store, &mut tx, &[("A", 2)]).await?;
    tx.commit().await?;
    match h.store.set_stock(c, "A", true, 1).await {
        Err(StoreError::OutOfStock { .. }) => {}
        other => bail!("expected OutOfStock, got {other:?}"),
    }
    assert_eq!(h.store.set_stock(c, "A", true, 5).await?.reserved, 2);
    Ok(())
}

/// Validate's group reservation: checked in memory in the group's order, one order out of stock
/// takes nothing and leaves the others alone, untracked SKUs pass, a bad SKU fails its order only.
pub async fn inventory_reserve_many(h: &Harness) -> anyhow::Result<()> {
    let c = DEFAULT_CREATOR_ID;
    h.store.set_stock(c, "A", true, 3).await?;
    h.store.set_stock(c, "B", true, 1).await?;
    h.store.set_stock(c, "FREE", false, 0).await?;
    let units = |v: &[(&str, i64)]| v.iter().map(|(s, n)| (s.to_string(), *n)).collect::<Vec<_>>();
    let orders = [
        units(&[("A", 2)]),
        units(&[("A", 2), ("B", 1)]), // A has 1 left: out of stock, B stays untouched
        units(&[("A", 1), ("FREE", 50)]),
        units(&[("FREE", 5), ("UNKNOWN", 1)]),
        units(&[("B", 1)]),
        units(&[("", 1)]),
    ];
    let requests: Vec<StockRequest<'_>> = orders.iter().map(|u| StockRequest { creator_id: c, units: u }).collect();
    let mut tx = h.store.begin().await?;
    let answers = h.store.reserve_many_tx(&mut tx, &requests).await?;
    tx.commit().await?;
    ensure!(matches!(answers[0], Ok(true)), "{:?}", answers[0]);
    match &answers[1] {
        Err(StoreError::OutOfStock { sku, requested: 2, available: 1 }) if sku == "A" => {}
        other => bail!("expected A out of stock, got {other:?}"),
    }
    ensure!(matches!(answers[2], Ok(true)), "{:?}", answers[2]);
    ensure!(matches!(answers[3], Ok(false)), "{:?}", answers[3]);
    ensure!(matches!(answers[4], Ok(true)), "B is still there for the next order: {:?}", answers[4]);
    ensure!(matches!(answers[5], Err(StoreError::InvalidInput { .. })), "{:?}", answers[5]);
    let a = h.store.get_inventory(c, "A").await?.context("A")?;
    let b = h.store.get_inventory(c, "B").await?.context("B")?;
    assert_eq!((a.reserved, b.reserved), (3, 1));
    // Nothing left: a whole group out of stock reserves nothing and still commits.
    let more = units(&[("A", 1)]);
    let mut tx = h.store.begin().await?;
    let answers = h.store.reserve_many_tx(&mut tx, &[StockRequest { creator_id: c, units: &more }]).await?;
    tx.commit().await?;
    ensure!(matches!(answers[0], Err(StoreError::OutOfStock { .. })), "{:?}", answers[0]);
    assert_eq!(h.store.get_inventory(c, "A").await?.context("A")?.reserved, 3);
    Ok(())
}

pub async fn webhook_dedupe(h: &Harness) -> anyhow::Result<()> {
    let w = WebhookReceipt {
        tts_notification_id: "7327112393057371910".into(),
        tts_shop_id: "7494726673780148744".into(),
        r#type: 1,
        payload: json!({"order_id": "576684019603311365", "order_status": "AWAITING_SHIPMENT"}),
    };
    let mut tx = h.store.begin().await?;
    assert!(h.store.record_webhook(&mut tx, &w).await?);
    assert!(!h.store.record_webhook(&mut tx, &w).await?);
    tx.commit().await?;
    let mut tx = h.store.begin().await?;
    assert!(
        !h.store.record_webhook(&mut tx, &w).await?,
        "still a duplicate after commit"
    );
    let other = WebhookReceipt {
        tts_notification_id: "other".into(),
        ..w.clone()
    };
    assert!(h.store.record_webhook(&mut tx, &other).await?);
    tx.rollback().await?;
    let mut tx = h.store.begin().await?;
    assert!(
        h.store.record_webhook(&mut tx, &other).await?,
        "a rolled-back receipt was not kept"
    );
    tx.commit().await?;
    Ok(())
}

pub async fn label_round_trip(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut o = order(s.id, "lbl", T0);
    o.packages = vec![package("pkg-1", None), package("pkg-2", None)];
    let id = upsert(h, &o).await?.id();
    let d = h.store.get_order(id).await?;
    let pkg = d.packages.first().context("package")?.id;
    ensure!(d.packages.iter().all(|p| !p.has_label));

    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    pdf.extend([0, 0, 255, 0]);
    h.store.store_label(pkg, "SHIPPING_LABEL", &pdf).await?;
    let got = h.store.get_label(pkg).await?.context("label")?;
    assert_eq!(got.pdf, pdf);
    assert_eq!(got.fetched_at, T0_MS);
    h.store
        .store_label(pkg, "SHIPPING_LABEL", b"%PDF-2")
        .await?;
    assert_eq!(
        h.store.get_label(pkg).await?.map(|l| l.pdf),
        Some(b"%PDF-2".to_vec())
    );
    let d = h.store.get_order(id).await?;
    assert_eq!(
        d.packages.iter().map(|p| p.has_label).collect::<Vec<_>>(),
        [true, false]
    );
    match h.store.store_label(999_999, "SHIPPING_LABEL", b"x").await {
        Err(StoreError::PackageNotFound(999_999)) => {}
        other => bail!("expected PackageNotFound, got {other:?}"),
    }

    // TikTok drops both packages: the labelled one is kept (its label is local work), the other goes.
    let mut v2 = order(s.id, "lbl", T0 + 1);
    v2.packages = vec![];
    upsert(h, &v2).await?;
    let d = h.store.get_order(id).await?;
    assert_eq!(d.packages.iter().map(|p| p.id).collect::<Vec<_>>(), [pkg]);
    Ok(())
}

pub async fn cursor_and_timeline(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    assert_eq!(h.store.get_cursor(s.id, "orders").await?, None);
    let mut tx = h.store.begin().await?;
    h.store
        .set_cursor(
            &mut tx,
            s.id,
            "orders",
            &json!({"update_time_ge": T0, "page_token": "abc"}),
        )
        .await?;
    tx.commit().await?;
    let mut tx = h.store.begin().await?;
    h.store
        .set_cursor(&mut tx, s.id, "orders", &json!({"update_time_ge": T0 + 60}))
        .await?;
    tx.rollback().await?;
    assert_eq!(
        h.store.get_cursor(s.id, "orders").await?,
        Some(json!({"update_time_ge": T0, "page_token": "abc"})),
        "a rolled-back cursor move is not kept"
    );
    let mut tx = h.store.begin().await?;
    match h.store.set_cursor(&mut tx, 4242, "orders", &json!(1)).await {
        Err(StoreError::ShopNotFound(4242)) => {}
        other => bail!("expected ShopNotFound, got {other:?}"),
    }
    tx.rollback().await?;

    let id = upsert(h, &order(s.id, "t1", T0)).await?.id();
    let mut tx = h.store.begin().await?;
    h.store
        .append_event(
            &mut tx,
            id,
            &NewOrderEvent {
                source: EventSource::Sync,
                kind: "synced".into(),
                message: "first seen".into(),
                data: None,
            },
        )
        .await?;
    h.clock.set(T0_MS + 10);
    h.store
        .append_event(
            &mut tx,
            id,
            &NewOrderEvent {
                source: EventSource::User,
                kind: "note".into(),
                message: "called buyer".into(),
                data: Some(json!({"by": "sam"})),
            },
        )
        .await?;
    match h
        .store
        .append_event(
            &mut tx,
            777_777,
            &NewOrderEvent {
                source: EventSource::User,
                kind: "note".into(),
                message: String::new(),
                data: None,
            },
        )
        .await
    {
        Err(StoreError::OrderNotFound(777_777)) => {}
        other => bail!("expected OrderNotFound, got {other:?}"),
    }
    tx.rollback().await?;
    // The failed append poisoned nothing on SQLite but aborts a PostgreSQL transaction: redo in a new one.
    let mut tx = h.store.begin().await?;
    h.clock.set(T0_MS);
    h.store
        .append_event(
            &mut tx,
            id,
            &NewOrderEvent {
                source: EventSource::Sync,
                kind: "synced".into(),
                message: "first seen".into(),
                data: None,
            },
        )
        .await?;
    h.clock.set(T0_MS + 10);
    h.store
        .append_event(
            &mut tx,
            id,
            &NewOrderEvent {
                source: EventSource::User,
                kind: "note".into(),
                message: "called buyer".into(),
                data: Some(json!({"by": "sam"})),
            },
        )
        .await?;
    tx.commit().await?;
    let tl = h.store.get_order(id).await?.timeline;
    assert_eq!(
        tl.iter()
            .map(|e| (e.at, e.source, e.kind.as_str()))
            .collect::<Vec<_>>(),
        [
            (T0_MS, EventSource::Sync, "synced"),
            (T0_MS + 10, EventSource::User, "note")
        ]
    );
    assert_eq!(tl[1].data, Some(json!({"by": "sam"})));
    Ok(())
}

pub async fn metric_rollups(h: &Harness) -> anyhow::Result<()> {
    let minute = T0_MS - T0_MS.rem_euclid(60_000);
    let r = |m: i64, count: i64| MetricRollup {
        metric: "pipeline.validate.latency_ms".into(),
        minute: m,
        count,
        sum: 12.5 * count as f64,
        min: Some(1.0),
        max: Some(80.25),
        p50: Some(10.0),
        p90: Some(40.0),
        p99: Some(79.0),
        histogram: Some(vec![0, 1, 2, 255]),
    };
    h.store
        .put_rollups(&[r(minute, 3), r(minute + 60_000, 4)])
        .await?;
    h.store.put_rollups(&[r(minute, 5)]).await?;
    let got = h
        .store
        .rollups("pipeline.validate.latency_ms", minute, minute + 120_000)
        .await?;
    assert_eq!(got, vec![r(minute, 5), r(minute + 60_000, 4)]);
    assert_eq!(
        h.store.rollups("other", minute, minute + 120_000).await?,
        vec![]
    );
    match h.store.put_rollups(&[r(minute + 1, 1)]).await {
        Err(StoreError::InvalidInput { .. }) => {}
        other => bail!("expected InvalidInput, got {other:?}"),
    }
    Ok(())
}

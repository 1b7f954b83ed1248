//! Cases: the ship, label and confirm stages' set writes (store/shipped.rs) and the stages' group
//! reads (`Store::work_orders`, `Store::label_works`).

use std::collections::{HashMap, HashSet};

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;

use crate::harness::*;

fn pipeline_shipment(order_id: i64, tracking: &str) -> NewShipment {
    NewShipment::pipeline(order_id, tracking, Some("prov-1".into()), T0_MS)
}

/// Orders with a work log each (validate ran), the first with stock reserved.
async fn validated_orders(h: &Harness, prefix: &str, n: usize) -> anyhow::Result<Vec<i64>> {
    let s = shop(h, &format!("s-{prefix}")).await?;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut o = order(s.id, &format!("{prefix}-{i}"), T0);
        o.packages = vec![package(&format!("{prefix}-pkg-{i}"), None)];
        ids.push(upsert(h, &o).await?.id());
    }
    let none: Vec<String> = Vec::new();
    let logs: Vec<NewFulfillment> =
        ids.iter().enumerate().map(|(i, &order_id)| NewFulfillment { order_id, package_ids: &none, stock_reserved: i == 0 }).collect();
    let mut tx = h.store.begin().await?;
    h.store.start_fulfillments_tx(&mut tx, &logs).await?;
    tx.commit().await?;
    Ok(ids)
}

pub async fn shipping_set_writes(h: &Harness) -> anyhow::Result<()> {
    h.clock.set(T0_MS);
    let ids = validated_orders(h, "shp", 4).await?;
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);

    // Shipped: a with a number, b without (keeps none), c listed twice.
    let mut tx = h.store.begin().await?;
    let marked = h.store.mark_shipped_tx(&mut tx, &[(a, Some("TRKA001")), (b, None), (c, Some("TRKC003")), (c, Some("TRKX009"))]).await?;
    ensure!(marked == HashMap::from([(a, true), (b, false), (c, false)]), "each once, with its stock flag: {marked:?}");
    ensure!(h.store.mark_shipped_tx(&mut tx, &[(a, None), (b, Some("LATE012"))]).await?.is_empty(), "shipped before: no shipment");
    // Listed first without a number, then with one: the first listing wins, no number is kept.
    ensure!(h.store.mark_shipped_tx(&mut tx, &[(d, None), (d, Some("LATEST013"))]).await? == HashMap::from([(d, false)]));
    tx.commit().await?;
    let log = |id: i64| async move { h.store.work_order(id).await.map(|(_, l)| l) };
    let la = log(a).await?.context("a")?;
    ensure!(la.shipped_at == Some(T0_MS) && la.tracking_number.as_deref() == Some("TRKA001"), "{la:?}");
    let lb = log(b).await?.context("b")?;
    ensure!(lb.shipped_at.is_some() && lb.tracking_number.is_none(), "a second mark changes nothing: {lb:?}");
    let lc = log(c).await?.context("c")?;
    ensure!(lc.tracking_number.as_deref() == Some("TRKC003"), "the first listing wins: {lc:?}");
    ensure!(log(d).await?.context("d")?.tracking_number.is_none(), "d's first listing had no number");

    // Tracking learnt later (label, confirm): set once, the first listing of an order wins.
    let mut tx = h.store.begin().await?;
    let set = h.store.set_tracking_once_tx(&mut tx, &[(a, "NEWA001"), (b, "TRKB002"), (d, "TRKD004"), (d, "TRKD005")]).await?;
    ensure!(set == HashSet::from([b, d]), "a had one: {set:?}");
    ensure!(h.store.set_tracking_once_tx(&mut tx, &[(b, "AGAIN007")]).await?.is_empty());
    ensure!(h.store.set_tracking_once_tx(&mut tx, &[]).await?.is_empty());
    tx.commit().await?;
    ensure!(log(d).await?.context("d")?.tracking_number.as_deref() == Some("TRKD004"));
    ensure!(log(a).await?.context("a")?.tracking_number.as_deref() == Some("TRKA001"));

    // Shipment rows and their numbers searchable; two for one order both count.
    let mut tx = h.store.begin().await?;
    let rows = [pipeline_shipment(a, "TRKA001"), pipeline_shipment(b, "TRKB002"), pipeline_shipment(d, "TRKD004"), pipeline_shipment(d, "SPARED006")];
    h.store.record_shipments_tx(&mut tx, &rows).await?;
    h.store.record_shipments_tx(&mut tx, &[]).await?;
    tx.commit().await?;
    let shipped: Vec<(String, Option<String>)> = h
        .store
        .get_order(d)
        .await?
        .shipments
        .iter()
        .map(|s| (s.tracking_number.clone(), s.shipping_provider_id.clone()))
        .collect();
    ensure!(shipped.len() == 2 && shipped.iter().all(|(_, p)| p.as_deref() == Some("prov-1")), "{shipped:?}");
    for (text, want) in [("TRKA001", "shp-0"), ("trkb002", "shp-1"), ("SPARED006", "shp-3"), ("TRKD004", "shp-3")] {
        ensure!(search_ids(h, text).await? == [want], "{text}: {:?}", search_ids(h, text).await?);
    }
    ensure!(search_ids(h, "TRKX009").await?.is_empty(), "a number the group did not record is not searchable");
    if let creatorflow_queue::Db::Sqlite { writer, .. } = h.store.db() {
        // FTS5 against its content table (orders.search_text): every replaced entry was deleted
        // with the text it was indexed with, or this fails.
        sqlx::query("INSERT INTO order_fts (order_fts, rank) VALUES ('integrity-check', 1)").execute(writer).await?;
    }

    // An order at the search text's token cap: its text is rebuilt from its rows, the number kept.
    let s = shop(h, "s-shp-cap").await?;
    let mut wordy = order(s.id, "shp-cap", T0);
    let words: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
    wordy.line_items = vec![line_item("li-cap", &words.join(" "), "CAP-1")];
    let capped = upsert(h, &wordy).await?.id();
    let mut tx = h.store.begin().await?;
    h.store.record_shipments_tx(&mut tx, &[pipeline_shipment(capped, "CAPTRK014")]).await?;
    tx.commit().await?;
    ensure!(search_ids(h, "CAPTRK014").await? == ["shp-cap"]);

    // Bad input fails the call and stores nothing of it.
    let mut tx = h.store.begin().await?;
    match h.store.record_shipments_tx(&mut tx, &[pipeline_shipment(c, "OKC008"), pipeline_shipment(c, "")]).await {
        Err(StoreError::InvalidInput { field: "tracking number", .. }) => {}
        other => bail!("expected an invalid tracking number, got {other:?}"),
    }
    let mut with_package = pipeline_shipment(c, "PKGC010");
    with_package.package_id = Some(1);
    ensure!(matches!(h.store.record_shipments_tx(&mut tx, &[with_package]).await, Err(StoreError::InvalidInput { .. })));
    tx.rollback().await?;
    let mut tx = h.store.begin().await?;
    match h.store.record_shipments_tx(&mut tx, &[pipeline_shipment(c, "OKC008"), pipeline_shipment(d + 1000, "GHOST011")]).await {
        Err(StoreError::OrderNotFound(id)) if id == d + 1000 => {}
        other => bail!("expected OrderNotFound for the missing order, got {other:?}"),
    }
    tx.rollback().await?;
    ensure!(search_ids(h, "OKC008").await?.is_empty(), "rolled back");
    Ok(())
}

/// The stages' group reads answer per order what the one-order reads answer.
pub async fn stage_reads_in_sets(h: &Harness) -> anyhow::Result<()> {
    let ids = validated_orders(h, "rd", 3).await?;
    let s = shop(h, "s-rd-bare").await?;
    let bare = upsert(h, &order(s.id, "rd-bare", T0)).await?.id();
    let missing = bare + 1000;
    let asked = [ids[2], bare, missing, ids[0], ids[1], ids[2]];

    let works = h.store.work_orders(&asked).await?;
    ensure!(works.len() == 4 && !works.contains_key(&missing), "{:?}", works.keys());
    for id in [ids[0], ids[2], bare] {
        ensure!(works.get(&id) == Some(&h.store.work_order(id).await?), "order {id}");
    }
    ensure!(works[&bare].1.is_none() && works[&ids[0]].1.as_ref().is_some_and(|f| f.stock_reserved));
    ensure!(h.store.work_orders(&[]).await?.is_empty());

    let labels = h.store.label_works(&asked).await?;
    ensure!(labels.len() == 4 && !labels.contains_key(&missing), "{:?}", labels.keys());
    for id in [ids[0], ids[2], bare] {
        ensure!(labels.get(&id) == h.store.label_work(id).await?.as_ref(), "order {id}");
    }
    ensure!(labels[&ids[1]].package_rows.len() == 1 && labels[&bare].fulfillment.is_none());
    Ok(())
}

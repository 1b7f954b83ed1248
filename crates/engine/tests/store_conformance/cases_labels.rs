//! Cases: the label stage's set writes (store/labels.rs) and its one-statement read.

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;

use crate::harness::*;

fn label_event() -> NewOrderEvent {
    NewOrderEvent {
        source: EventSource::Pipeline,
        kind: "label_stored".into(),
        message: "shipping label stored for offline printing".into(),
        data: None,
    }
}

pub async fn labels_in_sets(h: &Harness) -> anyhow::Result<()> {
    h.clock.set(T0_MS);
    let s = shop(h, "s1").await?;
    let mut ids = Vec::new();
    for n in ["a", "b", "c"] {
        let mut o = order(s.id, &format!("lbl-{n}"), T0);
        o.packages = vec![package(&format!("pkg-{n}1"), None), package(&format!("pkg-{n}2"), None)];
        ids.push(upsert(h, &o).await?.id());
    }
    let mut pkgs = Vec::new();
    for &id in &ids[..2] {
        let w = h.store.label_work(id).await?.context("order")?;
        pkgs.push(w.package_rows.iter().map(|(p, _)| p.clone()).collect::<Vec<String>>());
    }
    let logs: Vec<NewFulfillment> =
        ids.iter().zip(&pkgs).map(|(&order_id, p)| NewFulfillment { order_id, package_ids: p, stock_reserved: false }).collect();
    let mut tx = h.store.begin().await?;
    h.store.start_fulfillments_tx(&mut tx, &logs).await?;
    tx.commit().await?;

    // One read: the order, its work log (none for the third) and its cached packages.
    ensure!(h.store.label_work(999_999).await?.is_none());
    let unvalidated = h.store.label_work(ids[2]).await?.context("order c")?;
    ensure!(unvalidated.fulfillment.is_none() && unvalidated.package_rows.len() == 2, "{unvalidated:?}");
    let a = h.store.label_work(ids[0]).await?.context("order a")?;
    assert_eq!(a.shop_id, s.id);
    assert_eq!(a.tts_order_id, "lbl-a");
    let fa = a.fulfillment.clone().context("work log a")?;
    assert_eq!(fa.package_ids, ["pkg-a1", "pkg-a2"]);
    assert_eq!(fa.label_stored_at, None);
    assert_eq!(a.package_rows.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["pkg-a1", "pkg-a2"]);
    let b = h.store.label_work(ids[1]).await?.context("order b")?;

    // Binary PDFs (NUL and 0xff bytes) of two orders, one statement each kind, one transaction.
    let pdf = |n: u8| {
        let mut v = b"%PDF-1.4\n".to_vec();
        v.extend([0, 255, n, 0]);
        v
    };
    let (p1, p2, p3) = (pdf(1), pdf(2), pdf(3));
    let rows = [
        NewLabel { package_id: a.package_rows[0].1, document_type: "SHIPPING_LABEL", pdf: &p1 },
        NewLabel { package_id: a.package_rows[1].1, document_type: "SHIPPING_LABEL", pdf: &p2 },
        NewLabel { package_id: b.package_rows[0].1, document_type: "SHIPPING_LABEL", pdf: &p3 },
    ];
    h.clock.set(T0_MS + 5);
    let mut tx = h.store.begin().await?;
    h.store.store_labels_tx(&mut tx, &rows).await?;
    assert_eq!(h.store.mark_labels_stored_tx(&mut tx, &ids[..2]).await?, 2);
    let ev_b = NewOrderEvent { message: "label of b".into(), ..label_event() };
    h.store.append_events_tx(&mut tx, &[(ids[0], &label_event()), (ids[1], &ev_b)]).await?;
    // Confirmation marks only the orders named (an unknown id changes nothing).
    assert_eq!(h.store.mark_confirmed_tx(&mut tx, &[ids[1], 999_999]).await?, 1);
    tx.commit().await?;
    let confirmed = |id| async move { Ok::<_, anyhow::Error>(h.store.work_order(id).await?.1.context("work log")?.confirmed_at) };
    assert_eq!((confirmed(ids[0]).await?, confirmed(ids[1]).await?), (None, Some(T0_MS + 5)));
    let tl_b = h.store.get_order(ids[1]).await?.timeline;
    ensure!(tl_b.iter().any(|e| e.kind == "label_stored" && e.message == "label of b"), "{tl_b:?}");
    assert_eq!(h.store.get_label(a.package_rows[1].1).await?.map(|l| l.pdf), Some(p2.clone()));
    assert_eq!(h.store.get_label(b.package_rows[0].1).await?.map(|l| (l.pdf, l.fetched_at)), Some((p3, T0_MS + 5)));
    for &id in &ids[..2] {
        let w = h.store.label_work(id).await?.context("order")?;
        assert_eq!(w.fulfillment.and_then(|f| f.label_stored_at), Some(T0_MS + 5));
        let tl = h.store.get_order(id).await?.timeline;
        ensure!(tl.iter().any(|e| e.kind == "label_stored" && e.source == EventSource::Pipeline && e.at == T0_MS + 5), "{tl:?}");
    }
    ensure!(!h.store.get_order(ids[2]).await?.timeline.iter().any(|e| e.kind == "label_stored"));

    // A stored label is replaced, not duplicated.
    let mut tx = h.store.begin().await?;
    h.store.store_labels_tx(&mut tx, &[NewLabel { package_id: a.package_rows[0].1, document_type: "PACKING_SLIP", pdf: b"%PDF-2" }]).await?;
    tx.commit().await?;
    let got = h.store.get_label(a.package_rows[0].1).await?.context("label")?;
    assert_eq!((got.document_type.as_str(), got.pdf.as_slice()), ("PACKING_SLIP", b"%PDF-2".as_slice()));

    // A package or order that is gone fails the set (the label writer then writes each alone).
    let mut tx = h.store.begin().await?;
    match h.store.store_labels_tx(&mut tx, &[NewLabel { package_id: 999_999, document_type: "SHIPPING_LABEL", pdf: b"x" }]).await {
        Err(StoreError::PackageNotFound(999_999)) => {}
        other => bail!("expected PackageNotFound, got {other:?}"),
    }
    tx.rollback().await?;
    let mut tx = h.store.begin().await?;
    match h.store.append_events_tx(&mut tx, &[(777_777, &label_event())]).await {
        Err(StoreError::OrderNotFound(777_777)) => {}
        other => bail!("expected OrderNotFound, got {other:?}"),
    }
    tx.rollback().await?;
    let bad_kind = NewOrderEvent { kind: String::new(), ..label_event() };
    let mut tx = h.store.begin().await?;
    ensure!(matches!(h.store.append_events_tx(&mut tx, &[(ids[0], &label_event()), (ids[1], &bad_kind)]).await, Err(StoreError::InvalidInput { .. })));
    tx.rollback().await?;
    Ok(())
}

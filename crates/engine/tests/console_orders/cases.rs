//! The test bodies, run once per backend by `cases!` in main.rs.

use std::collections::HashSet;

use anyhow::ensure;
use creatorflow_engine::store::{EventSource, NewFulfillment, ShipmentStatus, ShippingType};
use creatorflow_engine::{
    CsvLineOutcome, EngineError, MAX_CSV_BYTES, OrderQuery, ShipJobState, TrackingCsv, TrackingEntry, TrackingOutcome,
};

use crate::{Env, now_s, order, shop};

async fn ids(e: &Env, q: &OrderQuery) -> anyhow::Result<Vec<String>> {
    Ok(e.console.list_orders(q).await?.orders.into_iter().map(|o| o.tts_order_id).collect())
}

pub async fn filters_combine(e: &Env) -> anyhow::Result<()> {
    let a = shop(e, "alpha").await?;
    let b = shop(e, "beta").await?;
    let mut orders = vec![
        order(a.id, "A1", 3600, 3 * 86_400, ShippingType::Seller),
        order(a.id, "A2", 7200, 3600, ShippingType::Seller), // at risk
        order(b.id, "B1", 86_400 * 3, 3 * 86_400, ShippingType::Tiktok),
    ];
    orders[2].status = "IN_TRANSIT".into();
    orders[2].buyer_name = "Zoë O'Brien".into();
    orders[1].line_items[0].seller_sku = "HAT-BLUE".into();
    e.console.store().upsert_orders(&orders).await?;

    let all = OrderQuery::default();
    ensure!(ids(e, &all).await? == ["A1", "A2", "B1"], "newest first");
    let q = OrderQuery { statuses: vec!["in_transit".into()], ..OrderQuery::default() };
    ensure!(ids(e, &q).await? == ["B1"], "status, case-insensitive");
    let q = OrderQuery { shop: Some("alpha".into()), ..OrderQuery::default() };
    ensure!(ids(e, &q).await? == ["A1", "A2"]);
    let q = OrderQuery { at_risk: true, ..OrderQuery::default() };
    let risky = e.console.list_orders(&q).await?.orders;
    ensure!(risky.len() == 1 && risky[0].tts_order_id == "A2" && risky[0].at_risk);
    let q = OrderQuery { created_from: Some(now_s() - 86_400), ..OrderQuery::default() };
    ensure!(ids(e, &q).await? == ["A1", "A2"], "created from");
    let q = OrderQuery { created_to: Some(now_s() - 86_400), ..OrderQuery::default() };
    ensure!(ids(e, &q).await? == ["B1"], "created before");
    // Search as you type: prefixes of every word, combined with the other filters.
    for (text, want) in [("zo", vec!["B1"]), ("o'bri", vec!["B1"]), ("hat-bl", vec!["A2"]), ("mug", vec!["A1", "A2", "B1"]), ("mug red", vec!["A1", "A2", "B1"]), ("mug blue", vec!["A2"]), ("mug green", vec![]), ("a1", vec!["A1"])] {
        let q = OrderQuery { search: Some(text.into()), ..OrderQuery::default() };
        ensure!(ids(e, &q).await? == want, "search {text:?}");
    }
    let q = OrderQuery { search: Some("mug".into()), shop: Some("beta".into()), ..OrderQuery::default() };
    ensure!(ids(e, &q).await? == ["B1"]);
    let q = OrderQuery { search: Some("\"*) OR".into()), ..OrderQuery::default() };
    ensure!(ids(e, &q).await?.is_empty(), "query syntax is plain text");
    let bad = OrderQuery { created_from: Some(10), created_to: Some(5), ..OrderQuery::default() };
    ensure!(matches!(e.console.list_orders(&bad).await, Err(EngineError::InvalidInput { .. })));
    let unknown = OrderQuery { shop: Some("nope".into()), ..OrderQuery::default() };
    ensure!(matches!(e.console.list_orders(&unknown).await, Err(EngineError::ShopNotFound { .. })));
    Ok(())
}

pub async fn keyset_pages_stay_stable_while_orders_arrive(e: &Env) -> anyhow::Result<()> {
    let s = shop(e, "pages").await?;
    // 230 orders, many sharing one create_time (ties are broken by id).
    let batch: Vec<_> = (0..230).map(|i| order(s.id, &format!("K{i:03}"), 1000 + (i / 7) * 60, 86_400, ShippingType::Seller)).collect();
    e.console.store().upsert_orders(&batch).await?;
    let mut seen = Vec::new();
    let mut q = OrderQuery { limit: Some(50), ..OrderQuery::default() };
    let mut page_no = 0;
    loop {
        let page = e.console.list_orders(&q).await?;
        seen.extend(page.orders.iter().map(|o| (o.create_time, o.id, o.tts_order_id.clone())));
        page_no += 1;
        // Newer orders arriving between pages go before the cursor: they never shift later pages.
        let fresh = vec![order(s.id, &format!("NEW{page_no}"), 0, 86_400, ShippingType::Seller)];
        e.console.store().upsert_orders(&fresh).await?;
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    ensure!(seen.len() == 230, "every original order once: {}", seen.len());
    let unique: HashSet<_> = seen.iter().map(|s| s.2.clone()).collect();
    ensure!(unique.len() == 230 && !unique.iter().any(|id| id.starts_with("NEW")));
    ensure!(seen.windows(2).all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)), "strictly descending (create_time, id)");
    Ok(())
}

pub async fn manual_tracking_rules(e: &Env) -> anyhow::Result<()> {
    let s = shop(e, "track").await?;
    let mut cancelled = order(s.id, "C1", 100, 86_400, ShippingType::Seller);
    cancelled.status = "CANCELLED".into();
    let batch = vec![
        order(s.id, "S1", 100, 86_400, ShippingType::Seller),
        order(s.id, "T1", 100, 86_400, ShippingType::Tiktok),
        cancelled,
        order(s.id, "S2", 100, 86_400, ShippingType::Seller),
    ];
    let out = e.console.store().upsert_orders(&batch).await?;
    let c = &e.console;
    let entry = |order: &str, t: &str, p: &str| TrackingEntry { order: order.into(), tracking_number: t.into(), provider: p.into() };

    let r = c.add_tracking(&entry("S1", " RM123GB ", "Royal Mail"), "ana").await?;
    ensure!(r.outcome == TrackingOutcome::Recorded && r.tracking_number == "RM123GB");
    ensure!(r.ship_job == ShipJobState::AfterValidation, "no ship job yet: {:?}", r.ship_job);
    let again = c.add_tracking(&entry("S1", "RM123GB", "royal mail"), "ana").await?;
    ensure!(again.outcome == TrackingOutcome::Unchanged);
    let replaced = c.add_tracking(&entry(&out[0].id().to_string(), "RM999GB", "6617675021119438850"), "ben").await?;
    ensure!(replaced.outcome == TrackingOutcome::Replaced, "by local id too");
    let d = c.show_order("S1").await?;
    let pending: Vec<_> = d.shipments.iter().filter(|s| s.status == ShipmentStatus::Pending).collect();
    ensure!(pending.len() == 1 && pending[0].tracking_number == "RM999GB" && pending[0].source == EventSource::User);
    ensure!(pending[0].shipping_provider_id.as_deref() == Some("6617675021119438850"));
    let ev: Vec<_> = d.timeline.iter().filter(|e| e.kind == "tracking_entered").collect();
    ensure!(ev.len() == 2 && ev[1].message.contains("by ben") && ev[1].message.contains("replacing RM123GB"), "{ev:?}");
    // The new number is searchable, the replaced one is not.
    let find = |t: &str| OrderQuery { search: Some(t.into()), ..OrderQuery::default() };
    ensure!(ids(e, &find("rm999")).await? == ["S1"]);
    ensure!(ids(e, &find("rm123")).await?.is_empty());

    let refused = |r: Result<_, EngineError>, why: &str| match r {
        Err(EngineError::TrackingRefused { reason, .. }) if reason.contains(why) => Ok(()),
        other => Err(anyhow::anyhow!("expected a refusal with {why:?}, got {other:?}")),
    };
    refused(c.add_tracking(&entry("T1", "X1", "DPD"), "ana").await, "TikTok logistics")?;
    refused(c.add_tracking(&entry("C1", "X1", "DPD"), "ana").await, "cancelled")?;
    for bad in [entry("S2", "has space", "DPD"), entry("S2", "", "DPD"), entry("S2", "X1", ""), entry("", "X1", "DPD")] {
        ensure!(matches!(c.add_tracking(&bad, "ana").await, Err(EngineError::InvalidInput { .. })), "{bad:?}");
    }
    ensure!(matches!(c.add_tracking(&entry("NOPE", "X1", "DPD"), "ana").await, Err(EngineError::OrderNotFound { .. })));

    // Shipped (by the pipeline, with its number): the same number is fine, another is refused.
    let s2 = out[3].id();
    let store = c.store();
    let mut tx = store.begin().await?;
    let package_ids = ["S2-pkg".to_owned()];
    store.start_fulfillments_tx(&mut tx, &[NewFulfillment { order_id: s2, package_ids: &package_ids, stock_reserved: false }]).await?;
    store.mark_shipped_tx(&mut tx, &[(s2, Some("DPD777"))]).await?;
    tx.commit().await?;
    ensure!(c.add_tracking(&entry("S2", "DPD777", "DPD"), "ana").await?.outcome == TrackingOutcome::Unchanged);
    refused(c.add_tracking(&entry("S2", "DPD778", "DPD"), "ana").await, "already shipped with tracking DPD777")?;
    Ok(())
}

pub async fn csv_import_reports_every_line(e: &Env) -> anyhow::Result<()> {
    let s = shop(e, "csv").await?;
    let batch: Vec<_> = ["P1", "P2", "P3"].iter().map(|id| order(s.id, id, 100, 86_400, ShippingType::Seller)).collect();
    let mut batch = batch;
    batch.push(order(s.id, "PT", 100, 86_400, ShippingType::Tiktok));
    e.console.store().upsert_orders(&batch).await?;
    let c = &e.console;
    let csv = "\u{feff}Provider,ORDER_ID,tracking_number,notes\r\n\
               \"Royal Mail\",P1,RM1GB,\"first, with a comma\"\r\n\
               \r\n\
               DPD,\"P2\",DPD-2,\"says \"\"hi\"\"\"\r\n\
               DPD,PT,X9,\r\n\
               DPD,P3,bad number,\r\n\
               DPD,,X10,\r\n\
               \"Royal Mail\",P1,RM1GB,\r\n\
               DPD,\"P3\"x,X11,\r\n\
               Evri,P3,EV3\r\n";
    let r = c.import_tracking_csv(&TrackingCsv { csv: csv.into() }, "importer").await?;
    let outcome: Vec<(u32, CsvLineOutcome)> = r.lines.iter().map(|l| (l.line, l.outcome)).collect();
    ensure!(
        outcome
            == [
                (2, CsvLineOutcome::Applied),
                (4, CsvLineOutcome::Applied),
                (5, CsvLineOutcome::Skipped),
                (6, CsvLineOutcome::Skipped),
                (7, CsvLineOutcome::Skipped),
                (8, CsvLineOutcome::Unchanged),
                (9, CsvLineOutcome::Skipped),
                (10, CsvLineOutcome::Applied),
            ],
        "{:#?}",
        r.lines
    );
    ensure!((r.applied, r.unchanged, r.skipped) == (3, 1, 4));
    ensure!(r.lines[2].reason.as_deref().is_some_and(|m| m.contains("TikTok logistics")), "{:?}", r.lines[2]);
    ensure!(r.lines[3].reason.as_deref().is_some_and(|m| m.contains("no spaces")));
    ensure!(r.lines[4].reason.as_deref() == Some("order_id is empty"));
    ensure!(r.lines[6].reason.as_deref().is_some_and(|m| m.contains("closing quote")));
    // A skipped line changed nothing: P3 carries only the number of line 10, and PT none.
    let p3 = c.show_order("P3").await?;
    ensure!(p3.shipments.iter().map(|s| s.tracking_number.as_str()).collect::<Vec<_>>() == ["EV3"]);
    ensure!(c.show_order("PT").await?.shipments.is_empty());
    ensure!(c.show_order("P2").await?.shipments[0].tracking_number == "DPD-2");

    // Whole-file refusals: no header columns, empty, oversize, an unterminated quote in the header.
    for (csv, why) in [
        ("order,tracking\nP1,X\n", "lacks the column(s) order_id, tracking_number, provider"),
        ("", "is empty"),
        ("\"order_id,tracking_number,provider\n", "never closed"),
    ] {
        match c.import_tracking_csv(&TrackingCsv { csv: csv.into() }, "importer").await {
            Err(EngineError::InvalidInput { reason, .. }) if reason.contains(why) => {}
            other => anyhow::bail!("{csv:?}: expected {why:?}, got {other:?}"),
        }
    }
    let huge = format!("order_id,tracking_number,provider\n{}", "P1,X,DPD\n".repeat(MAX_CSV_BYTES / 9 + 1));
    match c.import_tracking_csv(&TrackingCsv { csv: huge }, "importer").await {
        Err(EngineError::InvalidInput { reason, .. }) if reason.contains("split the file") => {}
        other => anyhow::bail!("oversize: {other:?}"),
    }
    Ok(())
}

pub async fn csv_export_streams_every_matching_order(e: &Env) -> anyhow::Result<()> {
    let s = shop(e, "Export, Ltd").await?;
    let mut batch: Vec<_> = (0..2100).map(|i| order(s.id, &format!("E{i:04}"), 10_000 + i, 86_400, ShippingType::Seller)).collect();
    batch[0].buyer_name = "=HYPERLINK(\"http://x\")".into();
    batch[1].buyer_name = "Sam \"The Man\", Jr.".into();
    batch[2].status = "CANCELLED".into();
    e.console.store().upsert_orders(&batch).await?;
    e.console.add_tracking(&TrackingEntry { order: "E0003".into(), tracking_number: "RM3".into(), provider: "Evri".into() }, "t").await?;
    let q = OrderQuery { statuses: vec!["AWAITING_SHIPMENT".into()], ..OrderQuery::default() };
    let first = e.console.export_orders_csv(&q).await?;
    ensure!(first.rows == creatorflow_engine::console::EXPORT_CHUNK_ROWS && first.next.is_some());
    ensure!(first.csv.starts_with(creatorflow_engine::console::EXPORT_HEADER));
    let second = e.console.export_orders_csv(&OrderQuery { after: first.next, ..q.clone() }).await?;
    ensure!(second.next.is_none() && !second.csv.starts_with("order_id"));
    ensure!(first.rows + second.rows == 2099, "every matching order: {}", first.rows + second.rows);
    let mut out = Vec::new();
    let n = e.console.write_orders_csv(&q, &mut out).await?;
    ensure!(n == 2099);
    let text = String::from_utf8(out)?;
    ensure!(text.lines().count() == 2100, "header + one line per order");
    ensure!(text.contains("E0000,"), "order id column");
    ensure!(text.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "a formula is defused and quoted");
    ensure!(text.contains(",\"Sam \"\"The Man\"\", Jr.\","), "quotes and commas quoted");
    ensure!(text.contains(",\"Export, Ltd\","), "shop name quoted");
    ensure!(!text.contains("E0002,"), "cancelled order filtered out");
    let line3 = text.lines().find(|l| l.starts_with("E0003,")).unwrap_or_default();
    ensure!(line3.ends_with(",RM3") && line3.contains(",MUG-RED Plain Mug,1,19.99,GBP,"), "{line3}");
    Ok(())
}

pub async fn label_bytes_and_facets(e: &Env) -> anyhow::Result<()> {
    let s = shop(e, "labels").await?;
    let mut o = order(s.id, "L1", 100, 86_400, ShippingType::Tiktok);
    o.packages[0].tracking_number = Some("TT1".into());
    let out = e.console.store().upsert_orders(&[o, order(s.id, "L2", 50, 86_400, ShippingType::Seller)]).await?;
    let d = e.console.show_order("L1").await?;
    let pkg = d.packages[0].id;
    ensure!(!d.packages[0].has_label);
    ensure!(matches!(e.console.label_pdf(pkg).await, Err(EngineError::LabelNotCached { .. })));
    e.console.store().store_label(pkg, "SHIPPING_LABEL", b"%PDF-1.4 fake").await?;
    ensure!(e.console.show_order("L1").await?.packages[0].has_label);
    let label = e.console.label_pdf(pkg).await?;
    ensure!(label.pdf_base64 == "JVBERi0xLjQgZmFrZQ==" && label.file_name == "label-L1-L1pkg.pdf", "{label:?}");
    ensure!(d.order.id == out[0].id() && d.recipient_address.is_some() && d.line_items.len() == 1);
    let f = e.console.order_facets().await?;
    ensure!(f.total == 2 && f.shops.len() == 1 && f.shops[0].name == "labels");
    ensure!(f.statuses.len() == 1 && f.statuses[0].count == 2);
    Ok(())
}

/// `show_order` and `order_status` read an order in one statement each (`store/lookup.rs`): every child
/// list comes back complete, in order, with its types (money as text, JSON data, the label flag, enums),
/// empty lists as empty, and TikTok ids shared by two shops are refused with both local ids.
pub async fn one_statement_detail_and_status(e: &Env) -> anyhow::Result<()> {
    use creatorflow_engine::store::{NewOrderEvent, NewShipment, TrackingInfo};
    let s = shop(e, "lookup").await?;
    let other = shop(e, "lookup-other").await?;
    let mut o = order(s.id, "D1", 100, 3600, ShippingType::Seller);
    let mut second = o.line_items[0].clone();
    second.tts_line_item_id = "D1-li2".into();
    second.seller_sku = "MUG-BLUE".into();
    second.sale_price = creatorflow_engine::store::Amount::parse("0.10")?;
    o.line_items.push(second);
    let mut pkg2 = o.packages[0].clone();
    pkg2.tts_package_id = "D1-pkg2".into();
    pkg2.status = "PROCESSING".into();
    pkg2.tracking_number = Some("TT-2".into());
    pkg2.shipping_provider = Some("Royal Mail".into());
    o.packages.push(pkg2);
    let bare = order(s.id, "D2", 50, 3 * 86_400, ShippingType::Tiktok);
    let store = e.console.store();
    let out = store
        .upsert_orders(&[o, bare, order(s.id, "SAME", 10, 86_400, ShippingType::Seller), order(other.id, "SAME", 10, 86_400, ShippingType::Seller)])
        .await?;
    let id = out[0].id();

    let d = e.console.show_order("D1").await?;
    store.store_label(d.packages[1].id, "SHIPPING_LABEL", b"%PDF").await?;
    let mut tx = store.begin().await?;
    store
        .append_event(&mut tx, id, &NewOrderEvent { source: EventSource::Sync, kind: "first".into(), message: "a".into(), data: Some(serde_json::json!({"n": [1, 2]})) })
        .await?;
    store.append_event(&mut tx, id, &NewOrderEvent { source: EventSource::User, kind: "second".into(), message: "b".into(), data: None }).await?;
    store
        .record_shipment(
            &mut tx,
            &NewShipment {
                order_id: id,
                package_id: Some(d.packages[0].id),
                tracking_number: "RM-1".into(),
                shipping_provider_id: None,
                shipping_provider: Some("DPD".into()),
                status: ShipmentStatus::Pending,
                source: EventSource::User,
                shipped_at: Some(1_234),
            },
        )
        .await?;
    tx.commit().await?;

    let d = e.console.show_order("D1").await?;
    ensure!(d.order.id == id && d.order.tts_order_id == "D1" && d.order.at_risk, "{:?}", d.order);
    ensure!(d.raw == serde_json::json!({"id": "D1"}) && d.recipient_address.as_ref().is_some_and(|a| a["postal_code"] == "N1 1AA"));
    let skus: Vec<_> = d.line_items.iter().map(|l| (l.seller_sku.as_str(), l.sale_price.as_str())).collect();
    ensure!(skus == [("MUG-RED", "19.99"), ("MUG-BLUE", "0.10")], "{skus:?}");
    let pkgs: Vec<_> = d.packages.iter().map(|p| (p.tts_package_id.as_str(), p.tracking_number.as_deref(), p.has_label)).collect();
    ensure!(pkgs == [("D1-pkg", None, false), ("D1-pkg2", Some("TT-2"), true)], "{pkgs:?}");
    ensure!(d.shipments.len() == 1 && d.shipments[0].status == ShipmentStatus::Pending && d.shipments[0].source == EventSource::User);
    ensure!(d.shipments[0].package_id == Some(d.packages[0].id) && d.shipments[0].shipped_at == Some(1_234));
    let kinds: Vec<_> = d.timeline.iter().map(|t| (t.kind.as_str(), t.data.clone())).collect();
    ensure!(kinds == [("first", Some(serde_json::json!({"n": [1, 2]}))), ("second", None)], "{kinds:?}");
    // By local id: the same detail.
    ensure!(e.console.show_order(&id.to_string()).await? == d);

    let st = e.console.order_status(" D1 ").await?;
    ensure!(st.id == id && st.shop_name == "lookup" && st.status == "AWAITING_SHIPMENT" && st.at_risk && st.awaiting_shipment);
    ensure!(st.update_time == d.order.update_time && st.ship_by_time == d.order.ship_by_time && st.shipping_type == "SELLER");
    ensure!(st.synced_at == d.order.synced_at && st.create_time == d.order.create_time);
    let tiktok = TrackingInfo { tracking_number: "TT-2".into(), shipping_provider: Some("Royal Mail".into()), source: "tiktok".into(), status: "PROCESSING".into(), shipped_at: None };
    let local = TrackingInfo { tracking_number: "RM-1".into(), shipping_provider: Some("DPD".into()), source: "user".into(), status: "pending".into(), shipped_at: Some(1_234) };
    ensure!(st.tracking == [tiktok, local], "packages with a number first, then shipments: {:?}", st.tracking);
    ensure!(e.console.order_status(&id.to_string()).await? == st);

    // An order with nothing attached: empty lists, not nulls.
    let bare = e.console.show_order("D2").await?;
    ensure!(bare.shipments.is_empty() && bare.timeline.is_empty() && bare.packages.len() == 1 && !bare.packages[0].has_label);
    let bare_status = e.console.order_status("D2").await?;
    ensure!(bare_status.tracking.is_empty() && !bare_status.at_risk && bare_status.shipping_type == "TIKTOK");

    for r in [e.console.show_order("SAME").await.map(|_| ()), e.console.order_status("SAME").await.map(|_| ())] {
        ensure!(matches!(&r, Err(EngineError::AmbiguousOrder { local_ids, .. }) if *local_ids == [out[2].id(), out[3].id()]), "{r:?}");
    }
    for missing in ["NOPE", "999999"] {
        ensure!(matches!(e.console.show_order(missing).await, Err(EngineError::OrderNotFound { .. })));
        ensure!(matches!(e.console.order_status(missing).await, Err(EngineError::OrderNotFound { .. })));
    }
    ensure!(matches!(e.console.order_status("  ").await, Err(EngineError::InvalidInput { .. })));
    Ok(())
}

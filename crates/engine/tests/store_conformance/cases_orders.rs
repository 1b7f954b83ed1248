//! Cases: shops, order upserts, uniqueness, search, pagination, at-risk, hostile input, money.

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;
use creatorflow_queue::DbTx;
use serde_json::json;
use std::collections::HashSet;

use crate::harness::*;

pub async fn shop_crud(h: &Harness) -> anyhow::Result<()> {
    let a = shop(h, "7494726673780148744").await?;
    assert_eq!(a.status, ShopStatus::Active);
    assert_eq!(a.creator_id, DEFAULT_CREATOR_ID);
    assert!(!a.paused);
    match h.store.create_shop(&new_shop("7494726673780148744")).await {
        Err(StoreError::DuplicateShop { .. }) => {}
        other => bail!("expected DuplicateShop, got {other:?}"),
    }
    // The same TikTok id against another API base (sandbox vs production) is another shop.
    let mut other_env = new_shop("7494726673780148744");
    other_env.api_base_url = "http://127.0.0.1:10/api".into();
    let b = h.store.create_shop(&other_env).await?;
    ensure!(b.id != a.id);

    h.clock.set(T0_MS + 5000);
    let patched = h
        .store
        .update_shop(
            a.id,
            &ShopPatch {
                paused: Some(true),
                status: Some(ShopStatus::Deauthorized),
                handover_method: Some(HandoverMethod::DropOff),
                priority: Some(5),
                ..ShopPatch::default()
            },
        )
        .await?;
    assert!(patched.paused);
    assert_eq!(patched.status, ShopStatus::Deauthorized);
    assert_eq!(patched.handover_method, HandoverMethod::DropOff);
    assert_eq!(patched.name, a.name, "untouched fields stay");
    assert_eq!(patched.updated_at, T0_MS + 5000);
    assert_eq!(h.store.get_shop(a.id).await?, patched);
    let list = h.store.list_shops(DEFAULT_CREATOR_ID).await?;
    assert_eq!(
        list.iter().map(|s| s.id).collect::<Vec<_>>(),
        [a.id, b.id],
        "priority first"
    );

    upsert(h, &order(a.id, "1001", T0)).await?;
    match h.store.delete_shop(a.id).await {
        Err(StoreError::ShopInUse(id)) if id == a.id => {}
        other => bail!("expected ShopInUse, got {other:?}"),
    }
    h.store.delete_shop(b.id).await?;
    match h.store.get_shop(b.id).await {
        Err(StoreError::ShopNotFound(_)) => {}
        other => bail!("expected ShopNotFound, got {other:?}"),
    }
    match h.store.update_shop(b.id, &ShopPatch::default()).await {
        Err(StoreError::ShopNotFound(_)) => {}
        other => bail!("expected ShopNotFound, got {other:?}"),
    }
    Ok(())
}

pub async fn upsert_inserts_updates_and_ignores_stale(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut v2 = order(s.id, "576461413038785752", T0 + 20);
    v2.packages = vec![package("pkg-1", Some("TRACK1"))];
    let id = match upsert(h, &v2).await? {
        UpsertOutcome::Inserted { id } => id,
        other => bail!("expected Inserted, got {other:?}"),
    };

    // The same version again, and an older one: ignored, nothing changes.
    assert_eq!(upsert(h, &v2).await?, UpsertOutcome::Stale { id });
    let mut v1 = order(s.id, "576461413038785752", T0 + 10);
    v1.status = "UNPAID".into();
    v1.buyer_name = "Old Name".into();
    assert_eq!(upsert(h, &v1).await?, UpsertOutcome::Stale { id });
    let d = h.store.get_order(id).await?;
    assert_eq!(d.order.status, "AWAITING_SHIPMENT");
    assert_eq!(d.order.update_time, T0 + 20);
    assert_eq!(search_ids(h, "old").await?, Vec::<String>::new());

    // A newer version replaces fields, line items and packages, and the search index follows.
    let mut v3 = order(s.id, "576461413038785752", T0 + 30);
    v3.status = "IN_TRANSIT".into();
    v3.line_items = vec![line_item("li-2", "Ceramic Teapot", "POT-9")];
    v3.packages = vec![package("pkg-2", Some("TRACK2"))];
    assert_eq!(
        upsert(h, &v3).await?,
        UpsertOutcome::Updated {
            id,
            previous_status: "AWAITING_SHIPMENT".into()
        }
    );
    let d = h.store.get_order(id).await?;
    assert_eq!(d.order.status, "IN_TRANSIT");
    assert!(!d.order.awaiting_shipment);
    assert_eq!(d.line_items, v3.line_items);
    assert_eq!(
        d.packages
            .iter()
            .map(|p| p.tts_package_id.as_str())
            .collect::<Vec<_>>(),
        ["pkg-2"]
    );
    assert_eq!(d.raw, v3.raw);
    assert_eq!(d.recipient_address, v3.recipient_address);
    assert_eq!(search_ids(h, "teapot").await?, ["576461413038785752"]);
    assert_eq!(search_ids(h, "mug").await?, Vec::<String>::new());
    assert_eq!(search_ids(h, "track1").await?, Vec::<String>::new());
    assert_eq!(search_ids(h, "track2").await?, ["576461413038785752"]);

    // An unknown TikTok status is storable; an unknown shop is a clear error.
    let mut v4 = order(s.id, "576461413038785752", T0 + 40);
    v4.status = "SOME_FUTURE_STATUS".into();
    upsert(h, &v4).await?;
    assert_eq!(
        h.store.get_order(id).await?.order.status,
        "SOME_FUTURE_STATUS"
    );
    let mut tx = h.store.begin().await?;
    match h.store.upsert_order(&mut tx, &order(9999, "x", T0)).await {
        Err(StoreError::ShopNotFound(9999)) => {}
        other => bail!("expected ShopNotFound, got {other:?}"),
    }
    tx.rollback().await?;

    // A batch in one transaction.
    let batch: Vec<Order> = (0..50).map(|i| order(s.id, &format!("b{i}"), T0)).collect();
    let out = h.store.upsert_orders(&batch).await?;
    ensure!(
        out.iter()
            .all(|o| matches!(o, UpsertOutcome::Inserted { .. }))
    );
    let counts = h
        .store
        .count_by_status(DEFAULT_CREATOR_ID, Some(s.id))
        .await?;
    let awaiting = counts
        .iter()
        .find(|c| c.status == "AWAITING_SHIPMENT")
        .map(|c| c.count);
    assert_eq!(awaiting, Some(50));
    Ok(())
}

/// TikTok's `update_time` has one-second resolution: an order paid and shipped (or paid and cancelled)
/// within one second has two versions of the same second. The later one, whose status is further
/// along, must reach the cache; the earlier one must never come back. (Found by the CLI's kill loop:
/// orders shipped within the second they arrived stayed AWAITING_SHIPMENT in the cache.)
pub async fn same_second_versions_move_forward_only(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s-tie").await?;
    let id = upsert(h, &order(s.id, "576461413038790001", T0)).await?.id();
    let mut shipped = order(s.id, "576461413038790001", T0);
    shipped.status = "AWAITING_COLLECTION".into();
    assert_eq!(
        upsert(h, &shipped).await?,
        UpsertOutcome::Updated { id, previous_status: "AWAITING_SHIPMENT".into() }
    );
    let d = h.store.get_order(id).await?;
    assert_eq!(d.order.status, "AWAITING_COLLECTION");
    assert!(!d.order.awaiting_shipment, "no longer awaiting shipment, so never at risk");
    // The same version again, and the earlier same-second version arriving late: ignored.
    assert_eq!(upsert(h, &shipped).await?, UpsertOutcome::Stale { id });
    assert_eq!(upsert(h, &order(s.id, "576461413038790001", T0)).await?, UpsertOutcome::Stale { id });
    // A status this version does not know cannot be placed in the order's life: it waits for a newer second.
    let mut unknown = order(s.id, "576461413038790001", T0);
    unknown.status = "SOME_NEW_STATUS".into();
    assert_eq!(upsert(h, &unknown).await?, UpsertOutcome::Stale { id });
    assert_eq!(h.store.get_order(id).await?.order.status, "AWAITING_COLLECTION");

    // Paid and cancelled by the buyer within one second: the cancellation wins.
    let other = upsert(h, &order(s.id, "576461413038790002", T0)).await?.id();
    let mut cancelled = order(s.id, "576461413038790002", T0);
    cancelled.status = "CANCELLED".into();
    assert_eq!(
        upsert(h, &cancelled).await?,
        UpsertOutcome::Updated { id: other, previous_status: "AWAITING_SHIPMENT".into() }
    );
    assert_eq!(h.store.get_order(other).await?.order.status, "CANCELLED");
    Ok(())
}

pub async fn unique_shop_and_order_id(h: &Harness) -> anyhow::Result<()> {
    let a = shop(h, "sa").await?;
    let b = shop(h, "sb").await?;
    let ia = upsert(h, &order(a.id, "42", T0)).await?.id();
    let ib = upsert(h, &order(b.id, "42", T0)).await?.id();
    ensure!(ia != ib, "the same TikTok id in two shops is two orders");
    assert_eq!(upsert(h, &order(a.id, "42", T0 + 1)).await?.id(), ia);
    assert_eq!(
        h.store
            .get_order_by_remote(b.id, "42")
            .await?
            .map(|d| d.order.id),
        Some(ib)
    );
    assert_eq!(h.store.get_order_by_remote(b.id, "43").await?, None);

    // The schema itself refuses a second row for (shop, TikTok order id).
    let copy = "INSERT INTO orders (creator_id, shop_id, tts_order_id, status, create_time, update_time, \
                buyer_name, shipping_type, total_amount, currency, raw, awaiting_shipment, search_text, synced_at) \
                SELECT creator_id, shop_id, tts_order_id, status, create_time, update_time, buyer_name, \
                shipping_type, total_amount, currency, raw, awaiting_shipment, search_text, synced_at \
                FROM orders WHERE id = ";
    let mut tx = h.store.begin().await?;
    let err = match &mut tx {
        DbTx::Sqlite(t) => sqlx::query(sqlx::AssertSqlSafe(format!("{copy}?")))
            .bind(ia)
            .execute(&mut **t)
            .await
            .map(|_| ()),
        DbTx::Postgres(t) => sqlx::query(sqlx::AssertSqlSafe(format!("{copy}$1")))
            .bind(ia)
            .execute(&mut **t)
            .await
            .map(|_| ()),
    };
    match err {
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {}
        other => bail!("expected a unique violation, got {other:?}"),
    }
    tx.rollback().await?;
    Ok(())
}

pub async fn search_by_each_field_and_prefix(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut o = order(s.id, "576461413038785752", T0);
    o.buyer_name = "Zoë Ångström".into();
    o.line_items = vec![
        line_item("li-1", "Wireless Earbuds Pro", "SKU-RED-42"),
        line_item("li-2", "Charging Case", "CASE-7"),
    ];
    o.packages = vec![package("pkg-1", Some("1Z999AA10123456784"))];
    let id = upsert(h, &o).await?.id();
    let mut other = order(s.id, "991122334455", T0);
    other.buyer_name = "Sam Other".into();
    upsert(h, &other).await?;

    let hit = vec!["576461413038785752".to_owned()];
    for q in [
        "576461413038785752", // full order id
        "5764614",            // prefix of the order id
        "zoë",                // buyer, unicode
        "ÅNGS",               // buyer, prefix, case-insensitive
        "earb pro",           // product words, both as prefixes
        "charging",           // second line item
        "sku-red",            // seller SKU, punctuation splits like the index does
        "SKU RED 42",
        "case-7",
        "1z999aa1", // tracking number prefix
    ] {
        assert_eq!(search_ids(h, q).await?, hit, "query {q:?}");
    }
    assert_eq!(
        search_ids(h, "earbuds sam").await?,
        Vec::<String>::new(),
        "words AND together"
    );
    assert_eq!(
        search_ids(h, "mug").await?.len(),
        1,
        "only the other order has the default mug"
    );
    assert_eq!(search_ids(h, "").await?, Vec::<String>::new());

    // A tracking number typed in by a person becomes searchable at once.
    let mut tx = h.store.begin().await?;
    let sh = h
        .store
        .record_shipment(
            &mut tx,
            &NewShipment {
                order_id: id,
                package_id: None,
                tracking_number: "LOCALTRACK-555".into(),
                shipping_provider_id: None,
                shipping_provider: Some("UPS".into()),
                status: ShipmentStatus::Pending,
                source: EventSource::User,
                shipped_at: Some(T0_MS),
            },
        )
        .await?;
    tx.commit().await?;
    assert_eq!(search_ids(h, "localtrack 555").await?, hit);
    // ... and stays searchable after the next remote update.
    upsert(h, &order(s.id, "576461413038785752", T0 + 5)).await?;
    assert_eq!(search_ids(h, "localtrack").await?, hit);
    let d = h.store.get_order(id).await?;
    assert_eq!(d.shipments, vec![sh]);

    // A package of another order is refused.
    let other_id = h
        .store
        .get_order_by_remote(s.id, "991122334455")
        .await?
        .map(|d| d.order.id);
    let mut tx = h.store.begin().await?;
    let r = h
        .store
        .record_shipment(
            &mut tx,
            &NewShipment {
                order_id: other_id.context("other order")?,
                package_id: Some(d.packages.first().map(|p| p.id).unwrap_or(-1)),
                tracking_number: "X1".into(),
                shipping_provider_id: None,
                shipping_provider: None,
                status: ShipmentStatus::Pending,
                source: EventSource::User,
                shipped_at: None,
            },
        )
        .await;
    ensure!(
        matches!(r, Err(StoreError::PackageNotFound(_))),
        "got {r:?}"
    );
    tx.rollback().await?;
    Ok(())
}

pub async fn keyset_pages_are_complete_and_disjoint(h: &Harness) -> anyhow::Result<()> {
    let a = shop(h, "sa").await?;
    let b = shop(h, "sb").await?;
    let statuses = ["AWAITING_SHIPMENT", "IN_TRANSIT", "DELIVERED"];
    let mut all = Vec::new();
    for i in 0..257i64 {
        let shop_id = if i % 3 == 0 { b.id } else { a.id };
        let mut o = order(shop_id, &format!("k{i}"), T0);
        // Many ties on create_time, so the id tie-breaker matters.
        o.create_time = T0 - (i / 7) * 60;
        o.status = statuses[(i % 3) as usize].into();
        all.push(o);
    }
    h.store.upsert_orders(&all).await?;

    let walk = |filter: OrderFilter, limit: u32| async move {
        let mut seen = Vec::new();
        let mut page = PageRequest { limit, after: None };
        loop {
            let p = h.store.list_orders(&filter, page).await?;
            ensure!(p.orders.len() <= limit as usize);
            seen.extend(p.orders.iter().map(|o| {
                (
                    o.create_time,
                    o.id,
                    o.tts_order_id.clone(),
                    o.shop_id,
                    o.status.clone(),
                )
            }));
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        anyhow::Ok(seen)
    };

    let seen = walk(OrderFilter::default(), 20).await?;
    assert_eq!(seen.len(), 257);
    let ids: HashSet<&str> = seen.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(ids.len(), 257, "pages are disjoint and complete");
    ensure!(
        seen.windows(2).all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)),
        "strictly newest first"
    );

    let by_status = walk(
        OrderFilter {
            statuses: vec!["IN_TRANSIT".into(), "DELIVERED".into()],
            shop_id: Some(a.id),
            ..OrderFilter::default()
        },
        7,
    )
    .await?;
    let expected = all
        .iter()
        .filter(|o| o.shop_id == a.id && o.status != "AWAITING_SHIPMENT")
        .count();
    assert_eq!(by_status.len(), expected);
    ensure!(
        by_status
            .iter()
            .all(|s| s.3 == a.id && s.4 != "AWAITING_SHIPMENT")
    );

    let (from, to) = (T0 - 20 * 60, T0 - 5 * 60);
    let ranged = walk(
        OrderFilter {
            created_from: Some(from),
            created_to: Some(to),
            ..OrderFilter::default()
        },
        9,
    )
    .await?;
    let expected = all
        .iter()
        .filter(|o| o.create_time >= from && o.create_time < to)
        .count();
    assert_eq!(ranged.len(), expected);

    let searched = walk(
        OrderFilter {
            text: Some("mug".into()),
            ..OrderFilter::default()
        },
        50,
    )
    .await?;
    assert_eq!(searched.len(), 257);
    let exact = walk(
        OrderFilter {
            text: Some("k25".into()),
            ..OrderFilter::default()
        },
        50,
    )
    .await?;
    let mut names: Vec<&str> = exact.iter().map(|s| s.2.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "k25", "k250", "k251", "k252", "k253", "k254", "k255", "k256"
        ]
    );

    let counts = h.store.count_by_status(DEFAULT_CREATOR_ID, None).await?;
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 257);
    assert_eq!(counts.len(), 3);
    Ok(())
}

pub async fn at_risk_filter_follows_the_clock(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut soon = order(s.id, "soon", T0);
    soon.rts_sla_time = Some(T0 + 3600);
    soon.shipping_due_time = None;
    let mut later = order(s.id, "later", T0);
    later.rts_sla_time = Some(T0 + 5 * 24 * 3600);
    later.shipping_due_time = Some(T0 + 2 * 24 * 3600);
    let mut shipped = order(s.id, "shipped", T0);
    shipped.status = "IN_TRANSIT".into();
    shipped.rts_sla_time = Some(T0 - 3600);
    h.store.upsert_orders(&[soon, later, shipped]).await?;

    let risky = || async move {
        let p = h
            .store
            .list_orders(
                &OrderFilter {
                    at_risk: true,
                    ..OrderFilter::default()
                },
                PageRequest::default(),
            )
            .await?;
        ensure!(p.orders.iter().all(|o| o.at_risk));
        let mut ids: Vec<String> = p.orders.into_iter().map(|o| o.tts_order_id).collect();
        ids.sort();
        anyhow::Ok(ids)
    };
    assert_eq!(risky().await?, ["soon"]);
    // A day later, "later" (ship-by = the earlier of its two deadlines, in 2 days) is within 24 h too.
    h.clock.set(T0_MS + 25 * 3600 * 1000);
    assert_eq!(risky().await?, ["later", "soon"]);
    let all = h
        .store
        .list_orders(&OrderFilter::default(), PageRequest::default())
        .await?;
    let shipped = all
        .orders
        .iter()
        .find(|o| o.tts_order_id == "shipped")
        .context("shipped")?;
    ensure!(!shipped.at_risk && shipped.ship_by_time == Some(T0 - 3600));
    Ok(())
}

pub async fn hostile_input(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut o = order(s.id, "h1", T0);
    o.buyer_name = format!(
        "Robert'); DROP TABLE orders;-- {} 名前 😀",
        "x".repeat(1_000_000)
    );
    o.line_items = vec![line_item(
        "li'1",
        "\"quoted\" * OR NEAR(a b) ^col:x",
        "SKU\"';--",
    )];
    o.raw = json!({"weird": "\u{202e}\u{0007}\\\"", "big": "y".repeat(100_000)});
    let id = upsert(h, &o).await?.id();
    let d = h.store.get_order(id).await?;
    assert_eq!(d.order.buyer_name, o.buyer_name);
    assert_eq!(d.raw, o.raw);
    assert_eq!(d.line_items, o.line_items);

    let long_query = "(".repeat(100_000);
    for q in [
        "\"",
        "'",
        "*",
        "\"\"",
        "OR",
        "AND",
        "NOT",
        "NEAR(",
        ")",
        "(a OR",
        "--",
        ";DROP TABLE orders;",
        "a:b",
        "^start",
        "col:value",
        "\\",
        "%",
        "_",
        "'':*",
        "!@#$%^&*()",
        "\u{0}",
        "😀",
        "名前",
        "-",
        "a AND NOT b",
        long_query.as_str(),
    ] {
        let r = h.store.search(DEFAULT_CREATOR_ID, q, 10).await;
        ensure!(
            r.is_ok(),
            "query {:?} failed: {r:?}",
            q.chars().take(20).collect::<String>()
        );
    }
    assert_eq!(search_ids(h, "名前").await?, ["h1"]);
    assert_eq!(search_ids(h, "robert drop").await?, ["h1"]);
    assert_eq!(search_ids(h, "near quoted").await?, ["h1"]);
    let p = h
        .store
        .list_orders(
            &OrderFilter {
                statuses: vec!["'; DROP TABLE orders; --".into()],
                ..OrderFilter::default()
            },
            PageRequest::default(),
        )
        .await?;
    ensure!(p.orders.is_empty());
    // The tables are still there.
    assert_eq!(h.store.get_order(id).await?.order.tts_order_id, "h1");

    // Values the schema cannot hold are refused with a clipped message, not stored.
    let mut bad = order(s.id, &"9".repeat(10_000), T0);
    bad.line_items.clear();
    let mut tx = h.store.begin().await?;
    match h.store.upsert_order(&mut tx, &bad).await {
        Err(e @ StoreError::InvalidInput { .. }) => {
            ensure!(e.to_string().len() < 200, "message is clipped")
        }
        other => bail!("expected InvalidInput, got {other:?}"),
    }
    tx.rollback().await?;
    ensure!(matches!(
        Amount::parse("1e5"),
        Err(StoreError::InvalidAmount(_))
    ));
    ensure!(matches!(
        Amount::parse("12.5.1"),
        Err(StoreError::InvalidAmount(_))
    ));
    ensure!(serde_json::from_str::<Amount>("\"NaN\"").is_err());
    Ok(())
}

pub async fn money_is_exact(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s1").await?;
    let mut o = order(s.id, "m1", T0);
    o.total_amount = Amount::parse("123456789012345678901234.120000")?;
    let mut li = line_item("li-1", "Gold", "AU");
    li.sale_price = Amount::parse("0.10")?;
    o.line_items = vec![li];
    let id = upsert(h, &o).await?.id();
    let d = h.store.get_order(id).await?;
    assert_eq!(
        d.order.total_amount.as_str(),
        "123456789012345678901234.120000"
    );
    assert_eq!(d.line_items[0].sale_price.as_str(), "0.10");
    Ok(())
}

//! Cases: shops, order upserts, uniqueness, search, pagination, at-risk, hostile input, money.

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;
use creatorflow_queue::DbTx;
use serde_json::json;
use std::collections::{HashMap, HashSet};

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
    // The stages' cached copy: filled by a read, forgotten by every write through this store.
    assert_eq!(h.store.cached_shop(a.id).await?, a);
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
    assert_eq!(h.store.cached_shop(a.id).await?, patched, "a pause is seen by the next stage read");
    ensure!(h.store.mark_shop_deauthorized(a.id).await? == false, "already deauthorized");
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
    h.store.cached_shop(b.id).await?;
    h.store.delete_shop(b.id).await?;
    match h.store.cached_shop(b.id).await {
        Err(StoreError::ShopNotFound(_)) => {}
        other => bail!("a deleted shop is not served from the cache: {other:?}"),
    }
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

/// A sync page goes through the bulk path (new orders in multi-row statements): it must store
/// exactly what upserting the orders one by one stores — rows, children, search — across chunk
/// boundaries, with an order listed twice, a cached order and a second shop in the same call.
pub async fn bulk_page_stores_what_one_by_one_stores(h: &Harness) -> anyhow::Result<()> {
    let bulk_shop = shop(h, "s-bulk").await?;
    let single_shop = shop(h, "s-single").await?;
    let other = shop(h, "s-bulk-other").await?;
    let page = |shop_id: i64| -> Vec<Order> {
        let mut v: Vec<Order> = (0..620)
            .map(|i| {
                let mut o = order(shop_id, &format!("57646141303{i:05}"), T0 + i);
                o.buyer_name = format!("Buyer {i}");
                if i % 3 == 0 {
                    o.line_items.push(line_item("li-2", "Tall Vase", &format!("VASE-{i}")));
                    // One line item listed twice: the first copy wins on both paths.
                    o.line_items.push(line_item("li-2", "Tall Vase (dup)", "VASE-DUP"));
                }
                if i % 2 == 0 {
                    o.packages = vec![package(&format!("pkg-{i}"), (i % 4 == 0).then_some("TRK-BULK-1"))];
                }
                o
            })
            .collect();
        // The same order twice in one page: the later (newer) copy wins on both paths.
        let mut again = v[7].clone();
        again.update_time += 1;
        again.status = "CANCELLED".into();
        v.push(again);
        v
    };
    // One order of the bulk page is cached already and gets a newer version.
    let mut cached = page(bulk_shop.id)[5].clone();
    cached.update_time -= 100;
    upsert(h, &cached).await?;
    let mut single_cached = cached.clone();
    single_cached.shop_id = single_shop.id;
    upsert(h, &single_cached).await?;

    let mut call = page(bulk_shop.id);
    call.push(order(other.id, "576461413039999999", T0));
    let bulk = h.store.upsert_orders(&call).await?;
    let mut single = Vec::new();
    for o in page(single_shop.id) {
        single.push(upsert(h, &o).await?);
    }
    ensure!(bulk.len() == single.len() + 1, "one outcome per input order");
    for (i, (b, s)) in bulk.iter().zip(&single).enumerate() {
        let same_kind = matches!(
            (b, s),
            (UpsertOutcome::Inserted { .. }, UpsertOutcome::Inserted { .. })
                | (UpsertOutcome::Updated { .. }, UpsertOutcome::Updated { .. })
                | (UpsertOutcome::Stale { .. }, UpsertOutcome::Stale { .. })
        );
        ensure!(same_kind, "order {i}: bulk {b:?}, one by one {s:?}");
        let (bd, sd) = (h.store.get_order(b.id()).await?, h.store.get_order(s.id()).await?);
        assert_eq!(bd.order.tts_order_id, sd.order.tts_order_id, "order {i}");
        assert_eq!(bd.order.status, sd.order.status, "order {i}");
        assert_eq!(bd.order.total_amount, sd.order.total_amount, "order {i}");
        assert_eq!(bd.order.ship_by_time, sd.order.ship_by_time, "order {i}");
        assert_eq!(bd.order.awaiting_shipment, sd.order.awaiting_shipment, "order {i}");
        assert_eq!(bd.recipient_address, sd.recipient_address, "order {i}");
        assert_eq!(bd.raw, sd.raw, "order {i}");
        assert_eq!(bd.line_items, sd.line_items, "order {i}");
        let pk = |d: &OrderDetail| d.packages.iter().map(|p| (p.tts_package_id.clone(), p.tracking_number.clone())).collect::<Vec<_>>();
        assert_eq!(pk(&bd), pk(&sd), "order {i}");
    }
    assert!(matches!(bulk[5], UpsertOutcome::Updated { .. }), "the cached order was updated: {:?}", bulk[5]);
    assert_eq!(bulk[7].id(), bulk[620].id(), "an order listed twice is one row");
    // Search finds the bulk-inserted orders by every field, like the one-by-one ones.
    for text in ["Buyer 611", "VASE-300", "TRK-BULK-1", "576461413030042"] {
        let found = h.store.search(DEFAULT_CREATOR_ID, text, 1000).await?;
        let in_shop = |id: i64| found.iter().filter(|o| o.shop_id == id).count();
        ensure!(in_shop(bulk_shop.id) > 0, "{text:?} finds nothing in the bulk shop");
        assert_eq!(in_shop(bulk_shop.id), in_shop(single_shop.id), "search {text:?}");
    }
    assert_eq!(h.store.get_order(bulk[621].id()).await?.order.shop_id, other.id);
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

    // An order at the token cap (a hostile product name) still gets a recorded tracking number indexed.
    let mut wordy = order(s.id, "880011", T0);
    let words: String = (0..400).map(|i| format!("word{i} ")).collect();
    wordy.line_items = vec![line_item("li-w", &words, "SKU-W")];
    let wordy_id = upsert(h, &wordy).await?.id();
    let mut tx = h.store.begin().await?;
    let manual = NewShipment {
        order_id: wordy_id,
        package_id: None,
        tracking_number: "CAPPED-TRACK-9".into(),
        shipping_provider_id: None,
        shipping_provider: None,
        status: ShipmentStatus::Pending,
        source: EventSource::User,
        shipped_at: None,
    };
    h.store.record_shipment(&mut tx, &manual).await?;
    tx.commit().await?;
    assert_eq!(search_ids(h, "capped track").await?, vec!["880011".to_owned()]);

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

/// The stages' one-statement read: the order, its package ids and SKUs in id order, and its work log
/// once validate started one (the same row `fulfillment` reads).
pub async fn work_order_reads_the_order_its_children_and_its_log(h: &Harness) -> anyhow::Result<()> {
    let s = shop(h, "s-work").await?;
    let mut o = order(s.id, "9001", T0);
    o.packages = vec![package("pkg-b", None), package("pkg-a", Some("T1"))];
    o.line_items = vec![line_item("li-1", "Mug", "MUG-1"), line_item("li-2", "Mug", "MUG-1"), line_item("li-3", "Tee", "")];
    let id = upsert(h, &o).await?.id();
    let mut bare = order(s.id, "9002", T0);
    (bare.packages, bare.line_items) = (Vec::new(), Vec::new());
    let bare = upsert(h, &bare).await?.id();

    let (w, log) = h.store.work_order(id).await?;
    assert_eq!((w.id, w.shop_id, w.tts_order_id.as_str(), w.status.as_str()), (id, s.id, "9001", "AWAITING_SHIPMENT"));
    assert_eq!(w.package_ids, ["pkg-b", "pkg-a"], "in the order they were stored");
    assert_eq!(w.seller_skus, ["MUG-1", "MUG-1"], "one per unit; blank SKUs are not stock");
    ensure!(log.is_none(), "not validated yet: {log:?}");
    let (w2, _) = h.store.work_order(bare).await?;
    ensure!(w2.package_ids.is_empty() && w2.seller_skus.is_empty(), "no children: empty lists, {w2:?}");

    let mut tx = h.store.begin().await?;
    h.store.start_fulfillments_tx(&mut tx, &[NewFulfillment { order_id: id, package_ids: &w.package_ids, stock_reserved: true }]).await?;
    h.store.mark_ship_requested(&mut tx, &[id]).await?;
    tx.commit().await?;
    let (_, log) = h.store.work_order(id).await?;
    let log = log.context("validated: the log comes with the order")?;
    assert_eq!(log.package_ids(), ["pkg-b", "pkg-a"]);
    ensure!(log.stock_reserved && log.ship_requested_at.is_some() && log.shipped_at.is_none(), "{log:?}");

    // The set writes of validate's and ship's group commits: an existing work log is kept, an
    // intent counts once per order however often it is listed, and a set holding a shipped order fails.
    let none: Vec<String> = Vec::new();
    let mut tx = h.store.begin().await?;
    let started = h.store.started_orders_tx(&mut tx, &[id, bare]).await?;
    ensure!(started.contains(&id) && !started.contains(&bare), "{started:?}");
    let logs = [
        NewFulfillment { order_id: id, package_ids: &none, stock_reserved: false },
        NewFulfillment { order_id: bare, package_ids: &none, stock_reserved: false },
    ];
    h.store.start_fulfillments_tx(&mut tx, &logs).await?;
    h.store.mark_ship_requested(&mut tx, &[id, bare, bare]).await?;
    let marked = h.store.mark_shipped_tx(&mut tx, &[(bare, None), (bare, None)]).await?;
    ensure!(marked == HashMap::from([(bare, false)]), "shipped once, no stock: {marked:?}");
    ensure!(h.store.mark_shipped_tx(&mut tx, &[(bare, None)]).await?.is_empty(), "a second mark is no shipment");
    tx.commit().await?;
    let (_, log) = h.store.work_order(id).await?;
    let log = log.context("log")?;
    ensure!(log.stock_reserved && log.package_ids() == ["pkg-b", "pkg-a"] && log.ship_requests == 2, "kept: {log:?}");
    let (_, bare_log) = h.store.work_order(bare).await?;
    ensure!(bare_log.as_ref().is_some_and(|l| l.ship_requests == 1 && l.shipped_at.is_some()), "{bare_log:?}");
    let mut tx = h.store.begin().await?;
    match h.store.mark_ship_requested(&mut tx, &[id, bare]).await {
        Err(StoreError::InvalidInput { .. }) => {}
        other => bail!("expected the shipped order to fail the set, got {other:?}"),
    }
    tx.rollback().await?;
    match h.store.work_order(id + 1000).await {
        Err(StoreError::OrderNotFound(_)) => Ok(()),
        other => bail!("expected OrderNotFound, got {other:?}"),
    }
}

/// The set-based path for cached orders (confirm's and refresh's re-reads) against the one-by-one
/// path on twin shops: stale, same-second and newer versions, replaced line items, packages gained,
/// changed and dropped (unless a shipment refers to one), local tracking kept searchable, an order
/// listed twice.
pub async fn bulk_updates_of_cached_orders_match_one_by_one(h: &Harness) -> anyhow::Result<()> {
    let bulk_shop = shop(h, "s-bulk-upd").await?;
    let single_shop = shop(h, "s-single-upd").await?;
    let first = |shop_id: i64, i: i64| {
        let mut o = order(shop_id, &format!("57646141304{i:05}"), T0 + i);
        o.packages = vec![package(&format!("pk-{i}-a"), None), package(&format!("pk-{i}-b"), None)];
        o.line_items.push(line_item("li-old", "Old Lamp", &format!("LAMP-{i}")));
        o
    };
    let second = |shop_id: i64, i: i64| {
        let mut o = first(shop_id, i);
        match i % 5 {
            0 => o.update_time -= 1,                          // older: stale
            1 => o.status = "AWAITING_COLLECTION".into(),     // same second, further along: wins
            2 => {}                                           // same second, same status: stale
            _ => {
                o.update_time += 10;
                o.status = "IN_TRANSIT".into();
                o.line_items.retain(|li| li.tts_line_item_id != "li-old");
                o.line_items.push(line_item("li-new", "New Vase", &format!("VASE-{i}")));
                o.packages = vec![package(&format!("pk-{i}-a"), Some(&format!("TRK-UPD-{i}"))), package(&format!("pk-{i}-c"), None)];
            }
        }
        o
    };
    let n = 60;
    for shop_id in [bulk_shop.id, single_shop.id] {
        let v: Vec<Order> = (0..n).map(|i| first(shop_id, i)).collect();
        h.store.upsert_orders(&v).await?;
        // Local work on two orders: a tracking number entered here, and a shipment on package b.
        for i in [3, 4] {
            let d = h.store.get_order_by_remote(shop_id, &format!("57646141304{i:05}")).await?.context("seeded")?;
            let pkg_b = d.packages.iter().find(|p| p.tts_package_id.ends_with("-b")).map(|p| p.id);
            let mut tx = h.store.begin().await?;
            let s = NewShipment {
                order_id: d.order.id,
                package_id: pkg_b,
                tracking_number: format!("LOCAL-TRK-{i}"),
                shipping_provider_id: None,
                shipping_provider: None,
                status: ShipmentStatus::Submitted,
                source: EventSource::User,
                shipped_at: Some(T0_MS),
            };
            h.store.record_shipment(&mut tx, &s).await?;
            tx.commit().await?;
        }
    }
    let page = |shop_id: i64| -> Vec<Order> {
        let mut v: Vec<Order> = (0..n).map(|i| second(shop_id, i)).collect();
        let mut again = v[8].clone();
        again.update_time += 1;
        again.status = "DELIVERED".into();
        v.push(again);
        v
    };
    let bulk = h.store.upsert_orders(&page(bulk_shop.id)).await?;
    let mut single = Vec::new();
    for o in page(single_shop.id) {
        single.push(upsert(h, &o).await?);
    }
    ensure!(bulk.len() == single.len());
    for (i, (b, s)) in bulk.iter().zip(&single).enumerate() {
        match (b, s) {
            (UpsertOutcome::Updated { previous_status: p, .. }, UpsertOutcome::Updated { previous_status: q, .. }) => {
                assert_eq!(p, q, "order {i}")
            }
            (UpsertOutcome::Stale { .. }, UpsertOutcome::Stale { .. }) => {}
            _ => bail!("order {i}: bulk {b:?}, one by one {s:?}"),
        }
        let (bd, sd) = (h.store.get_order(b.id()).await?, h.store.get_order(s.id()).await?);
        assert_eq!((bd.order.status.as_str(), bd.order.update_time), (sd.order.status.as_str(), sd.order.update_time), "order {i}");
        assert_eq!(bd.raw, sd.raw, "order {i}");
        let li = |d: &OrderDetail| d.line_items.iter().map(|l| (l.tts_line_item_id.clone(), l.seller_sku.clone())).collect::<Vec<_>>();
        assert_eq!(li(&bd), li(&sd), "order {i}");
        let pk = |d: &OrderDetail| {
            let mut v: Vec<_> = d.packages.iter().map(|p| (p.tts_package_id.clone(), p.tracking_number.clone())).collect();
            v.sort();
            v
        };
        assert_eq!(pk(&bd), pk(&sd), "order {i}");
    }
    let kinds = |v: &[UpsertOutcome]| v.iter().filter(|o| matches!(o, UpsertOutcome::Updated { .. })).count();
    assert_eq!(kinds(&bulk), 24 + 12 + 1, "newer (2 in 5), same-second winners (1 in 5), the second copy");
    // Package b of order 3 has a local shipment: TikTok dropping it does not delete it.
    let d3 = h.store.get_order(bulk[3].id()).await?;
    ensure!(d3.packages.iter().any(|p| p.tts_package_id == "pk-3-b"), "a package with local work stays: {:?}", d3.packages);
    let d13 = h.store.get_order(bulk[13].id()).await?;
    ensure!(!d13.packages.iter().any(|p| p.tts_package_id == "pk-13-b"), "a dropped package goes: {:?}", d13.packages);
    assert_eq!(d13.order.status, "IN_TRANSIT");
    assert_eq!(h.store.get_order(bulk[8].id()).await?.order.status, "DELIVERED", "the later copy wins");
    // Search follows the new versions and keeps local tracking, on both paths alike.
    for (text, expect) in [("TRK-UPD-13", 1), ("VASE-13", 1), ("LAMP-13", 0), ("LAMP-10", 1), ("LOCAL-TRK-3", 1), ("LOCAL-TRK-4", 1)] {
        let found = h.store.search(DEFAULT_CREATOR_ID, text, 1000).await?;
        let in_shop = |id: i64| found.iter().filter(|o| o.shop_id == id).count();
        assert_eq!((in_shop(bulk_shop.id), in_shop(single_shop.id)), (expect, expect), "search {text:?}");
    }
    Ok(())
}

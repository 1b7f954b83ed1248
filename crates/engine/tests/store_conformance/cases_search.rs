//! Cases: search pages either side of SQLite's few-matches threshold (store/list.rs, FEW_MATCHES =
//! 1,000): the deferred join on `orders_id_created` and the newest-first walk must give the same
//! orders, in the same order, with the same keyset cursors, alone and with the other filters.

use anyhow::ensure;
use creatorflow_engine::store::*;

use crate::harness::*;

/// Orders in total: more than the threshold, so `bulk` (every order) takes the walk.
const N: i64 = 1_200;

pub async fn search_pages_agree_either_side_of_few_matches(h: &Harness) -> anyhow::Result<()> {
    let a = shop(h, "search-a").await?;
    let b = shop(h, "search-b").await?;
    let statuses = ["AWAITING_SHIPMENT", "IN_TRANSIT", "DELIVERED"];
    let mut all = Vec::new();
    for i in 0..N {
        let shop_id = if i % 4 == 0 { b.id } else { a.id };
        let mut o = order(shop_id, &format!("q{i}"), T0);
        // Create times run against insertion order (ids) and tie in sevens: the sort must use
        // create_time and break ties on id, not follow the ids the matches come back in.
        o.create_time = T0 - ((i * 7919) % N) / 7 * 60;
        o.status = statuses[(i % 3) as usize].into();
        o.buyer_name = format!("Bulk Buyer{}", i % 5);
        if i % 10 == 0 {
            o.line_items[0].seller_sku = "RARE-1".into();
        }
        // Some at risk (ship-by now), the rest not.
        o.rts_sla_time = Some(if i % 6 == 0 { T0 } else { T0 + 30 * 86_400 });
        o.shipping_due_time = None;
        all.push(o);
    }
    let mut ids = Vec::new();
    for chunk in all.chunks(500) {
        ids.extend(h.store.upsert_orders(chunk).await?.into_iter().map(|u| u.id()));
    }

    let walk = |filter: OrderFilter, limit: u32| async move {
        let mut seen = Vec::new();
        let mut page = PageRequest { limit, after: None };
        loop {
            let p = h.store.list_orders(&filter, page).await?;
            ensure!(p.orders.len() <= limit as usize);
            ensure!(p.next.is_none() || p.orders.len() == limit as usize, "a short page has no next cursor");
            seen.extend(p.orders.iter().map(|o| (o.create_time, o.id)));
            match p.next {
                Some(next) => {
                    ensure!(p.orders.last().map(|o| (o.create_time, o.id)) == Some((next.create_time, next.id)));
                    page.after = Some(next);
                }
                None => break,
            }
        }
        anyhow::Ok(seen)
    };
    let expect = |keep: &dyn Fn(usize, &Order) -> bool| {
        let mut v: Vec<(i64, i64)> =
            all.iter().enumerate().filter(|(k, o)| keep(*k, o)).map(|(k, o)| (o.create_time, ids[k])).collect();
        v.sort_by(|x, y| y.cmp(x));
        v
    };
    let text = |t: &str| OrderFilter { text: Some(t.into()), ..OrderFilter::default() };
    let rare = |k: usize, _: &Order| k.is_multiple_of(10);

    // Many matches (the walk) and few (the deferred join), each through every page.
    for limit in [50, 7] {
        ensure!(walk(text("bulk"), limit).await? == expect(&|_, _| true), "bulk, pages of {limit}");
        ensure!(walk(text("rare"), limit).await? == expect(&rare), "rare, pages of {limit}");
        ensure!(walk(text("bulk rare"), limit).await? == expect(&rare), "bulk rare, pages of {limit}");
        ensure!(walk(text("buyer3"), limit).await? == expect(&|k, _| k % 5 == 3), "buyer3, pages of {limit}");
    }
    // With the other filters, on both paths.
    for (t, matched) in [("bulk", &(|_: usize, _: &Order| true) as &dyn Fn(usize, &Order) -> bool), ("rare", &rare)] {
        let f = OrderFilter { statuses: vec!["IN_TRANSIT".into()], shop_id: Some(a.id), ..text(t) };
        let want = expect(&|k, o| matched(k, o) && o.status == "IN_TRANSIT" && o.shop_id == a.id);
        ensure!(walk(f, 9).await? == want, "{t} by status and shop");
        let f = OrderFilter { at_risk: true, ..text(t) };
        let want = expect(&|k, o| matched(k, o) && o.rts_sla_time == Some(T0));
        ensure!(walk(f, 9).await? == want, "{t} at risk");
        let (from, to) = (T0 - 100 * 60, T0 - 20 * 60);
        let f = OrderFilter { created_from: Some(from), created_to: Some(to), ..text(t) };
        let want = expect(&|k, o| matched(k, o) && o.create_time >= from && o.create_time < to);
        ensure!(!want.is_empty() && walk(f, 9).await? == want, "{t} in a created range");
    }
    ensure!(walk(text("nomatch"), 50).await?.is_empty());

    // The plans behind the two paths (SQLite): many matches walk newest first, few sort on 0007.
    if h.store.db().backend() == creatorflow_queue::Backend::Sqlite {
        let first = PageRequest { limit: 50, after: None };
        let many = h.store.explain_list_orders(&text("bulk"), first).await?.join("\n");
        ensure!(many.contains("orders_creator_created") && !many.contains("TEMP B-TREE"), "bulk walks:\n{many}");
        let few = h.store.explain_list_orders(&text("rare"), first).await?.join("\n");
        ensure!(few.contains("COVERING INDEX orders_id_created"), "rare sorts on the index:\n{few}");
    }
    Ok(())
}

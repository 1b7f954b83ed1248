//! Contract: authorized shops, order search paging and update_time windows, order detail in batches,
//! shipping providers — the real client against the in-process sandbox.
mod contract_common;

use contract_common::{T0_MS, quiet_config, start};
use futures::TryStreamExt;
use std::collections::BTreeSet;
use tiktok_sandbox::{OrderSpec, OrderStatus as SbStatus};
use tiktok_shop::models::order::{OrderSearchFilter, OrderSearchPage, OrderStatus};

#[tokio::test]
async fn authorized_shops_lists_the_sandbox_shop_with_its_cipher() {
    let h = start(quiet_config(1)).await;
    let shops = h.client.authorized_shops(&h.tokens).await.expect("shops");
    let cfg = h.sb.config();
    assert_eq!(shops.len(), 1, "{shops:?}");
    assert_eq!(shops[0].cipher, cfg.shop_cipher);
    assert_eq!(shops[0].id, cfg.shop_id);
    assert_eq!(h.calls("authorization.shops"), 1);
    h.assert_clean();
}

#[tokio::test]
async fn search_pages_through_every_order_and_counts_match() {
    let mut cfg = quiet_config(2);
    cfg.initial_orders = 237;
    // Some variety in status, so the search is not trivially uniform.
    cfg.unpaid_share = 0.2;
    cfg.on_hold_share = 0.3;
    let h = start(cfg).await;
    let sandbox_total: u64 = h.stats().orders_by_status.values().sum();
    assert_eq!(sandbox_total, 237);

    let pages: Vec<_> = h
        .shop
        .search_orders_pages(OrderSearchFilter::default(), OrderSearchPage::first(50))
        .try_collect()
        .await
        .expect("every page");
    assert_eq!(pages.len(), 5, "237 orders in pages of 50");
    assert!(pages.iter().all(|p| p.total_count == Some(237)));
    assert!(pages[..4].iter().all(|p| p.orders.len() == 50));
    let ids: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p.orders.iter().map(|o| o.id.clone()))
        .collect();
    assert_eq!(
        ids.len(),
        237,
        "every order once, no duplicates across pages"
    );
    assert_eq!(h.calls("orders.search"), 5);

    // A status filter agrees with the sandbox's own per-status counts.
    let by_status = h.stats().orders_by_status;
    let want = by_status.get("AWAITING_SHIPMENT").copied().unwrap_or(0);
    let filter = OrderSearchFilter {
        order_status: Some(OrderStatus::AwaitingShipment),
        ..OrderSearchFilter::default()
    };
    let got: Vec<_> = h
        .shop
        .search_orders_pages(filter, OrderSearchPage::first(100))
        .try_collect()
        .await
        .expect("filtered pages");
    let orders: Vec<_> = got.iter().flat_map(|p| p.orders.iter()).collect();
    assert_eq!(orders.len() as u64, want);
    assert!(
        orders
            .iter()
            .all(|o| o.status == OrderStatus::AwaitingShipment)
    );
    h.assert_clean();
}

#[tokio::test]
async fn update_time_windows_select_exactly_the_orders_touched_in_them() {
    let h = start(quiet_config(3)).await;
    let spec = || OrderSpec {
        status: Some(SbStatus::AwaitingShipment),
        ..OrderSpec::default()
    };
    let t0 = T0_MS / 1000;
    let first: Vec<String> = (0..7).map(|_| h.sb.create_order(spec())).collect();
    h.advance_secs(600).await;
    let second: Vec<String> = (0..5).map(|_| h.sb.create_order(spec())).collect();
    h.advance_secs(600).await;

    let hr = &h;
    let window = move |from, to| async move {
        let pages: Vec<_> = hr
            .shop
            .search_orders_pages(
                OrderSearchFilter::updated_between(from, to),
                OrderSearchPage::first(3),
            )
            .try_collect()
            .await
            .expect("window search");
        pages
            .into_iter()
            .flat_map(|p| p.orders.into_iter().map(|o| o.id))
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(window(t0, t0 + 600).await, first.iter().cloned().collect());
    assert_eq!(
        window(t0 + 600, t0 + 1200).await,
        second.iter().cloned().collect()
    );
    assert!(window(t0 + 1200, t0 + 1800).await.is_empty());
    assert_eq!(window(t0, t0 + 1200).await.len(), 12);
    h.assert_clean();
}

#[tokio::test]
async fn detail_of_more_than_fifty_ids_is_split_into_batches() {
    let mut cfg = quiet_config(4);
    cfg.initial_orders = 120;
    let h = start(cfg).await;
    let pages: Vec<_> = h
        .shop
        .search_orders_pages(OrderSearchFilter::default(), OrderSearchPage::first(100))
        .try_collect()
        .await
        .expect("search");
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.orders.iter().map(|o| o.id.clone()))
        .collect();
    assert_eq!(ids.len(), 120);
    let before = h.calls("orders.get");
    let orders = h.shop.get_orders_batched(&ids).await.expect("detail");
    assert_eq!(h.calls("orders.get") - before, 3, "120 ids = 50 + 50 + 20");
    let got: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    assert_eq!(got, ids, "same orders, same order");
    // Detail carries what the pipeline needs.
    let o = &orders[0];
    assert!(!o.line_items.is_empty() && o.payment.is_some() && !o.packages.is_empty());
    // The single-call form refuses 51 ids before sending anything.
    let err = h.shop.get_orders(&ids[..51]).await.expect_err("51 ids");
    assert_eq!(err.kind(), tiktok_shop::ErrorKind::InvalidRequest);
    assert_eq!(h.calls("orders.get") - before, 3);
    h.assert_clean();
}

#[tokio::test]
async fn shipping_providers_for_an_orders_delivery_option() {
    let h = start(quiet_config(5)).await;
    let id = h.sb.create_order(OrderSpec::default());
    let order = h.shop.get_orders(&[id]).await.expect("detail").remove(0);
    let option = order.delivery_option_id.expect("delivery option");
    let providers = h.shop.shipping_providers(&option).await.expect("providers");
    assert!(!providers.is_empty());
    assert!(
        providers
            .iter()
            .all(|p| !p.id.is_empty() && !p.name.is_empty())
    );
    h.assert_clean();
}

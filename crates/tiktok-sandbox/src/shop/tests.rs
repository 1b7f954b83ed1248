//! Shop lifecycle tests on a manual timeline (the shop only moves when `advance` is called).
use super::model::{OrderStatus, ShippingType, Stage};
use super::*;
use crate::codes;

const T0: i64 = 1_767_225_600_000;

fn quiet_config() -> SandboxConfig {
    let mut c = SandboxConfig::with_seed(3);
    c.initial_orders = 0;
    c.cancel_probability = 0.0;
    c
}

fn pickup() -> ShipRequest {
    ShipRequest {
        handover_method: Some("PICKUP".to_owned()),
        ..ShipRequest::default()
    }
}

#[test]
fn same_seed_same_shop() {
    let mut c = SandboxConfig::with_seed(9);
    c.initial_orders = 40;
    let a = Shop::new(c.clone(), T0);
    let b = Shop::new(c, T0);
    let ja: Vec<Value> = a.orders().map(|o| a.order_json(o)).collect();
    let jb: Vec<Value> = b.orders().map(|o| b.order_json(o)).collect();
    assert_eq!(ja.len(), 40);
    assert_eq!(ja, jb);
    assert!(
        a.orders().any(|o| o.line_items.len() > 1),
        "some orders are multi-item"
    );
    assert!(a.orders().any(|o| o.shipping_type == ShippingType::Seller));
    assert!(a.orders().any(|o| o.shipping_type == ShippingType::Tiktok));
}

#[test]
fn on_hold_cannot_ship_until_released() {
    let mut c = quiet_config();
    c.on_hold_secs = 600;
    let mut shop = Shop::new(c, T0);
    let id = shop.create_order(OrderSpec {
        status: Some(OrderStatus::OnHold),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let pkg = shop
        .order(&id)
        .map(|o| o.package_ids[0].clone())
        .unwrap_or_default();
    let err = shop.ship_package(&pkg, &pickup()).err().map(|e| e.code);
    assert_eq!(err, Some(codes::ORDER_ON_HOLD));
    assert_eq!(
        shop.order_json(shop.order(&id).expect("order"))
            .pointer("/recipient_address/name"),
        Some(&Value::from(""))
    );
    shop.advance(T0 + 599_000);
    assert_eq!(shop.order(&id).map(|o| o.status), Some(OrderStatus::OnHold));
    shop.advance(T0 + 600_000);
    assert_eq!(
        shop.order(&id).map(|o| o.status),
        Some(OrderStatus::AwaitingShipment)
    );
    assert_eq!(shop.ship_package(&pkg, &pickup()), Ok(()));
    assert_eq!(shop.ship_calls.get(&pkg), Some(&2));
}

#[test]
fn ship_advances_and_duplicate_is_refused() {
    let mut c = quiet_config();
    c.package_step_secs = 100;
    let mut shop = Shop::new(c, T0);
    let id = shop.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let pkg = shop
        .order(&id)
        .map(|o| o.package_ids[0].clone())
        .unwrap_or_default();
    shop.take_outbox();
    assert_eq!(shop.ship_package(&pkg, &pickup()), Ok(()));
    assert_eq!(
        shop.order(&id).map(|o| o.status),
        Some(OrderStatus::AwaitingCollection)
    );
    let dup = shop.ship_package(&pkg, &pickup()).err().map(|e| e.code);
    assert_eq!(dup, Some(codes::PACKAGE_ALREADY_SHIPPED));
    assert_eq!(shop.duplicate_ships, 1);
    shop.advance(T0 + 100_000);
    assert_eq!(shop.package(&pkg).map(|p| p.stage), Some(Stage::InTransit));
    shop.advance(T0 + 300_000);
    assert_eq!(
        shop.order(&id).map(|o| o.status),
        Some(OrderStatus::Completed)
    );
    let kinds: Vec<u32> = shop.take_outbox().iter().map(|n| n.kind).collect();
    assert!(kinds.contains(&4) && kinds.contains(&1), "{kinds:?}");
}

#[test]
fn seller_shipping_needs_self_shipment_and_can_split() {
    let mut shop = Shop::new(quiet_config(), T0);
    let id = shop.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Seller),
        line_items: Some(3),
        ..OrderSpec::default()
    });
    let order = shop.order(&id).expect("order").clone();
    let err = shop
        .ship_package(&order.package_ids[0], &pickup())
        .err()
        .map(|e| e.code);
    assert_eq!(err, Some(codes::SHIPPING_TYPE_MISMATCH));
    let first = vec![order.line_items[0].id.clone()];
    let (pkg, _) = shop
        .mark_shipped(&id, "RM123456789GB", PROVIDERS[0].0, &first)
        .expect("partial ship");
    assert_ne!(pkg, order.package_ids[0]);
    assert_eq!(
        shop.order(&id).map(|o| o.status),
        Some(OrderStatus::PartiallyShipping)
    );
    let rest: Vec<String> = order.line_items[1..].iter().map(|l| l.id.clone()).collect();
    shop.mark_shipped(&id, "RM123456790GB", PROVIDERS[1].0, &rest)
        .expect("rest");
    assert_eq!(
        shop.order(&id).map(|o| o.status),
        Some(OrderStatus::InTransit)
    );
    let again = shop
        .mark_shipped(&id, "RM1", PROVIDERS[1].0, &first)
        .err()
        .map(|e| e.code);
    assert_eq!(again, Some(codes::PACKAGE_ALREADY_SHIPPED));
}

#[test]
fn buyer_cancel_lands_while_waiting_and_unpaid_lapses_or_pays() {
    let mut c = quiet_config();
    c.unpaid_resolve_secs = 60;
    c.unpaid_lapse_probability = 1.0;
    let mut shop = Shop::new(c, T0);
    let waiting = shop.create_order(OrderSpec {
        cancel_after_secs: Some(30),
        ..OrderSpec::default()
    });
    let unpaid = shop.create_order(OrderSpec {
        status: Some(OrderStatus::Unpaid),
        ..OrderSpec::default()
    });
    assert_eq!(
        shop.order(&waiting).map(|o| o.status),
        Some(OrderStatus::AwaitingShipment)
    );
    shop.advance(T0 + 60_000);
    let w = shop.order(&waiting).expect("order");
    assert_eq!(
        (w.status, w.cancellation_initiator.as_str()),
        (OrderStatus::Cancelled, "BUYER")
    );
    assert_eq!(
        shop.order(&unpaid).map(|o| o.status),
        Some(OrderStatus::Cancelled)
    );
    let pkg = w.package_ids[0].clone();
    let err = shop.ship_package(&pkg, &pickup()).err().map(|e| e.code);
    assert_eq!(err, Some(codes::ORDER_CANCELLED));
}

#[test]
fn generator_makes_orders_over_time_with_bursts() {
    let mut c = quiet_config();
    c.orders_per_minute = 60.0;
    c.burst_probability = 0.5;
    c.burst_size = 5;
    let mut shop = Shop::new(c, T0);
    assert_eq!(shop.orders().count(), 0);
    shop.advance(T0 + 10 * 60_000);
    let n = shop.orders().count();
    // 600 arrivals expected, half of them bursts of 5: far more than one order per arrival.
    assert!(n > 900, "{n} orders after ten minutes");
}

#[test]
fn labels_only_for_shipped_tiktok_packages_and_expire() {
    let mut shop = Shop::new(quiet_config(), T0);
    let id = shop.create_order(OrderSpec {
        status: Some(OrderStatus::AwaitingShipment),
        shipping_type: Some(ShippingType::Tiktok),
        ..OrderSpec::default()
    });
    let pkg = shop
        .order(&id)
        .map(|o| o.package_ids[0].clone())
        .unwrap_or_default();
    assert_eq!(
        shop.issue_label(&pkg).err().map(|e| e.code),
        Some(codes::LABEL_NOT_AVAILABLE)
    );
    shop.ship_package(&pkg, &pickup()).expect("ship");
    let (token, tracking) = shop.issue_label(&pkg).expect("label");
    assert!(tracking.starts_with("TT"));
    assert!(shop.label(&token, T0).is_some());
    assert!(shop.label(&token, T0 + 24 * 3600 * 1000).is_none());
}

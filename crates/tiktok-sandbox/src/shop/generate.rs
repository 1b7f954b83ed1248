//! Making orders: random but seeded contents, multi-item, a mix of shipping types and start states.
use serde::{Deserialize, Serialize};

use super::model::{LineItem, Order, OrderStatus, Package, Recipient, ShippingType, Stage};
use super::{Event, Shop};

/// What kind of order to create. `status` may be UNPAID, ON_HOLD or AWAITING_SHIPMENT; anything else
/// is created as AWAITING_SHIPMENT. Unset fields are drawn from the seeded RNG.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderSpec {
    pub status: Option<OrderStatus>,
    pub shipping_type: Option<ShippingType>,
    pub line_items: Option<usize>,
    /// Schedule a buyer cancellation this many seconds after creation (overrides the random draw).
    pub cancel_after_secs: Option<i64>,
}

const PRODUCTS: [(&str, &str, i64); 8] = [
    ("Glow Serum 30ml", "30ml", 1899),
    ("Ring Light Mini", "Black", 2499),
    ("Phone Tripod Pro", "Standard", 1599),
    ("Silk Scrunchies (5)", "Pastel", 899),
    ("Lip Tint Duo", "Rose", 1199),
    ("LED Strip 5m", "RGB", 1999),
    ("Matcha Starter Kit", "Ceremonial", 2899),
    ("Oversized Hoodie", "M / Sage", 3499),
];
const NAMES: [&str; 8] = [
    "Amelia Hart",
    "Oliver Singh",
    "Isla Murphy",
    "Noah Okafor",
    "Ava Brennan",
    "Leo Novak",
    "Freya Campbell",
    "Arthur Patel",
];
const CITIES: [(&str, &str); 6] = [
    ("London", "E1 6AN"),
    ("Manchester", "M1 1AE"),
    ("Leeds", "LS1 4DY"),
    ("Bristol", "BS1 5TR"),
    ("Glasgow", "G1 3SL"),
    ("Cardiff", "CF10 1EP"),
];

impl Shop {
    pub(super) fn random_spec(&mut self) -> OrderSpec {
        let status = if self.rng.f64() < self.cfg.unpaid_share {
            Some(OrderStatus::Unpaid)
        } else {
            None // paid: pay() decides hold and cancellation from the config
        };
        OrderSpec {
            status,
            ..OrderSpec::default()
        }
    }

    /// Creates an order now (the shop's current time) and returns its id.
    pub fn create_order(&mut self, spec: OrderSpec) -> String {
        let now = self.now_ms;
        self.create_order_at(spec, now)
    }

    pub(super) fn create_order_at(&mut self, spec: OrderSpec, at_ms: i64) -> String {
        let t = at_ms.div_euclid(1000);
        let id = self.fresh_id();
        let shipping_type = spec.shipping_type.unwrap_or_else(|| {
            if self.rng.f64() < self.cfg.tiktok_shipping_share {
                ShippingType::Tiktok
            } else {
                ShippingType::Seller
            }
        });
        let max_items = self.cfg.max_line_items.max(1);
        let n_items = spec
            .line_items
            .unwrap_or_else(|| {
                // Most orders have one item; some have several (TikTok has no quantity field).
                if self.rng.f64() < 0.6 {
                    1
                } else {
                    self.rng.usize(1..=max_items)
                }
            })
            .max(1);
        let package_id = format!("11{}", &self.fresh_id()[2..]);
        let mut line_items = Vec::with_capacity(n_items);
        for _ in 0..n_items {
            let (name, sku, price) = PRODUCTS[self.rng.usize(0..PRODUCTS.len())];
            let discount = if self.rng.bool() { price / 10 } else { 0 };
            let li_id = format!("57{}", &self.fresh_id()[2..]);
            let product_idx = PRODUCTS.iter().position(|p| p.0 == name).unwrap_or(0);
            line_items.push(LineItem {
                id: li_id,
                sku_id: format!("17293{:014}", product_idx * 7 + 3),
                product_id: format!("17290{:014}", product_idx * 7 + 1),
                product_name: name.to_owned(),
                sku_name: sku.to_owned(),
                seller_sku: format!("CF-{:03}", product_idx + 1),
                original_price: price,
                sale_price: price - discount,
                package_id: package_id.clone(),
                cancel_reason: String::new(),
            });
        }
        let (city, postal) = CITIES[self.rng.usize(0..CITIES.len())];
        let name = NAMES[self.rng.usize(0..NAMES.len())];
        let recipient = Recipient {
            name: name.to_owned(),
            phone: format!("(+44)7*******{:02}", self.rng.u8(10..100)),
            line1: format!("{} High Street", self.rng.u16(1..300)),
            city: city.to_owned(),
            postal_code: postal.to_owned(),
        };
        let messages = [
            "",
            "",
            "",
            "Please gift wrap",
            "Leave with neighbour if out",
        ];
        let order = Order {
            id: id.clone(),
            status: OrderStatus::Unpaid,
            create_time: t,
            update_time: t,
            paid_time: None,
            user_id: format!("7{:018}", self.rng.u64(0..1_000_000_000_000_000_000)),
            buyer_message: messages[self.rng.usize(0..messages.len())].to_owned(),
            shipping_type,
            delivery_option_id: "7091146663229654785".to_owned(),
            package_ids: vec![package_id.clone()],
            line_items,
            shipping_fee: if self.rng.bool() { 0 } else { 299 },
            recipient,
            cancel_reason: String::new(),
            cancellation_initiator: String::new(),
            on_hold_until: None,
            warehouse_id: "7068517275539719942".to_owned(),
        };
        let li_ids = order.line_items.iter().map(|l| l.id.clone()).collect();
        self.packages.insert(
            package_id.clone(),
            Package {
                id: package_id,
                order_id: id.clone(),
                line_item_ids: li_ids,
                stage: Stage::ToFulfill,
                shipped_at: None,
                handover_method: None,
                tracking_number: String::new(),
                shipping_provider_id: String::new(),
                label_token: None,
            },
        );
        self.orders.insert(id.clone(), order);
        // A new order is news: push it as UNPAID first, like TikTok does.
        self.outbox.push(super::Notice {
            kind: 1,
            data: serde_json::json!({"order_id": id, "order_status": "UNPAID",
                                     "is_on_hold_order": false, "update_time": t}),
        });
        match spec.status {
            Some(OrderStatus::Unpaid) => {
                let after = self.rng.i64(1..=self.cfg.unpaid_resolve_secs.max(1)) * 1000;
                self.schedule(at_ms + after, Event::UnpaidResolve(id.clone()));
            }
            Some(OrderStatus::OnHold) => self.pay_with(&id, at_ms, true, None),
            Some(_) => self.pay_with(&id, at_ms, false, None),
            None if spec.cancel_after_secs.is_some() => self.pay_with(&id, at_ms, false, None),
            None => self.pay(&id, at_ms),
        }
        if let Some(secs) = spec.cancel_after_secs {
            self.schedule(at_ms + secs.max(0) * 1000, Event::BuyerCancel(id.clone()));
        }
        id
    }
}

//! The simulated shop: orders that arrive, pay or lapse, leave hold, get cancelled and travel after
//! ship. Everything is driven by `advance(now)` from the injected clock, so a manual clock replays the
//! same shop for the same seed.
mod fulfil;
mod generate;
pub mod model;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde_json::{Value, json};

use crate::config::SandboxConfig;
pub use fulfil::{SelfShipment, ShipFailure, ShipRequest};
pub use generate::OrderSpec;
use model::{Order, OrderStatus, Package, Stage};

/// Shipping providers offered for every delivery option: (id, name).
pub const PROVIDERS: [(&str, &str); 3] = [
    ("6617675021119438849", "Royal Mail"),
    ("6617675021119438850", "Evri"),
    ("6617675021119438851", "DPD"),
];

pub fn provider_name(id: &str) -> &'static str {
    PROVIDERS
        .iter()
        .find(|(pid, _)| *pid == id)
        .map(|(_, n)| *n)
        .unwrap_or("")
}

#[derive(Debug, Clone)]
enum Event {
    /// The generator's next arrival.
    Arrival,
    UnpaidResolve(String),
    HoldRelease(String),
    BuyerCancel(String),
    /// The buyer edits the delivery address before shipping.
    AddressUpdate(String),
    PackageStep(String),
}

/// A webhook the shop wants pushed: (type, data).
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: u32,
    pub data: Value,
}

pub struct Shop {
    pub(crate) cfg: SandboxConfig,
    orders: BTreeMap<String, Order>,
    packages: HashMap<String, Package>,
    events: BinaryHeap<Reverse<(i64, u64)>>,
    event_data: HashMap<u64, Event>,
    next_event: u64,
    rng: fastrand::Rng,
    next_id: u64,
    /// Webhooks waiting for the dispatcher.
    outbox: Vec<Notice>,
    /// Label documents by token: (package id, expires at ms).
    labels: HashMap<String, (String, i64)>,
    pub(crate) ship_calls: BTreeMap<String, u64>,
    pub(crate) duplicate_ships: u64,
    now_ms: i64,
}

impl Shop {
    pub fn new(cfg: SandboxConfig, now_ms: i64) -> Self {
        let rng = fastrand::Rng::with_seed(cfg.seed);
        let mut shop = Self {
            cfg,
            orders: BTreeMap::new(),
            packages: HashMap::new(),
            events: BinaryHeap::new(),
            event_data: HashMap::new(),
            next_event: 0,
            rng,
            // Order-like 18-digit ids; a counter keeps them unique and sortable by creation.
            next_id: 576_684_019_603_311_365,
            outbox: Vec::new(),
            labels: HashMap::new(),
            ship_calls: BTreeMap::new(),
            duplicate_ships: 0,
            now_ms,
        };
        // Initial orders are spread over the configured past (two days by default), created in time
        // order, and their lifecycle events that already fell due are replayed without webhooks
        // (history, not news).
        let n = shop.cfg.initial_orders;
        let start = now_ms - shop.cfg.initial_orders_span_secs.max(0) * 1000;
        let mut times: Vec<i64> = (0..n)
            .map(|_| shop.rng.i64(start..now_ms.max(start + 1)))
            .collect();
        times.sort_unstable();
        for t in times {
            shop.advance_quiet(t);
            let spec = shop.random_spec();
            shop.create_order_at(spec, t);
        }
        shop.advance_quiet(now_ms);
        shop.outbox.clear();
        if shop.cfg.orders_per_minute > 0.0 {
            let gap = shop.arrival_gap_ms();
            shop.schedule(now_ms + gap, Event::Arrival);
        }
        shop
    }

    fn advance_quiet(&mut self, t: i64) {
        self.advance(t);
        self.outbox.clear();
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn schedule(&mut self, at_ms: i64, ev: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.events.push(Reverse((at_ms, id)));
        self.event_data.insert(id, ev);
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1 + u64::from(self.rng.u8(0..16));
        self.next_id.to_string()
    }

    /// Applies every event due up to `now_ms`, in time order. Time never goes backwards for the shop.
    pub fn advance(&mut self, now_ms: i64) {
        while let Some(Reverse((at, id))) = self.events.peek().copied() {
            if at > now_ms {
                break;
            }
            self.events.pop();
            let Some(ev) = self.event_data.remove(&id) else {
                continue;
            };
            self.now_ms = self.now_ms.max(at);
            self.apply(ev, at);
        }
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn apply(&mut self, ev: Event, at_ms: i64) {
        let t = at_ms.div_euclid(1000);
        match ev {
            Event::Arrival => {
                let count = if self.rng.f64() < self.cfg.burst_probability {
                    self.cfg.burst_size.max(1)
                } else {
                    1
                };
                for _ in 0..count {
                    let spec = self.random_spec();
                    self.create_order_at(spec, at_ms);
                }
                let gap = self.arrival_gap_ms();
                self.schedule(at_ms + gap, Event::Arrival);
            }
            Event::UnpaidResolve(id) => {
                let lapse = self.rng.f64() < self.cfg.unpaid_lapse_probability;
                let Some(order) = self.orders.get(&id) else {
                    return;
                };
                if order.status != OrderStatus::Unpaid {
                    return;
                }
                if lapse {
                    self.cancel(&id, t, "Payment timeout", "SYSTEM");
                } else {
                    self.pay(&id, at_ms);
                }
            }
            Event::HoldRelease(id) => {
                if let Some(o) = self.orders.get_mut(&id)
                    && o.status == OrderStatus::OnHold
                {
                    o.on_hold_until = None;
                    self.set_status(&id, OrderStatus::AwaitingShipment, t);
                }
            }
            Event::BuyerCancel(id) => {
                let cancellable = self.orders.get(&id).is_some_and(|o| {
                    matches!(
                        o.status,
                        OrderStatus::OnHold | OrderStatus::AwaitingShipment
                    )
                });
                if cancellable {
                    self.cancel(&id, t, "No longer needed", "BUYER");
                    self.outbox.push(Notice {
                        kind: 11,
                        data: json!({"order_id": id, "cancellations_role": "BUYER",
                                     "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
                                     "cancel_id": format!("{}9", id), "create_time": t}),
                    });
                }
            }
            Event::AddressUpdate(id) => {
                let house = self.rng.u16(1..300);
                let Some(o) = self.orders.get_mut(&id) else {
                    return;
                };
                if !matches!(
                    o.status,
                    OrderStatus::OnHold | OrderStatus::AwaitingShipment
                ) {
                    return;
                }
                o.recipient.line1 = format!("{house} Station Road");
                o.update_time = o.update_time.max(t);
                let data = json!({"order_id": id, "update_time": o.update_time});
                self.outbox.push(Notice { kind: 3, data });
            }
            Event::PackageStep(pkg_id) => {
                let Some(p) = self.packages.get_mut(&pkg_id) else {
                    return;
                };
                let Some(next) = p.stage.next() else {
                    return;
                };
                p.stage = next;
                let order_id = p.order_id.clone();
                if next.next().is_some() {
                    let step = self.cfg.package_step_secs.max(1) * 1000;
                    self.schedule(at_ms + step, Event::PackageStep(pkg_id.clone()));
                }
                self.package_notice(&pkg_id, &order_id, t);
                self.refresh_order_status(&order_id, t);
            }
        }
    }

    /// Payment with the config's random hold and cancellation draws.
    fn pay(&mut self, id: &str, at_ms: i64) {
        let hold = self.rng.f64() < self.cfg.on_hold_share;
        let cancel = self.rng.f64() < self.cfg.cancel_probability;
        let cancel_after = self.rng.i64(0..=self.cfg.cancel_window_secs.max(0)) * 1000;
        if self.rng.f64() < self.cfg.address_update_probability {
            let after = self.rng.i64(0..=self.cfg.cancel_window_secs.max(0)) * 1000;
            self.schedule(at_ms + after, Event::AddressUpdate(id.to_owned()));
        }
        self.pay_with(id, at_ms, hold, cancel.then_some(cancel_after));
    }

    fn pay_with(&mut self, id: &str, at_ms: i64, hold: bool, cancel_after_ms: Option<i64>) {
        let t = at_ms.div_euclid(1000);
        let Some(o) = self.orders.get_mut(id) else {
            return;
        };
        o.paid_time = Some(t);
        if hold {
            let until = at_ms + self.cfg.on_hold_secs.max(0) * 1000;
            o.on_hold_until = Some(until.div_euclid(1000));
            self.set_status(id, OrderStatus::OnHold, t);
            self.schedule(until, Event::HoldRelease(id.to_owned()));
        } else {
            self.set_status(id, OrderStatus::AwaitingShipment, t);
        }
        if let Some(after) = cancel_after_ms {
            self.schedule(at_ms + after, Event::BuyerCancel(id.to_owned()));
        }
    }

    fn cancel(&mut self, id: &str, t: i64, reason: &str, initiator: &str) {
        let Some(o) = self.orders.get_mut(id) else {
            return;
        };
        o.cancel_reason = reason.to_owned();
        o.cancellation_initiator = initiator.to_owned();
        for li in &mut o.line_items {
            li.cancel_reason = reason.to_owned();
        }
        for pid in o.package_ids.clone() {
            if let Some(p) = self.packages.get_mut(&pid) {
                p.stage = Stage::Cancelled;
            }
        }
        self.set_status(id, OrderStatus::Cancelled, t);
    }

    fn set_status(&mut self, id: &str, status: OrderStatus, t: i64) {
        let Some(o) = self.orders.get_mut(id) else {
            return;
        };
        if o.status == status {
            return;
        }
        o.status = status;
        o.update_time = o.update_time.max(t);
        // TikTok's pushes name a cancellation either CANCEL or CANCELLED; send both so receivers must
        // accept both.
        let pushed = match status {
            OrderStatus::Cancelled if self.rng.bool() => "CANCEL",
            other => other.as_str(),
        };
        let data = json!({"order_id": id, "order_status": pushed,
                          "is_on_hold_order": status == OrderStatus::OnHold, "update_time": o.update_time});
        self.outbox.push(Notice { kind: 1, data });
    }

    /// The order follows its least advanced package once any has shipped.
    fn refresh_order_status(&mut self, order_id: &str, t: i64) {
        let Some(o) = self.orders.get(order_id) else {
            return;
        };
        if matches!(
            o.status,
            OrderStatus::Cancelled | OrderStatus::Unpaid | OrderStatus::OnHold
        ) {
            return;
        }
        let stages: Vec<Stage> = o
            .package_ids
            .iter()
            .filter_map(|p| self.packages.get(p).map(|p| p.stage))
            .filter(|s| *s != Stage::Cancelled)
            .collect();
        let Some(min) = stages.iter().min().copied() else {
            return;
        };
        let any_shipped = stages.iter().any(|s| *s > Stage::ToFulfill);
        let status = match min {
            Stage::ToFulfill if any_shipped => OrderStatus::PartiallyShipping,
            Stage::ToFulfill => OrderStatus::AwaitingShipment,
            Stage::AwaitingCollection => OrderStatus::AwaitingCollection,
            Stage::InTransit => OrderStatus::InTransit,
            Stage::Delivered => OrderStatus::Delivered,
            Stage::Completed | Stage::Cancelled => OrderStatus::Completed,
        };
        self.set_status(order_id, status, t);
    }

    fn package_notice(&mut self, pkg_id: &str, order_id: &str, t: i64) {
        self.outbox.push(Notice {
            kind: 4,
            data: json!({"sc_type": "PACKAGE_UPDATE", "role_type": "SELLER",
                         "package_list": [{"package_id": pkg_id, "order_id_list": [order_id]}],
                         "update_time": t}),
        });
    }

    fn arrival_gap_ms(&mut self) -> i64 {
        // Poisson arrivals: exponential gaps with the configured mean; bursts count as one arrival.
        let per_ms = self.cfg.orders_per_minute / 60_000.0;
        if per_ms <= 0.0 {
            return i64::MAX / 4;
        }
        let u = self.rng.f64().max(f64::MIN_POSITIVE);
        ((-u.ln() / per_ms) as i64).max(1)
    }

    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    pub fn package(&self, id: &str) -> Option<&Package> {
        self.packages.get(id)
    }

    pub fn order_json(&self, o: &Order) -> Value {
        o.to_json(&|pid: &str| self.packages.get(pid).cloned())
    }

    /// Queues a webhook that does not come from an order (e.g. SELLER_DEAUTHORIZATION).
    pub fn notify(&mut self, kind: u32, data: Value) {
        self.outbox.push(Notice { kind, data });
    }

    pub fn take_outbox(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.outbox)
    }

    pub fn orders_by_status(&self) -> BTreeMap<&'static str, u64> {
        let mut m: BTreeMap<&'static str, u64> = BTreeMap::new();
        for o in self.orders.values() {
            *m.entry(o.status.as_str()).or_default() += 1;
        }
        m
    }

    /// Resolves a label token to its package, if the token exists and has not expired.
    pub fn label(&self, token: &str, now_ms: i64) -> Option<&Package> {
        let (pkg, exp) = self.labels.get(token)?;
        if now_ms >= *exp {
            return None;
        }
        self.packages.get(pkg)
    }
}

#[cfg(test)]
mod tests;

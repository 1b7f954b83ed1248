//! Fulfillment rules: what may be shipped, by which shipping type, and what happens after.
use serde::Deserialize;

use super::model::{OrderStatus, Package, ShippingType, Stage};
use super::{Event, PROVIDERS, Shop};
use crate::codes;

/// Body of `POST /fulfillment/202309/packages/{id}/ship` (and one entry of the batch form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShipRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub handover_method: Option<String>,
    #[serde(default)]
    pub pickup_slot: Option<serde_json::Value>,
    #[serde(default)]
    pub self_shipment: Option<SelfShipment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SelfShipment {
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

/// A refusal with TikTok's code; the API layer puts it in the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipFailure {
    pub code: i64,
    pub message: String,
}

fn fail(code: i64, message: String) -> ShipFailure {
    ShipFailure { code, message }
}

impl Shop {
    /// Why this package's order cannot ship now, if it cannot.
    fn check_shippable(&self, pkg: &Package) -> Result<ShippingType, ShipFailure> {
        let order = self.orders.get(&pkg.order_id).ok_or_else(|| {
            fail(
                codes::ORDER_NOT_FOUND,
                format!("order {} not found", pkg.order_id),
            )
        })?;
        match order.status {
            OrderStatus::OnHold => Err(fail(
                codes::ORDER_ON_HOLD,
                format!("order {} is on hold and cannot be fulfilled yet", order.id),
            )),
            OrderStatus::Unpaid => Err(fail(
                codes::ORDER_UNPAID,
                format!("order {} is not paid", order.id),
            )),
            OrderStatus::Cancelled => Err(fail(
                codes::ORDER_CANCELLED,
                format!("order {} has been cancelled", order.id),
            )),
            _ if pkg.stage != Stage::ToFulfill => Err(fail(
                codes::PACKAGE_ALREADY_SHIPPED,
                format!("package {} has already been shipped", pkg.id),
            )),
            _ => Ok(order.shipping_type),
        }
    }

    /// Ships one package. Every call is counted per package; a repeat ship of a shipped package is a
    /// duplicate and is refused.
    pub fn ship_package(&mut self, pkg_id: &str, req: &ShipRequest) -> Result<(), ShipFailure> {
        *self.ship_calls.entry(pkg_id.to_owned()).or_default() += 1;
        let pkg = self.packages.get(pkg_id).ok_or_else(|| {
            fail(
                codes::PACKAGE_NOT_FOUND,
                format!("package {pkg_id} not found"),
            )
        })?;
        let shipping_type = match self.check_shippable(pkg) {
            Ok(t) => t,
            Err(e) => {
                if e.code == codes::PACKAGE_ALREADY_SHIPPED {
                    self.duplicate_ships += 1;
                }
                return Err(e);
            }
        };
        let (tracking, provider, stage, handover) = match shipping_type {
            ShippingType::Tiktok => {
                if req.self_shipment.is_some() {
                    return Err(fail(
                        codes::SHIPPING_TYPE_MISMATCH,
                        format!(
                            "package {pkg_id} ships with TIKTOK shipping; self_shipment is not allowed"
                        ),
                    ));
                }
                let handover = match req.handover_method.as_deref() {
                    Some(m @ ("PICKUP" | "DROP_OFF")) => m.to_owned(),
                    other => {
                        return Err(fail(
                            codes::INVALID_REQUEST,
                            format!("handover_method {other:?} must be PICKUP or DROP_OFF"),
                        ));
                    }
                };
                let n = self.rng.u64(100_000_000..1_000_000_000);
                let provider = PROVIDERS[self.rng.usize(0..PROVIDERS.len())].0;
                (
                    format!("TT{n}GB"),
                    provider.to_owned(),
                    Stage::AwaitingCollection,
                    Some(handover),
                )
            }
            ShippingType::Seller => {
                let Some(s) = &req.self_shipment else {
                    return Err(fail(
                        codes::SHIPPING_TYPE_MISMATCH,
                        format!(
                            "package {pkg_id} ships with SELLER shipping; self_shipment is required"
                        ),
                    ));
                };
                check_tracking(&s.tracking_number, &s.shipping_provider_id)?;
                (
                    s.tracking_number.clone(),
                    s.shipping_provider_id.clone(),
                    Stage::InTransit,
                    None,
                )
            }
        };
        self.finish_ship(pkg_id, tracking, provider, stage, handover);
        Ok(())
    }

    fn finish_ship(
        &mut self,
        pkg_id: &str,
        tracking: String,
        provider: String,
        stage: Stage,
        handover: Option<String>,
    ) {
        let now = self.now_ms;
        let t = now.div_euclid(1000);
        let Some(p) = self.packages.get_mut(pkg_id) else {
            return;
        };
        p.stage = stage;
        p.shipped_at = Some(t);
        p.tracking_number = tracking;
        p.shipping_provider_id = provider;
        p.handover_method = handover;
        let order_id = p.order_id.clone();
        let step = self.cfg.package_step_secs.max(1) * 1000;
        self.schedule(now + step, Event::PackageStep(pkg_id.to_owned()));
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.update_time = o.update_time.max(t);
        }
        self.package_notice(pkg_id, &order_id, t);
        self.refresh_order_status(&order_id, t);
    }

    /// `POST /fulfillment/202309/orders/{order_id}/packages`: SELLER shipping marks the given line items
    /// shipped with the seller's carrier. A subset splits them into a new package.
    pub fn mark_shipped(
        &mut self,
        order_id: &str,
        tracking: &str,
        provider: &str,
        line_item_ids: &[String],
    ) -> Result<(String, Vec<String>), ShipFailure> {
        check_tracking(tracking, provider)?;
        let order = self.orders.get(order_id).ok_or_else(|| {
            fail(
                codes::ORDER_NOT_FOUND,
                format!("order {order_id} not found"),
            )
        })?;
        if order.shipping_type != ShippingType::Seller {
            return Err(fail(
                codes::SHIPPING_TYPE_MISMATCH,
                format!("order {order_id} uses TIKTOK shipping; ship its package instead"),
            ));
        }
        let all: Vec<String> = order.line_items.iter().map(|l| l.id.clone()).collect();
        let ids: Vec<String> = if line_item_ids.is_empty() {
            all.clone()
        } else {
            line_item_ids.to_vec()
        };
        if let Some(bad) = ids.iter().find(|id| !all.contains(id)) {
            return Err(fail(
                codes::INVALID_REQUEST,
                format!("line item {bad} does not belong to order {order_id}"),
            ));
        }
        // The package currently holding the first item decides; all items must share it.
        let first_pkg = order
            .line_items
            .iter()
            .find(|l| ids.first() == Some(&l.id))
            .map(|l| l.package_id.clone())
            .unwrap_or_default();
        let pkg = self
            .packages
            .get(&first_pkg)
            .ok_or_else(|| {
                fail(
                    codes::PACKAGE_NOT_FOUND,
                    format!("package {first_pkg} not found"),
                )
            })?
            .clone();
        *self.ship_calls.entry(pkg.id.clone()).or_default() += 1;
        if let Err(e) = self.check_shippable(&pkg) {
            if e.code == codes::PACKAGE_ALREADY_SHIPPED {
                self.duplicate_ships += 1;
            }
            return Err(e);
        }
        if let Some(bad) = ids.iter().find(|id| !pkg.line_item_ids.contains(id)) {
            return Err(fail(
                codes::PACKAGE_ALREADY_SHIPPED,
                format!("line item {bad} is not in unshipped package {}", pkg.id),
            ));
        }
        let target = if ids.len() == pkg.line_item_ids.len() {
            pkg.id.clone()
        } else {
            // Split: the shipped items move to a new package.
            let new_id = format!("11{}", &self.fresh_id()[2..]);
            if let Some(old) = self.packages.get_mut(&pkg.id) {
                old.line_item_ids.retain(|l| !ids.contains(l));
            }
            self.packages.insert(
                new_id.clone(),
                Package {
                    id: new_id.clone(),
                    line_item_ids: ids.clone(),
                    ..pkg.clone()
                },
            );
            if let Some(o) = self.orders.get_mut(order_id) {
                o.package_ids.push(new_id.clone());
                for li in o.line_items.iter_mut().filter(|l| ids.contains(&l.id)) {
                    li.package_id = new_id.clone();
                }
            }
            new_id
        };
        self.finish_ship(
            &target,
            tracking.to_owned(),
            provider.to_owned(),
            Stage::InTransit,
            None,
        );
        Ok((target, ids))
    }

    /// `POST /fulfillment/202309/orders/{order_id}/shipping_info/update`: only within 72 h of shipping.
    pub fn update_shipping_info(
        &mut self,
        order_id: &str,
        tracking: &str,
        provider: &str,
    ) -> Result<(), ShipFailure> {
        check_tracking(tracking, provider)?;
        let now = self.now_ms.div_euclid(1000);
        let order = self.orders.get(order_id).ok_or_else(|| {
            fail(
                codes::ORDER_NOT_FOUND,
                format!("order {order_id} not found"),
            )
        })?;
        let shipped: Vec<String> = order
            .package_ids
            .iter()
            .filter(|p| {
                self.packages
                    .get(*p)
                    .is_some_and(|p| p.shipped_at.is_some())
            })
            .cloned()
            .collect();
        if shipped.is_empty() {
            return Err(fail(
                codes::INVALID_REQUEST,
                format!("order {order_id} has no shipped package to update"),
            ));
        }
        for pid in shipped {
            if let Some(p) = self.packages.get_mut(&pid) {
                if p.shipped_at.is_some_and(|s| now - s > 72 * 3600) {
                    return Err(fail(
                        codes::TRACKING_UPDATE_REFUSED,
                        format!("package {pid} shipped more than 72 hours ago"),
                    ));
                }
                p.tracking_number = tracking.to_owned();
                p.shipping_provider_id = provider.to_owned();
            }
        }
        if let Some(o) = self.orders.get_mut(order_id) {
            o.update_time = o.update_time.max(now);
        }
        Ok(())
    }

    /// Issues a label document for a shipped TIKTOK-shipping package: (token, tracking number).
    pub fn issue_label(&mut self, pkg_id: &str) -> Result<(String, String), ShipFailure> {
        let pkg = self.packages.get(pkg_id).ok_or_else(|| {
            fail(
                codes::PACKAGE_NOT_FOUND,
                format!("package {pkg_id} not found"),
            )
        })?;
        let shipping_type = self.orders.get(&pkg.order_id).map(|o| o.shipping_type);
        if shipping_type != Some(ShippingType::Tiktok) {
            return Err(fail(
                codes::LABEL_NOT_AVAILABLE,
                format!("package {pkg_id} uses SELLER shipping; there is no TikTok label"),
            ));
        }
        if pkg.shipped_at.is_none() {
            return Err(fail(
                codes::LABEL_NOT_AVAILABLE,
                format!("package {pkg_id} has not been shipped; ship it before asking for a label"),
            ));
        }
        let tracking = pkg.tracking_number.clone();
        let token: String = (0..32)
            .map(|_| char::from_digit(u32::from(self.rng.u8(0..16)), 16).unwrap_or('0'))
            .collect();
        // doc_url is valid for 24 h.
        let exp = self.now_ms + 24 * 3600 * 1000;
        self.labels.insert(token.clone(), (pkg_id.to_owned(), exp));
        if let Some(p) = self.packages.get_mut(pkg_id) {
            p.label_token = Some(token.clone());
        }
        Ok((token, tracking))
    }
}

fn check_tracking(tracking: &str, provider: &str) -> Result<(), ShipFailure> {
    if tracking.trim().is_empty() || tracking.len() > 64 {
        return Err(fail(
            codes::INVALID_REQUEST,
            format!("tracking_number {tracking:?} must be 1 to 64 characters"),
        ));
    }
    if !PROVIDERS.iter().any(|(id, _)| *id == provider) {
        return Err(fail(
            codes::INVALID_REQUEST,
            format!("shipping_provider_id {provider:?} is not a provider of this delivery option"),
        ));
    }
    Ok(())
}

//! Fulfillment and logistics endpoints over the shop's rules.
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, Reply, json_body, param};
use crate::codes;
use crate::shop::{PROVIDERS, ShipFailure, ShipRequest};

/// Business refusals come back as HTTP 200 with a non-zero code; a missing object is a 404.
fn refusal(f: ShipFailure) -> Reply {
    let status = if matches!(f.code, codes::PACKAGE_NOT_FOUND | codes::ORDER_NOT_FOUND) {
        StatusCode::NOT_FOUND
    } else if f.code == codes::INVALID_REQUEST {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Reply::err(status, f.code, f.message)
}

pub(super) fn ship(call: &Call<'_>, pkg_id: &str) -> Result<Value, Reply> {
    let req: ShipRequest = json_body(&call.body)?;
    if req.id.as_deref().is_some_and(|id| id != pkg_id) {
        return Err(Reply::bad(format!(
            "body id {:?} differs from package {pkg_id} in the path",
            req.id
        )));
    }
    call.state
        .shop_now()
        .ship_package(pkg_id, &req)
        .map_err(refusal)?;
    Ok(json!({}))
}

#[derive(Debug, Default, Deserialize)]
struct BatchBody {
    #[serde(default)]
    packages: Vec<ShipRequest>,
}

pub(super) fn batch_ship(call: &Call<'_>) -> Result<Value, Reply> {
    let body: BatchBody = json_body(&call.body)?;
    if body.packages.is_empty() || body.packages.len() > 50 {
        return Err(Reply::bad(format!(
            "packages has {} entries; 1 to 50 are allowed",
            body.packages.len()
        )));
    }
    let mut shop = call.state.shop_now();
    let mut errors = Vec::new();
    for req in &body.packages {
        let Some(id) = req.id.clone() else {
            errors.push(json!({"code": codes::INVALID_REQUEST, "message": "package id is missing", "detail": {"package_id": ""}}));
            continue;
        };
        if let Err(f) = shop.ship_package(&id, req) {
            errors
                .push(json!({"code": f.code, "message": f.message, "detail": {"package_id": id}}));
        }
    }
    Ok(json!({"errors": errors}))
}

#[derive(Debug, Default, Deserialize)]
struct MarkBody {
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    shipping_provider_id: String,
    #[serde(default)]
    order_line_item_ids: Vec<String>,
}

pub(super) fn order_packages(call: &Call<'_>, order_id: &str) -> Result<Value, Reply> {
    let body: MarkBody = json_body(&call.body)?;
    let (pkg, items) = call
        .state
        .shop_now()
        .mark_shipped(
            order_id,
            &body.tracking_number,
            &body.shipping_provider_id,
            &body.order_line_item_ids,
        )
        .map_err(refusal)?;
    Ok(json!({"order_id": order_id, "order_line_item_ids": items, "package_id": pkg}))
}

pub(super) fn shipping_info_update(call: &Call<'_>, order_id: &str) -> Result<Value, Reply> {
    let body: MarkBody = json_body(&call.body)?;
    call.state
        .shop_now()
        .update_shipping_info(order_id, &body.tracking_number, &body.shipping_provider_id)
        .map_err(refusal)?;
    Ok(json!({}))
}

pub(super) fn package_detail(call: &Call<'_>, pkg_id: &str) -> Result<Value, Reply> {
    let shop = call.state.shop_now();
    let p = shop.package(pkg_id).ok_or_else(|| {
        refusal(ShipFailure {
            code: codes::PACKAGE_NOT_FOUND,
            message: format!("package {pkg_id} not found"),
        })
    })?;
    Ok(json!({
        "package_id": p.id,
        "package_status": p.stage.package_status(),
        "tracking_number": p.tracking_number,
        "shipping_provider_id": p.shipping_provider_id,
        "shipping_provider_name": crate::shop::provider_name(&p.shipping_provider_id),
        "handover_method": p.handover_method.clone().unwrap_or_default(),
        "shipped_time": p.shipped_at.unwrap_or(0),
        "orders": [{"id": p.order_id, "skus": p.line_item_ids.iter().map(|l| json!({"id": l})).collect::<Vec<_>>()}],
    }))
}

pub(super) fn shipping_document(call: &Call<'_>, pkg_id: &str) -> Result<Value, Reply> {
    let p = &call.params;
    match param(p, "document_type") {
        Some("SHIPPING_LABEL" | "PACKING_SLIP" | "SHIPPING_LABEL_AND_PACKING_SLIP") => {}
        other => {
            return Err(Reply::bad(format!(
                "document_type {} must be SHIPPING_LABEL, PACKING_SLIP or SHIPPING_LABEL_AND_PACKING_SLIP",
                other.unwrap_or("(missing)")
            )));
        }
    }
    if let Some(s) = param(p, "document_size")
        && !matches!(s, "A6" | "A5")
    {
        return Err(Reply::bad(format!("document_size {s} must be A6 or A5")));
    }
    if let Some(f) = param(p, "document_format")
        && f != "PDF"
    {
        return Err(Reply::bad(format!(
            "document_format {f} is not supported (PDF only)"
        )));
    }
    let (token, tracking) = call.state.shop_now().issue_label(pkg_id).map_err(refusal)?;
    let doc_url = format!("{}/sandbox/labels/{token}.pdf", call.state.document_base_url);
    Ok(json!({"doc_url": doc_url, "tracking_number": tracking}))
}

pub(super) fn shipping_providers(_call: &Call<'_>, option_id: &str) -> Result<Value, Reply> {
    if option_id.parse::<u64>().is_err() {
        return Err(Reply::bad(format!(
            "delivery_option_id {option_id} is not valid"
        )));
    }
    let providers: Vec<Value> = PROVIDERS
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    Ok(json!({"shipping_providers": providers}))
}

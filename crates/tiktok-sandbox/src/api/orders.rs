//! Order search (token paging over a keyset, so orders arriving mid-walk never shift a page) and detail.
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, Reply, json_body, param};
use crate::shop::model::{Order, OrderStatus, ShippingType};

/// The search body filters TikTok documents; unknown fields are refused so a typo is not silently a
/// no-op filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Filters {
    order_status: Option<String>,
    create_time_ge: Option<i64>,
    create_time_lt: Option<i64>,
    update_time_ge: Option<i64>,
    update_time_lt: Option<i64>,
    shipping_type: Option<String>,
    buyer_user_id: Option<String>,
    is_buyer_request_cancel: Option<bool>,
}

#[derive(Clone, Copy, PartialEq)]
enum SortField {
    Create,
    Update,
}

fn key(o: &Order, f: SortField) -> (i64, u64) {
    let v = match f {
        SortField::Create => o.create_time,
        SortField::Update => o.update_time,
    };
    (v, o.id.parse::<u64>().unwrap_or(0))
}

fn encode_token(f: SortField, desc: bool, k: (i64, u64)) -> String {
    let raw = format!(
        "v1|{}|{}|{}|{}",
        if f == SortField::Create { "c" } else { "u" },
        if desc { "d" } else { "a" },
        k.0,
        k.1
    );
    hex::encode(raw)
}

fn decode_token(token: &str, f: SortField, desc: bool) -> Result<(i64, u64), Reply> {
    let bad = || Reply::bad(format!("page_token {token} is not valid for this query"));
    let raw = hex::decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = raw.split('|').collect();
    let want_f = if f == SortField::Create { "c" } else { "u" };
    let want_o = if desc { "d" } else { "a" };
    match parts.as_slice() {
        ["v1", pf, po, v, id] if *pf == want_f && *po == want_o => {
            let v = v.parse::<i64>().map_err(|_| bad())?;
            let id = id.parse::<u64>().map_err(|_| bad())?;
            Ok((v, id))
        }
        _ => Err(bad()),
    }
}

fn matches(o: &Order, f: &Filters, status: Option<OrderStatus>, st: Option<ShippingType>) -> bool {
    status.is_none_or(|s| o.status == s)
        && st.is_none_or(|s| o.shipping_type == s)
        && f.create_time_ge.is_none_or(|t| o.create_time >= t)
        && f.create_time_lt.is_none_or(|t| o.create_time < t)
        && f.update_time_ge.is_none_or(|t| o.update_time >= t)
        && f.update_time_lt.is_none_or(|t| o.update_time < t)
        && f.buyer_user_id.as_ref().is_none_or(|u| &o.user_id == u)
        && f.is_buyer_request_cancel
            .is_none_or(|c| (o.cancellation_initiator == "BUYER") == c)
}

pub(super) fn search(call: &Call<'_>) -> Result<Value, Reply> {
    let p = &call.params;
    let page_size = match param(p, "page_size") {
        None => return Err(Reply::bad("page_size is required")),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(Reply::bad(format!(
                    "page_size {s} must be between 1 and 100"
                )));
            }
        },
    };
    let field = match param(p, "sort_field").unwrap_or("create_time") {
        "create_time" => SortField::Create,
        "update_time" => SortField::Update,
        other => {
            return Err(Reply::bad(format!(
                "sort_field {other} must be create_time or update_time"
            )));
        }
    };
    let desc = match param(p, "sort_order").unwrap_or("DESC") {
        "DESC" => true,
        "ASC" => false,
        other => {
            return Err(Reply::bad(format!(
                "sort_order {other} must be ASC or DESC"
            )));
        }
    };
    let cursor = match param(p, "page_token") {
        Some(t) if !t.is_empty() => Some(decode_token(t, field, desc)?),
        _ => None,
    };
    let filters: Filters = json_body(&call.body)?;
    let status = match &filters.order_status {
        Some(s) => Some(
            OrderStatus::parse(s)
                .ok_or_else(|| Reply::bad(format!("order_status {s} is not a known status")))?,
        ),
        None => None,
    };
    let st = match &filters.shipping_type {
        Some(s) => Some(
            ShippingType::parse(s)
                .ok_or_else(|| Reply::bad(format!("shipping_type {s} must be TIKTOK or SELLER")))?,
        ),
        None => None,
    };
    let shop = call.state.shop_now();
    // One pass counts every match and keeps those past the cursor with their keys; only the page
    // (found in linear time) is sorted. Sorting every match on every page made a 10,000-order
    // backfill's hundred pages cost a million key comparisons each.
    let mut total = 0;
    let mut after: Vec<((i64, u64), &Order)> = Vec::new();
    for o in shop.orders().filter(|o| matches(o, &filters, status, st)) {
        total += 1;
        let k = key(o, field);
        if cursor.is_none_or(|c| if desc { k < c } else { k > c }) {
            after.push((k, o));
        }
    }
    let order = |a: &((i64, u64), &Order), b: &((i64, u64), &Order)| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) };
    let more = after.len() > page_size;
    if more {
        after.select_nth_unstable_by(page_size, order);
        after.truncate(page_size);
    }
    // Keys are unique (the order id breaks ties), so an unstable sort is exact.
    after.sort_unstable_by(order);
    let next = match after.last() {
        Some((k, _)) if more => encode_token(field, desc, *k),
        _ => String::new(),
    };
    let page: Vec<&Order> = after.into_iter().map(|(_, o)| o).collect();
    let orders: Vec<Value> = page.iter().map(|o| shop.order_json(o)).collect();
    Ok(json!({"next_page_token": next, "total_count": total, "orders": orders}))
}

pub(super) fn detail(call: &Call<'_>) -> Result<Value, Reply> {
    let raw = param(&call.params, "ids").unwrap_or("");
    let ids: Vec<&str> = raw.split(',').filter(|s| !s.is_empty()).collect();
    if ids.is_empty() {
        return Err(Reply::bad("ids is required"));
    }
    if ids.len() > 50 {
        return Err(Reply::bad(format!(
            "ids has {} order ids; at most 50 are allowed",
            ids.len()
        )));
    }
    if let Some(bad) = ids.iter().find(|id| id.parse::<u64>().is_err()) {
        return Err(Reply::bad(format!("order id {bad} is not a valid id")));
    }
    let shop = call.state.shop_now();
    // Unknown ids are left out, as TikTok does for ids of other shops.
    let orders: Vec<Value> = ids
        .iter()
        .filter_map(|id| shop.order(id))
        .map(|o| shop.order_json(o))
        .collect();
    Ok(json!({"orders": orders}))
}

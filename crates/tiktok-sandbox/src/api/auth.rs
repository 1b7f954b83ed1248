//! Auth host (token get/refresh), the OAuth authorize stand-in, shops, webhook registration and the
//! label documents behind `doc_url`.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, Reply, html, json_body, param, parse_query};
use crate::codes;
use crate::state::{AppState, lock};
use crate::webhook::{EVENT_TYPES, check_loopback_url};

pub(super) fn shops(call: &Call<'_>) -> Result<Value, Reply> {
    let c = &call.state.cfg;
    Ok(json!({"shops": [{
        "cipher": c.shop_cipher, "code": c.shop_code, "id": c.shop_id,
        "name": c.shop_name, "region": c.shop_region, "seller_type": "LOCAL",
    }]}))
}

/// `GET /seller/202309/shops` (active shops): seller-scoped, so no shop_cipher.
pub(super) fn seller_shops(call: &Call<'_>) -> Result<Value, Reply> {
    let c = &call.state.cfg;
    Ok(json!({"shops": [{"id": c.shop_id, "region": c.shop_region}]}))
}

/// Checks app_key/app_secret and grant_type of an (unsigned) auth-host call.
fn app_credentials(call: &Call<'_>, grant: &str) -> Result<(), Reply> {
    let c = &call.state.cfg;
    let p = &call.params;
    if param(p, "app_key") != Some(c.app_key.as_str()) {
        return Err(Reply::bad(format!(
            "app_key {} is not valid",
            param(p, "app_key").unwrap_or("(missing)")
        )));
    }
    // Never echo a secret, even a wrong one.
    if param(p, "app_secret") != Some(c.app_secret.as_str()) {
        return Err(Reply::bad("app_secret is not valid for this app_key"));
    }
    if param(p, "grant_type") != Some(grant) {
        return Err(Reply::bad(format!(
            "grant_type {} must be {grant}",
            param(p, "grant_type").unwrap_or("(missing)")
        )));
    }
    Ok(())
}

fn issue_tokens(call: &Call<'_>) -> Value {
    let st = call.state;
    let c = &st.cfg;
    let now = st.clock.now_secs();
    let mut t = lock(&st.tokens);
    let access = t.fresh("ROW_at_");
    let refresh = t.fresh("ROW_rt_");
    let a_exp = now + c.access_token_ttl_secs;
    let r_exp = now + c.refresh_token_ttl_secs;
    t.access.insert(access.clone(), a_exp);
    t.refresh.insert(refresh.clone(), r_exp);
    drop(t);
    lock(&st.stats).tokens_issued += 1;
    json!({
        "access_token": access, "access_token_expire_in": a_exp,
        "refresh_token": refresh, "refresh_token_expire_in": r_exp,
        "open_id": c.open_id, "seller_name": c.seller_name, "seller_base_region": c.shop_region,
        "user_type": 0,
        "granted_scopes": ["seller.order.info", "seller.fulfillment.basic", "seller.logistics",
                           "seller.authorization.info"],
    })
}

pub(super) fn token_get(call: &Call<'_>) -> Result<Value, Reply> {
    app_credentials(call, "authorized_code")?;
    let code = param(&call.params, "auth_code").unwrap_or("");
    let now = call.state.clock.now_secs();
    // Single use: the code is removed whether or not it is still fresh.
    let exp = lock(&call.state.tokens).codes.remove(code);
    match exp {
        Some(exp) if now < exp => Ok(issue_tokens(call)),
        Some(_) => Err(Reply::err(
            StatusCode::OK,
            codes::AUTH_CODE_INVALID,
            "auth_code has expired",
        )),
        None => Err(Reply::err(
            StatusCode::OK,
            codes::AUTH_CODE_INVALID,
            "auth_code is invalid or was already used",
        )),
    }
}

/// Refresh rotates: the old refresh token stops working and a new one is returned (TikTok leaves this
/// unconfirmed, so the sandbox takes the strict reading: a client must store what it gets). Access
/// tokens issued earlier stay valid until they expire.
pub(super) fn token_refresh(call: &Call<'_>) -> Result<Value, Reply> {
    app_credentials(call, "refresh_token")?;
    let rt = param(&call.params, "refresh_token").unwrap_or("");
    let now = call.state.clock.now_secs();
    let exp = lock(&call.state.tokens).refresh.get(rt).copied();
    match exp {
        None => Err(Reply::err(
            StatusCode::OK,
            codes::NO_AUTH_RECORD,
            "no authorization record for this refresh token",
        )),
        Some(exp) if now >= exp => Err(Reply::err(
            StatusCode::OK,
            codes::REFRESH_TOKEN_EXPIRED,
            format!("refresh token expired at {exp}"),
        )),
        Some(_) => {
            lock(&call.state.tokens).refresh.remove(rt);
            lock(&call.state.stats).token_refreshes += 1;
            Ok(issue_tokens(call))
        }
    }
}

fn event_type_name(s: &str) -> Result<&'static str, Reply> {
    EVENT_TYPES
        .iter()
        .find(|(_, n)| *n == s)
        .map(|(_, n)| *n)
        .ok_or_else(|| Reply::bad(format!("event_type {s} is not a known webhook event type")))
}

pub(super) fn webhooks_get(call: &Call<'_>) -> Result<Value, Reply> {
    let w = lock(&call.state.webhooks);
    let list: Vec<Value> = w
        .subscriptions
        .iter()
        .map(|(t, a)| json!({"event_type": t, "address": a}))
        .collect();
    Ok(json!({"webhooks": list}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    address: String,
}

pub(super) fn webhooks_put(call: &Call<'_>) -> Result<Value, Reply> {
    let b: WebhookBody = json_body(&call.body)?;
    let t = event_type_name(&b.event_type)?;
    // The sandbox only pushes to this machine (TikTok would require public https).
    check_loopback_url(&b.address).map_err(|e| Reply::bad(e.to_string()))?;
    lock(&call.state.webhooks)
        .subscriptions
        .insert(t.to_owned(), b.address);
    Ok(json!({}))
}

pub(super) fn webhooks_delete(call: &Call<'_>) -> Result<Value, Reply> {
    let b: WebhookBody = json_body(&call.body)?;
    let t = event_type_name(&b.event_type)?;
    lock(&call.state.webhooks).subscriptions.remove(t);
    Ok(json!({}))
}

/// `GET /sandbox/oauth/authorize?app_key&redirect_uri&state[&deny=1]`: what TikTok's authorization
/// page does once the seller clicks, without the page. Codes are single use and live 30 minutes.
pub(crate) async fn authorize(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match parse_query(&uri) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    if param(&params, "app_key") != Some(state.cfg.app_key.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown app_key").into_response();
    }
    let Some(redirect) = param(&params, "redirect_uri")
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri must be an http(s) url",
        )
            .into_response();
    };
    let st = param(&params, "state").unwrap_or("");
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let mut q = form_urlencoded::Serializer::new(String::new());
    if param(&params, "deny") == Some("1") {
        q.append_pair("error", "auth_denied");
    } else {
        let mut t = lock(&state.tokens);
        let code = t.fresh("ROW_code_");
        t.codes
            .insert(code.clone(), state.clock.now_secs() + 30 * 60);
        q.append_pair("code", &code);
    }
    q.append_pair("state", st);
    let location = format!("{redirect}{sep}{}", q.finish());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The document behind a `doc_url`: a real one-page PDF, valid 24 h from issue.
pub(crate) async fn label(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
) -> Response {
    let Some(token) = file.strip_suffix(".pdf") else {
        return html(StatusCode::NOT_FOUND, "<html><body>not found</body></html>");
    };
    let now = state.now_ms();
    if lock(&state.faults).document_outages.iter().any(|w| w.contains(now)) {
        lock(&state.stats).fault("document_outage");
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
        );
    }
    let doc = {
        let shop = state.shop_now();
        shop.label(token, now).and_then(|p| {
            shop.order(&p.order_id)
                .map(|o| crate::pdf::label_pdf(p, o, &state.cfg.shop_name))
        })
    };
    match doc {
        Some(bytes) => {
            lock(&state.stats).labels_served += 1;
            ([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response()
        }
        None => html(
            StatusCode::NOT_FOUND,
            "<html><body>document expired or unknown</body></html>",
        ),
    }
}

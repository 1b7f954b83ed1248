//! The sandbox's gateway rules, search, detail, tokens, OAuth and admin, over real HTTP with a spec-signing client.
mod common;

use std::collections::HashSet;

use common::{Req, quiet_config, start};
use tiktok_sandbox::{OrderSpec, codes};

const SEARCH: &str = "/order/202309/orders/search";
const DETAIL: &str = "/order/202309/orders";
const SHOPS: &str = "/authorization/202309/shops";

#[tokio::test]
async fn search_pages_with_tokens_and_validates_page_size() {
    let mut c = quiet_config();
    c.initial_orders = 120;
    let h = start(c).await;
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    let mut last_create = i64::MAX;
    loop {
        let mut r = Req::new("POST", SEARCH).q("page_size", "50").body("{}");
        if !token.is_empty() {
            r = r.q("page_token", &token);
        }
        let resp = h.send(r).await;
        assert_eq!((resp.status, resp.code()), (200, 0), "{}", resp.text);
        let data = &resp.json["data"];
        // The order created after page one counts in total_count but sorts before the cursor.
        assert_eq!(data["total_count"], if pages == 0 { 120 } else { 121 });
        for o in data["orders"].as_array().expect("orders") {
            let ct = o["create_time"].as_i64().expect("create_time");
            assert!(ct <= last_create, "default order is create_time DESC");
            last_create = ct;
            assert!(
                seen.insert(o["id"].as_str().expect("id").to_owned()),
                "no repeats"
            );
        }
        // New orders arriving mid-walk must not shift later pages.
        if pages == 0 {
            h.sb.create_order(OrderSpec::default());
        }
        pages += 1;
        token = data["next_page_token"].as_str().expect("token").to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((pages, seen.len()), (3, 120));

    for bad in ["0", "101", "ten"] {
        let r = h.send(Req::new("POST", SEARCH).q("page_size", bad)).await;
        assert_eq!(
            (r.status, r.code()),
            (400, codes::INVALID_REQUEST),
            "page_size={bad}"
        );
    }
    let r = h.send(Req::new("POST", SEARCH)).await;
    assert_eq!(r.code(), codes::INVALID_REQUEST, "page_size is required");
    let r = h
        .send(
            Req::new("POST", SEARCH)
                .q("page_size", "10")
                .q("page_token", "garbage"),
        )
        .await;
    assert_eq!(r.code(), codes::INVALID_REQUEST);
    // Filters: status and shipping type; unknown filter fields are refused.
    let r = h
        .send(
            Req::new("POST", SEARCH)
                .q("page_size", "100")
                .body(r#"{"order_status":"AWAITING_SHIPMENT","shipping_type":"SELLER"}"#),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    for o in r.json["data"]["orders"].as_array().expect("orders") {
        assert_eq!(
            (o["status"].as_str(), o["shipping_type"].as_str()),
            (Some("AWAITING_SHIPMENT"), Some("SELLER"))
        );
    }
    let r = h
        .send(
            Req::new("POST", SEARCH)
                .q("page_size", "5")
                .body(r#"{"status":"X"}"#),
        )
        .await;
    assert_eq!(r.code(), codes::INVALID_REQUEST);
}

#[tokio::test]
async fn detail_takes_at_most_50_ids() {
    let mut c = quiet_config();
    c.initial_orders = 60;
    let h = start(c).await;
    let s = h
        .send(Req::new("POST", SEARCH).q("page_size", "100").body("{}"))
        .await;
    let ids: Vec<String> = s.json["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 60);
    let fifty = ids[..50].join(",");
    let r = h.send(Req::new("GET", DETAIL).q("ids", &fifty)).await;
    assert_eq!(r.code(), 0, "{}", r.text);
    assert_eq!(r.json["data"]["orders"].as_array().map(Vec::len), Some(50));
    let o = &r.json["data"]["orders"][0];
    assert!(
        o["payment"]["total_amount"].is_string(),
        "money is a decimal string"
    );
    assert!(o["line_items"].as_array().is_some_and(|l| !l.is_empty()));
    let fifty_one = ids[..51].join(",");
    let r = h.send(Req::new("GET", DETAIL).q("ids", &fifty_one)).await;
    assert_eq!((r.status, r.code()), (400, codes::INVALID_REQUEST));
    assert!(
        r.json["message"].as_str().unwrap_or("").contains("51"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn signature_timestamp_and_cipher_rules() {
    let h = start(quiet_config()).await;
    let mut r = Req::new("POST", SEARCH).q("page_size", "10");
    r.bad_sign = true;
    let r = h.send(r).await;
    assert_eq!((r.status, r.code()), (401, codes::INVALID_SIGN));
    // Changing the body after signing breaks the signature too.
    let resp = {
        let cfg = h.sb.config();
        let q = vec![
            ("app_key".to_owned(), cfg.app_key.clone()),
            ("page_size".to_owned(), "10".to_owned()),
            ("shop_cipher".to_owned(), cfg.shop_cipher.clone()),
            ("timestamp".to_owned(), h.now_secs().to_string()),
        ];
        let sign = common::spec_sign(&cfg.app_secret, SEARCH, &q, "{}");
        let mut q2 = q.clone();
        q2.push(("sign".to_owned(), sign));
        h.http
            .post(format!("{}{SEARCH}", h.sb.base_url()))
            .query(&q2)
            .header("content-type", "application/json")
            .header("x-tts-access-token", &h.token)
            .body(r#"{"order_status":"UNPAID"}"#)
            .send()
            .await
            .expect("send")
    };
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["code"], codes::INVALID_SIGN);

    for (offset, ok) in [(-301, false), (-300, true), (30, true), (31, false)] {
        let mut req = Req::new("POST", SEARCH).q("page_size", "10");
        req.ts_offset = offset;
        let r = h.send(req).await;
        let want = if ok { 0 } else { codes::INVALID_REQUEST };
        assert_eq!(r.code(), want, "timestamp offset {offset}: {}", r.text);
    }

    let r = h
        .send(Req::new("POST", SEARCH).q("page_size", "10").no_cipher())
        .await;
    assert_eq!(r.code(), codes::MISSING_SHOP_CIPHER);
    let r = h.send(Req::new("GET", SHOPS)).await;
    assert_eq!(
        r.code(),
        codes::INVALID_REQUEST,
        "cipher must be absent on /authorization"
    );
    let r = h.send(Req::new("GET", "/seller/202309/shops")).await;
    assert_eq!(
        r.code(),
        codes::INVALID_REQUEST,
        "cipher must be absent on /seller"
    );
    let r = h
        .send(Req::new("GET", "/seller/202309/shops").no_cipher())
        .await;
    assert_eq!(
        r.json["data"]["shops"][0]["id"],
        h.sb.config().shop_id.as_str()
    );
    let r = h.send(Req::new("GET", SHOPS).no_cipher()).await;
    assert_eq!(r.code(), 0, "{}", r.text);
    assert_eq!(
        r.json["data"]["shops"][0]["cipher"],
        h.sb.config().shop_cipher.as_str()
    );
    let mut req = Req::new("POST", SEARCH).q("page_size", "10");
    req.token = Some("ROW_at_not_issued".to_owned());
    assert_eq!(h.send(req).await.code(), codes::TOKEN_INVALID);

    let stats = h.sb.stats();
    assert_eq!(stats.rejected_signatures, 2);
    assert_eq!(stats.rejected_timestamps, 2);
    let admin = h.admin_get("/sandbox/admin/stats").await;
    assert_eq!(admin["rejected_signatures"], 2);
    assert!(admin["calls"]["orders.search"].as_u64().unwrap_or(0) >= 8);
}

#[tokio::test]
async fn expired_token_then_refresh_rotates() {
    let mut c = quiet_config();
    c.access_token_ttl_secs = 60;
    let h = start(c).await;
    assert_eq!(
        h.send(Req::new("POST", SEARCH).q("page_size", "5"))
            .await
            .code(),
        0
    );
    h.clock.advance_secs(60);
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!((r.status, r.code()), (401, codes::TOKEN_EXPIRED));

    let cfg = h.sb.config();
    let refresh = |rt: String| {
        let http = h.http.clone();
        let url = format!("{}/api/v2/token/refresh", h.sb.base_url());
        let q = vec![
            ("app_key", cfg.app_key.clone()),
            ("app_secret", cfg.app_secret.clone()),
            ("refresh_token", rt),
            ("grant_type", "refresh_token".to_owned()),
        ];
        async move {
            let v: serde_json::Value = http
                .get(url)
                .query(&q)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            v
        }
    };
    let v = refresh(cfg.refresh_token.clone()).await;
    assert_eq!(v["code"], 0, "{v}");
    let new_token = v["data"]["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let expire_in = v["data"]["access_token_expire_in"]
        .as_i64()
        .expect("expiry");
    assert_eq!(
        expire_in,
        h.now_secs() + 60,
        "expire_in is an absolute timestamp"
    );
    let mut req = Req::new("POST", SEARCH).q("page_size", "5");
    req.token = Some(new_token);
    assert_eq!(h.send(req).await.code(), 0);
    // The old refresh token was rotated away.
    let again = refresh(cfg.refresh_token.clone()).await;
    assert_eq!(again["code"], codes::NO_AUTH_RECORD);
    assert_eq!(h.sb.stats().token_refreshes, 1);

    // Refresh tokens expire too.
    let rt = v["data"]["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    h.clock.advance_secs(cfg.refresh_token_ttl_secs);
    assert_eq!(refresh(rt).await["code"], codes::REFRESH_TOKEN_EXPIRED);
}

#[tokio::test]
async fn deauthorization_revokes_every_token() {
    let h = start(quiet_config()).await;
    assert_eq!(
        h.send(Req::new("POST", SEARCH).q("page_size", "5"))
            .await
            .code(),
        0
    );
    let r = h
        .http
        .post(format!("{}/sandbox/admin/deauthorize", h.sb.base_url()))
        .send()
        .await
        .expect("deauthorize");
    assert_eq!(r.status().as_u16(), 200);
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "5")).await;
    assert_eq!((r.status, r.code()), (401, codes::TOKEN_INVALID));
}

#[tokio::test]
async fn fifty_first_call_in_a_second_is_throttled() {
    let h = start(quiet_config()).await;
    for i in 0..50 {
        let r = h.send(Req::new("POST", SEARCH).q("page_size", "1")).await;
        assert_eq!(r.code(), 0, "call {i}");
    }
    let r = h.send(Req::new("POST", SEARCH).q("page_size", "1")).await;
    assert_eq!((r.status, r.code()), (429, codes::TOO_MANY_REQUESTS));
    // Per API: another endpoint still has budget.
    assert_eq!(h.send(Req::new("GET", SHOPS).no_cipher()).await.code(), 0);
    h.clock.advance_ms(1000);
    assert_eq!(
        h.send(Req::new("POST", SEARCH).q("page_size", "1"))
            .await
            .code(),
        0
    );
    let s = h.sb.stats();
    assert_eq!((s.rate_limited, s.http_429), (1, 1));
}

#[tokio::test]
async fn oauth_code_is_single_use() {
    let h = start(quiet_config()).await;
    let cfg = h.sb.config();
    let resp = h
        .http
        .get(format!("{}/sandbox/oauth/authorize", h.sb.base_url()))
        .query(&[
            ("app_key", cfg.app_key.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("state", "xyz 1"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status().as_u16(), 302);
    let loc = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let url = reqwest::Url::parse(&loc).expect("url");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let code = pairs
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .expect("code");
    assert!(pairs.contains(&("state".to_owned(), "xyz 1".to_owned())));
    let get = |code: String| {
        let http = h.http.clone();
        let url = format!("{}/api/v2/token/get", h.sb.base_url());
        let q = vec![
            ("app_key", cfg.app_key.clone()),
            ("app_secret", cfg.app_secret.clone()),
            ("auth_code", code),
            ("grant_type", "authorized_code".to_owned()),
        ];
        async move {
            let v: serde_json::Value = http
                .get(url)
                .query(&q)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            v
        }
    };
    let v = get(code.clone()).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["user_type"], 0);
    assert_eq!(get(code).await["code"], codes::AUTH_CODE_INVALID);
}

#[tokio::test]
async fn admin_generates_orders_and_empty_params_are_refused() {
    let h = start(quiet_config()).await;
    let v: serde_json::Value = h
        .http
        .post(format!("{}/sandbox/admin/orders", h.sb.base_url()))
        .json(&serde_json::json!({"count": 7, "status": "UNPAID"}))
        .send()
        .await
        .expect("admin orders")
        .json()
        .await
        .expect("json");
    assert_eq!(v["order_ids"].as_array().map(Vec::len), Some(7));
    let r = h
        .send(
            Req::new("POST", SEARCH)
                .q("page_size", "50")
                .body(r#"{"order_status":"UNPAID"}"#),
        )
        .await;
    assert_eq!(r.json["data"]["total_count"], 7);
    let r = h
        .send(
            Req::new("POST", SEARCH)
                .q("page_size", "5")
                .q("page_token", ""),
        )
        .await;
    assert_eq!(
        r.code(),
        codes::INVALID_REQUEST,
        "empty query values are a client bug"
    );
    let stats = h.admin_get("/sandbox/admin/stats").await;
    assert_eq!(stats["orders_by_status"]["UNPAID"], 7);
    let faults = h.admin_get("/sandbox/admin/faults").await;
    assert_eq!(faults["default"]["timeout_ms"], 30_000);
}

#[tokio::test]
async fn a_body_must_be_declared_json() {
    let h = start(quiet_config()).await;
    let cfg = h.sb.config();
    let mut q = vec![
        ("app_key".to_owned(), cfg.app_key.clone()),
        ("page_size".to_owned(), "5".to_owned()),
        ("shop_cipher".to_owned(), cfg.shop_cipher.clone()),
        ("timestamp".to_owned(), h.now_secs().to_string()),
    ];
    let body = r#"{"order_status":"UNPAID"}"#;
    let sign = common::spec_sign(&cfg.app_secret, SEARCH, &q, body);
    q.push(("sign".to_owned(), sign));
    let v: serde_json::Value = h
        .http
        .post(format!("{}{SEARCH}", h.sb.base_url()))
        .query(&q)
        .header("content-type", "text/plain")
        .header("x-tts-access-token", &h.token)
        .body(body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["code"], codes::INVALID_REQUEST);
    assert!(
        v["message"].as_str().unwrap_or("").contains("text/plain"),
        "{v}"
    );
}

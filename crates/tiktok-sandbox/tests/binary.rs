//! The standalone binary as a user runs it: prints its URL and the credentials it accepts, and serves a
//! shop that a spec-signing script can query, page through and ship from (on the real clock).
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn binary_prints_credentials_and_serves_a_shippable_shop() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiktok-sandbox"))
        .args(["--port", "0", "--orders", "30", "--seed", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let _guard = Kill(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = std::collections::HashMap::new();
    let mut base = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(url) = line.strip_prefix("tiktok sandbox listening on ") {
            base = url.trim().to_owned();
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() == 2 {
            printed.insert(parts[0].to_owned(), parts[1].to_owned());
        }
        if line.trim_start().starts_with("refresh_token") {
            break;
        }
    }
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "base url printed: {base}"
    );
    let key = printed["app_key"].clone();
    let secret = printed["app_secret"].clone();
    let cipher = printed["shop_cipher"].clone();
    let token = printed["access_token"].clone();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    let call =
        |method: reqwest::Method, path: String, extra: Vec<(String, String)>, body: String| {
            let mut q = extra;
            q.push(("app_key".to_owned(), key.clone()));
            q.push(("timestamp".to_owned(), now_secs().to_string()));
            q.push(("shop_cipher".to_owned(), cipher.clone()));
            let sign = common::spec_sign(&secret, &path, &q, &body);
            q.push(("sign".to_owned(), sign));
            let req = http
                .request(method, format!("{base}{path}"))
                .query(&q)
                .header("content-type", "application/json")
                .header("x-tts-access-token", &token)
                .body(body);
            async move {
                let v: Value = req.send().await.expect("send").json().await.expect("json");
                v
            }
        };
    let mut token_page = String::new();
    let mut ready = Vec::new();
    let mut total = 0;
    loop {
        let mut q = vec![("page_size".to_owned(), "10".to_owned())];
        if !token_page.is_empty() {
            q.push(("page_token".to_owned(), token_page.clone()));
        }
        let v = call(
            reqwest::Method::POST,
            "/order/202309/orders/search".to_owned(),
            q,
            r#"{"order_status":"AWAITING_SHIPMENT"}"#.to_owned(),
        )
        .await;
        assert_eq!(v["code"], 0, "{v}");
        for o in v["data"]["orders"].as_array().expect("orders") {
            total += 1;
            if o["shipping_type"] == "TIKTOK" {
                ready.push(o["packages"][0]["id"].as_str().expect("pkg").to_owned());
            }
        }
        token_page = v["data"]["next_page_token"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if token_page.is_empty() {
            break;
        }
    }
    assert!(total > 0 && !ready.is_empty(), "{total} awaiting shipment");
    let v = call(
        reqwest::Method::POST,
        format!("/fulfillment/202309/packages/{}/ship", ready[0]),
        vec![],
        r#"{"handover_method":"DROP_OFF"}"#.to_owned(),
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    // A wrong secret and a stale timestamp, signed correctly otherwise.
    let path = "/order/202309/orders/search";
    let stale = vec![
        ("app_key".to_owned(), key.clone()),
        ("page_size".to_owned(), "1".to_owned()),
        ("shop_cipher".to_owned(), cipher.clone()),
        ("timestamp".to_owned(), (now_secs() - 400).to_string()),
    ];
    for (secret_used, q, want) in [
        (
            "wrong-secret",
            {
                let mut q = stale.clone();
                q[3].1 = now_secs().to_string();
                q
            },
            106001,
        ),
        (secret.as_str(), stale.clone(), 36009004),
    ] {
        let mut q = q;
        let sign = common::spec_sign(secret_used, path, &q, "");
        q.push(("sign".to_owned(), sign));
        let v: Value = http
            .post(format!("{base}{path}"))
            .query(&q)
            .header("x-tts-access-token", &token)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(v["code"], want, "{v}");
    }
    let stats: Value = http
        .get(format!("{base}/sandbox/admin/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["ship_calls"][&ready[0]], 1);
}

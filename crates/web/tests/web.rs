//! The web console over real HTTP on loopback: the API and the UI build, the access rules (loopback
//! host pinning, JSON-only posts, the token off loopback), and the webhook receiver.


use std::sync::Arc;

use creatorflow_engine::store::{HandoverMethod, NewShop};
use creatorflow_engine::{Console, ConsoleConfig};
use creatorflow_web::{AccessError, ServeError, Server, TOKEN_COOKIE, WEBHOOK_PATH};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tiktok_shop::{MemoryStore, Secret, TokenSet};

const TOKEN: &str = "test-token-0123456789";

struct Running {
    base: String,
    console: Console,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(addr: &str, token: Option<&str>) -> Result<Running, ServeError> {
    let dir = tempfile::tempdir().unwrap();
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_owned(), database_url: None })
        .await
        .unwrap()
        .with_secret_store(Arc::new(MemoryStore::new()));
    let server = Server::bind(console.clone(), addr.parse().unwrap(), token.map(str::to_owned)).await?;
    let port = server.local_addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Ok(Running { base: format!("http://127.0.0.1:{port}"), console, _dir: dir, stop: Some(stop) })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn loopback_serves_the_api_and_the_ui() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    let c = client();
    let r = c.get(format!("{}/api/overview", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let overview: Value = r.json().await.unwrap();
    assert_eq!(overview["product"], "CreatorFlow Console");
    // POST with an arguments object is the same call.
    let r = c.post(format!("{}/api/overview", s.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Unknown commands and bad bodies are structured errors.
    let r = c.post(format!("{}/api/no_such_command", s.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["kind"], "not_found");
    assert!(e["message"].as_str().unwrap().contains("no_such_command"), "{e}");

    // The UI build, with index.html for any client-side route (make test builds ui/dist first).
    for path in ["/", "/orders/123"] {
        let r = c.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}: build the UI first (npm --prefix ui run build)");
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
        assert!(r.text().await.unwrap().contains("<div id=\"root\">"), "{path} serves index.html");
    }
}

#[tokio::test]
async fn loopback_refuses_foreign_hosts_and_form_posts() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    let c = client();
    // DNS rebinding: a foreign name resolving to 127.0.0.1 reaches us with its own Host header.
    let r = c.get(format!("{}/api/overview", s.base)).header("host", "evil.example").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A cross-site form can post text/plain without a preflight; we take JSON only.
    let r = c
        .post(format!("{}/api/overview", s.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn any_other_address_needs_a_token_and_checks_it_on_every_request() {
    match start("0.0.0.0:0", None).await {
        Err(ServeError::Access(AccessError::TokenRequired(addr))) => assert!(addr.ip().is_unspecified()),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    assert!(matches!(start("0.0.0.0:0", Some("short")).await.err(), Some(ServeError::Access(AccessError::WeakToken(5)))));

    let s = start("0.0.0.0:0", Some(TOKEN)).await.unwrap();
    let c = client();
    let api = format!("{}/api/overview", s.base);
    assert_eq!(c.get(&api).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.get(&api).bearer_auth("wrong-token-0123456789").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.get(&api).bearer_auth(TOKEN).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(c.get(format!("{}/", s.base)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The printed link: the token becomes an HttpOnly cookie and leaves the URL.
    let r = c.get(format!("{}/?token={TOKEN}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("{TOKEN_COOKIE}={TOKEN};")) && cookie.contains("HttpOnly"), "{cookie}");
    let r = c.get(&api).header("cookie", format!("{TOKEN_COOKIE}={TOKEN}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A wrong query token is no way in either.
    assert_eq!(c.get(format!("{}/?token=nope", s.base)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// Connects a shop with known credentials to the console's database and secret store.
async fn connect_shop(console: &Console) -> (String, String) {
    let (app_key, secret) = ("webtestapp".to_owned(), "webtest-secret".to_owned());
    let shop = console
        .store()
        .create_shop(&NewShop {
            creator_id: None,
            name: "Web shop".into(),
            tts_shop_id: "7000000000000000001".into(),
            cipher: "ROW_web".into(),
            region: "GB".into(),
            app_key: app_key.clone(),
            api_base_url: "http://127.0.0.1:9".into(),
            auth_base_url: "http://127.0.0.1:9".into(),
            handover_method: HandoverMethod::DropOff,
            priority: 0,
        })
        .await
        .unwrap();
    let far = 4_000_000_000;
    let tokens = TokenSet {
        access_token: Secret::new("a"),
        access_token_expire_in: far,
        refresh_token: Secret::new("r"),
        refresh_token_expire_in: far,
        open_id: None,
        seller_name: None,
        seller_base_region: None,
        user_type: None,
        granted_scopes: vec![],
    };
    console.connections().unwrap().save_credentials(&shop, &Secret::new(secret.clone()), &tokens).unwrap();
    (app_key, secret)
}

#[tokio::test]
async fn webhooks_are_verified_recorded_once_and_exempt_from_the_token() {
    let s = start("0.0.0.0:0", Some(TOKEN)).await.unwrap();
    let (app_key, secret) = connect_shop(&s.console).await;
    let c = client();
    let url = format!("{}{WEBHOOK_PATH}", s.base);
    let body = serde_json::to_vec(&json!({
        "type": 1, "tts_notification_id": "web-n-1", "shop_id": "7000000000000000001", "timestamp": 1,
        "data": {"order_id": "576000000000000001", "order_status": "AWAITING_SHIPMENT", "update_time": 1}
    }))
    .unwrap();
    let sig = tiktok_shop::signing::webhook_signature(&app_key, &secret, &body);
    let post = |body: Vec<u8>, sig: Option<String>| {
        let mut r = c.post(&url).header("content-type", "application/json").body(body);
        if let Some(sig) = sig {
            r = r.header("authorization", sig);
        }
        r.send()
    };
    let r = post(body.clone(), Some(sig.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["jobs"], 1);
    let r = post(body.clone(), Some(sig.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "duplicate");
    let refreshes = s
        .console
        .queue()
        .list(&creatorflow_queue::JobFilter { kind: Some("refresh".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(refreshes.len(), 1, "one refresh job for the push");

    assert_eq!(post(body.clone(), Some("00ff".into())).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post(body.clone(), None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let junk = b"not json".to_vec();
    let junk_sig = tiktok_shop::signing::webhook_signature(&app_key, &secret, &junk);
    assert_eq!(post(junk, Some(junk_sig)).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let huge = vec![b' '; creatorflow_engine::pipeline::MAX_WEBHOOK_BYTES + 10];
    assert_eq!(post(huge, Some("x".into())).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    
}

#[tokio::test]
async fn shop_settings_and_backups_are_audited() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    connect_shop(&s.console).await;
    let c = client();
    let call = |cmd: &str, args: Value| c.post(format!("{}/api/{cmd}", s.base)).json(&args).send();
    let r = call("update_shop_settings", json!({"req": {"shop": "Web shop", "priority": 7, "paused": true, "handover_method": "PICKUP"}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shop: Value = r.json().await.unwrap();
    assert_eq!((shop["priority"].as_i64(), shop["paused"].as_bool(), shop["handover_method"].as_str()), (Some(7), Some(true), Some("PICKUP")));
    let r = call("update_shop_settings", json!({"req": {"shop": "Web shop", "priority": 10}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["kind"], "invalid_input");
    let r = call("update_shop_settings", json!({"req": {"shop": "No such shop", "paused": false}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = call("update_shop_settings", json!({"shop": "Web shop"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "arguments without `req` are refused");

    let r = call("backup_now", json!({})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let backup: Value = r.json().await.unwrap();
    let path = std::path::PathBuf::from(backup["path"].as_str().unwrap());
    assert!(backup["bytes"].as_i64().unwrap() > 0 && path.exists(), "{backup}");
    // The copy is a whole database: it opens and has the shop.
    let copy = Console::open(ConsoleConfig { data_dir: path.parent().unwrap().join("restore"), database_url: Some(format!("sqlite://{}", path.display())) })
        .await
        .unwrap();
    assert_eq!(copy.list_shops().await.unwrap().len(), 1);

    let audit = s.console.store().recent_audit(10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["backup", "shop_update"], "newest first");
    assert!(audit.iter().all(|e| e.actor.starts_with("web@127.0.0.1")), "{audit:?}");
}

/// Enqueue a job, claim it and fail it for good; returns its id.
async fn failed_job(console: &Console, message: &str) -> i64 {
    use creatorflow_queue::{FinishAction, Finished, JobError, Lease, NewJob};
    let q = console.queue();
    let id = q.insert(NewJob::from_value("ship", json!({"n": 1})).queue("web-test").max_attempts(1)).await.unwrap().id();
    let job = q.claim("web-test", 1, "w", std::time::Duration::from_secs(60)).await.unwrap().remove(0);
    q.finish(&[Finished {
        lease: Lease { id, token: job.lease_token.unwrap() },
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        started_at: job.attempted_at.unwrap(),
        worker: "w".into(),
        action: FinishAction::Fail(JobError::permanent("invalid_request", message)),
    }])
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn triage_routes_take_the_desktop_arguments_and_record_the_web_client() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    let c = client();
    let a = failed_job(&s.console, "order 5771 not found").await;
    let b = failed_job(&s.console, "order 5772 not found").await;
    let post = |command: &str, body: Value| c.post(format!("{}/api/{command}", s.base)).json(&body).send();

    let r = post("triage_groups", json!({"query": {}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let groups: Value = r.json().await.unwrap();
    assert_eq!(groups["groups"][0]["count"], 2, "{groups}");
    let r = post("triage_job", json!({"id": a})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A bulk action with a stale count is refused as a conflict; with the previewed count it acts.
    let selection = json!({"by": "ids", "ids": [a, b]});
    let preview: Value = post("triage_preview", json!({"req": {"selection": selection, "action": "retry"}})).await.unwrap().json().await.unwrap();
    assert_eq!(preview["count"], 2);
    let stale = post("triage_bulk", json!({"req": {"selection": selection, "action": "retry", "expected_count": 1, "reason": null}})).await.unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let e: Value = stale.json().await.unwrap();
    assert_eq!(e["kind"], "count_changed");
    let done = post("triage_bulk", json!({"req": {"selection": selection, "action": "retry", "expected_count": 2, "reason": null}})).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);

    // The actor is the web client, whatever the body says.
    let r = post("triage_cancel", json!({"req": {"id": a, "reason": "test", "actor": "someone else"}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let log: Value = post("audit_log", json!({"query": {}})).await.unwrap().json().await.unwrap();
    let actors: Vec<&str> = log["events"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, vec!["web@127.0.0.1", "web@127.0.0.1"]);
}

#[tokio::test]
async fn the_live_stream_sends_a_snapshot_event() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    let mut r = client().get(format!("{}/api/live", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), r.chunk()).await.expect("an event within 10 s").unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).expect("a data line");
    let snapshot: Value = serde_json::from_str(data).unwrap();
    assert_eq!(snapshot["source"], "database", "a read-only console builds its snapshot from the database: {snapshot}");
    drop(r);
    // The subscription ends with the connection (at the next push at the latest).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while s.console.live_subscriptions() > 0 {
        assert!(std::time::Instant::now() < deadline, "the subscription outlived its client");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn connect_demo_fault_and_status_routes_take_the_desktop_arguments() {
    let s = start("127.0.0.1:0", None).await.unwrap();
    let c = client();
    let post = |path: &str, body: Value| c.post(format!("{}/api/{path}", s.base)).json(&body).send();
    // No demo runs in this console: the fault controls say so with a conflict, not a server error.
    let r = post("demo_faults", json!({})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap()["kind"], "not_demo");
    let r = post("change_demo_faults", json!({"change": {"action": "outage", "seconds": 30}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = post("change_demo_faults", json!({"change": {"action": "meteor"}})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an unknown action is the caller's mistake");

    // A connect session: begun, read back, cancelled; an unknown id is a bad request.
    let req = json!({"req": {"app_key": "app1", "app_secret": "s3cret", "authorize_url": "http://127.0.0.1:9/authorize"}});
    let r = post("begin_connect", req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let session: Value = r.json().await.unwrap();
    assert_eq!(session["state"], "waiting");
    assert!(session["url"].as_str().unwrap().starts_with("http://127.0.0.1:9/authorize?app_key=app1"));
    assert!(!session.to_string().contains("s3cret"), "the secret never comes back");
    let id = session["id"].as_str().unwrap().to_owned();
    let r = post("connect_status", json!({"id": id})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "waiting");
    let r = post("connect_with_code", json!({"id": id, "code": "has spaces"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post("cancel_connect", json!({"id": id})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "cancelled");
    let r = post("connect_status", json!({"id": "nope"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The lean status read answers like show_order: an order not cached is not found.
    let r = post("order_status", json!({"id": "576000000000009999"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["kind"], "not_found");
}

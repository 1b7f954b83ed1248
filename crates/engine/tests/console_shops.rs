//! Console shop commands against the in-process sandbox: add (with and without the shop id), update by
//! name, remove (jobs cancelled, orders and secrets gone, audit row), and the OAuth code flow end to end
//! with reqwest as the browser.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use creatorflow_engine::connection::{app_secret_name, shop_tokens_name};
use creatorflow_engine::store::{
    Amount, AuditAction, HandoverMethod, LineItem, NewFulfillment, Order, ShippingType, StockRequest, Store,
};
use creatorflow_engine::{AddShop, AuditEntry, AuditQuery, AuthorizationRequest, Console, ConsoleConfig, EngineError, ShopSettings};
use creatorflow_queue::{JobState, NewJob};
use serde_json::json;
use tiktok_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tiktok_shop::{MemoryStore, Secret, SecretStore};

struct Env {
    console: Console,
    secrets: Arc<MemoryStore>,
    sandbox: SandboxHandle,
    dir: tempfile::TempDir,
}

async fn env() -> anyhow::Result<Env> {
    let dir = tempfile::tempdir()?;
    let mut cfg = SandboxConfig::with_seed(11);
    cfg.initial_orders = 3;
    let sandbox = Sandbox::start(cfg, "127.0.0.1:0".parse()?).await?;
    let secrets = Arc::new(MemoryStore::new());
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None })
        .await?
        .with_secret_store(secrets.clone());
    Ok(Env { console, secrets, sandbox, dir })
}

fn add_request(e: &Env, name: &str) -> AddShop {
    let c = e.sandbox.config();
    AddShop {
        name: name.into(),
        app_key: c.app_key.clone(),
        app_secret: Secret::new(c.app_secret.clone()),
        access_token: Secret::new(c.access_token.clone()),
        refresh_token: Secret::new(c.refresh_token.clone()),
        access_token_expire_in: None,
        refresh_token_expire_in: None,
        shop_cipher: c.shop_cipher.clone(),
        shop_id: None,
        region: None,
        api_base: Some(e.sandbox.base_url().to_owned()),
        auth_base: Some(e.sandbox.base_url().to_owned()),
        handover_method: None,
        priority: None,
    }
}

/// A sign-in with the sandbox's app whose consent page is the sandbox's own.
fn authorization_request(e: &Env) -> AuthorizationRequest {
    let c = e.sandbox.config();
    let base = e.sandbox.base_url().to_owned();
    AuthorizationRequest {
        app_key: c.app_key.clone(),
        app_secret: Secret::new(c.app_secret.clone()),
        api_base: Some(base.clone()),
        auth_base: Some(base.clone()),
        authorize_url: Some(format!("{base}/sandbox/oauth/authorize")),
        listen: true,
        handover_method: None,
        priority: None,
    }
}

/// Every audit event of `console`'s database, oldest first.
async fn audit_events(console: &Console) -> anyhow::Result<Vec<AuditEntry>> {
    let mut events = console.audit_log(&AuditQuery::default()).await?.events;
    events.reverse();
    Ok(events)
}

fn db_bytes(e: &Env) -> anyhow::Result<Vec<u8>> {
    // The WAL holds recent writes: read both files.
    let mut bytes = std::fs::read(e.dir.path().join("creatorflow.db"))?;
    if let Ok(wal) = std::fs::read(e.dir.path().join("creatorflow.db-wal")) {
        bytes.extend(wal);
    }
    Ok(bytes)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn add_looks_up_the_shop_stores_secrets_outside_the_db_and_updates_by_name() -> anyhow::Result<()> {
    let e = env().await?;
    let c = e.sandbox.config().clone();
    let shop = e.console.add_shop(add_request(&e, "main"), "alice").await?;
    assert_eq!(shop.tts_shop_id, c.shop_id, "looked up by cipher");
    assert_eq!(shop.region, c.shop_region);
    assert_eq!(shop.cipher, c.shop_cipher);
    assert_eq!(shop.handover_method, HandoverMethod::Pickup);
    assert_eq!(shop.api_base_url, e.sandbox.base_url().trim_end_matches('/'));

    // Secrets are in the secret store, and nowhere in the database.
    let app = e.secrets.get(&app_secret_name(&c.app_key))?.context("app secret stored")?;
    assert_eq!(app.expose(), c.app_secret);
    // The shop's slot points at its authorization's pair (the lookup's refresh learnt the open_id).
    let (name, _) = e.console.connections()?.stored_tokens(&shop)?.context("tokens stored")?;
    ensure!(name.starts_with("tokens/auth/"), "{name}");
    ensure!(e.secrets.get(&shop_tokens_name(shop.id))?.context("slot")?.expose().contains(&name));
    let tokens = e.secrets.get(&name)?.context("tokens stored")?;
    let bytes = db_bytes(&e)?;
    for secret in [c.app_secret.as_str(), c.access_token.as_str(), c.refresh_token.as_str(), tokens.expose()] {
        ensure!(!contains(&bytes, secret), "a secret is in the database file");
    }
    // The unknown expiry made the lookup refresh the pair; the sandbox rotates refresh tokens, so only
    // the stored (new) pair works. A client built from the store proves it is the right one.
    assert!(!tokens.expose().contains(&c.refresh_token), "the spent refresh token was replaced");
    let client = e.console.connections()?.client(&shop)?;
    let page = client
        .search_orders(&tiktok_shop::models::order::OrderSearchFilter::default(), &tiktok_shop::models::order::OrderSearchPage::first(10))
        .await?;
    ensure!(!page.orders.is_empty(), "the stored credentials reach the shop");

    // The same name again updates the shop (same row), with the settings given.
    let mut again = add_request(&e, "main");
    again.shop_id = Some(c.shop_id.clone());
    again.access_token = tokens_of(&e, &shop)?.0;
    again.refresh_token = tokens_of(&e, &shop)?.1;
    again.priority = Some(7);
    // The pipeline marked the shop deauthorized (105001); adding it with new credentials re-activates it.
    ensure!(e.console.store().mark_shop_deauthorized(shop.id).await?);
    again.handover_method = Some(HandoverMethod::DropOff);
    let updated = e.console.add_shop(again, "alice").await?;
    assert_eq!(updated.id, shop.id);
    assert_eq!(updated.priority, 7);
    assert_eq!(updated.handover_method, HandoverMethod::DropOff);
    assert_eq!(updated.status, creatorflow_engine::store::ShopStatus::Active);
    assert_eq!(e.console.list_shops().await?.len(), 1);

    // The same TikTok shop under another name is refused with the name to use.
    let mut other = add_request(&e, "other");
    other.shop_id = Some(c.shop_id.clone());
    match e.console.add_shop(other, "alice").await {
        Err(err @ EngineError::ShopConflict { .. }) => assert!(err.to_string().contains("\"main\""), "{err}"),
        other => anyhow::bail!("expected a conflict, got {other:?}"),
    }

    // Both adds are in the audit trail with who made them and what changed; the refused one is not.
    let events = audit_events(&e.console).await?;
    ensure!(events.len() == 2 && events.iter().all(|ev| ev.action == "shop_add" && ev.actor == "alice"), "{events:?}");
    let (created, replaced) = (events[0].details.clone().context("details")?, events[1].details.clone().context("details")?);
    ensure!(created["created"] == true && created["id"] == shop.id && created["tts_shop_id"] == c.shop_id.as_str(), "{created}");
    ensure!(created.get("before").is_none() && created["after"]["priority"] == 0, "{created}");
    ensure!(replaced["created"] == false, "{replaced}");
    ensure!(replaced["before"]["priority"] == 0 && replaced["after"]["priority"] == 7, "{replaced}");
    ensure!(replaced["before"]["status"] == "deauthorized" && replaced["after"]["status"] == "active", "{replaced}");
    ensure!(replaced["before"]["handover_method"] == "PICKUP" && replaced["after"]["handover_method"] == "DROP_OFF", "{replaced}");
    let text = serde_json::to_string(&events)?;
    for secret in [c.app_secret.as_str(), c.access_token.as_str(), c.refresh_token.as_str(), tokens.expose()] {
        ensure!(!text.contains(secret), "a secret is in the audit trail");
    }
    // Nobody is not an actor: refused before anything is stored.
    let err = e.console.add_shop(add_request(&e, "third"), " ").await.err().context("no actor")?;
    ensure!(err.kind() == "invalid_input", "{err}");
    ensure!(audit_events(&e.console).await?.len() == 2);
    Ok(())
}

fn tokens_of(e: &Env, shop: &creatorflow_engine::store::Shop) -> anyhow::Result<(Secret, Secret)> {
    let (_, t) = e.console.connections()?.stored_tokens(shop)?.context("tokens")?;
    Ok((t.access_token, t.refresh_token))
}

#[tokio::test]
async fn a_cipher_the_authorization_does_not_cover_is_refused_and_nothing_is_stored() -> anyhow::Result<()> {
    let e = env().await?;
    let mut req = add_request(&e, "main");
    req.shop_cipher = "ROW_not_mine".into();
    let err = e.console.add_shop(req, "alice").await.err().context("must fail")?;
    assert_eq!(err.kind(), "invalid_input");
    assert!(err.to_string().contains(&e.sandbox.config().shop_cipher), "names the ciphers it knows: {err}");
    assert!(!err.to_string().contains(&e.sandbox.config().app_secret));
    assert!(e.console.list_shops().await?.is_empty());

    let mut req = add_request(&e, "main");
    req.app_secret = Secret::new("wrong-secret");
    let err = e.console.add_shop(req, "alice").await.err().context("a wrong app secret must fail")?;
    assert!(!format!("{err} {err:?}").contains(&e.sandbox.config().refresh_token));
    assert!(e.console.list_shops().await?.is_empty());
    assert!(audit_events(&e.console).await?.is_empty(), "a refused add records nothing");
    Ok(())
}

fn order(shop_id: i64, id: &str) -> anyhow::Result<Order> {
    Ok(Order {
        shop_id,
        tts_order_id: id.into(),
        status: "AWAITING_SHIPMENT".into(),
        create_time: 1_767_225_600,
        update_time: 1_767_225_700,
        paid_time: None,
        buyer_name: "Alex Buyer".into(),
        shipping_type: ShippingType::Tiktok,
        rts_sla_time: None,
        shipping_due_time: None,
        total_amount: Amount::parse("9.99")?,
        currency: "GBP".into(),
        recipient_address: None,
        raw: json!({"id": id}),
        line_items: vec![LineItem {
            tts_line_item_id: format!("{id}-1"),
            product_id: "p".into(),
            product_name: "Plain Mug".into(),
            sku_id: "s".into(),
            sku_name: "Default".into(),
            seller_sku: "MUG-1".into(),
            sale_price: Amount::parse("9.99")?,
            currency: "GBP".into(),
            display_status: "AWAITING_SHIPMENT".into(),
            tts_package_id: None,
        }],
        packages: vec![],
    })
}

#[tokio::test]
async fn remove_cancels_the_shops_jobs_and_deletes_its_orders_and_secrets() -> anyhow::Result<()> {
    let e = env().await?;
    let c = e.sandbox.config().clone();
    let shop = e.console.add_shop(add_request(&e, "main"), "alice").await?;
    let ids = e.console.store().upsert_orders(&[order(shop.id, "576684019603311365")?]).await?;
    let order_id = ids[0].id();
    let q = e.console.queue();
    let by_order = q.insert(NewJob::from_value("ship", json!({"order_id": order_id}))).await?.id();
    let by_shop = q.insert(NewJob::from_value("sync", json!({"shop_id": shop.id}))).await?.id();
    let other = q.insert(NewJob::from_value("sync", json!({"shop_id": shop.id + 100}))).await?.id();

    // Validate reserved one unit of a tracked SKU for the order (it never shipped).
    let store = e.console.store();
    store.set_stock(1, "MUG-1", true, 5).await?;
    validate_with_stock(store, order_id).await?;
    assert_eq!(store.get_inventory(1, "MUG-1").await?.context("stock")?.reserved, 1);

    let removed = e.console.remove_shop("main", "alice").await?;
    assert_eq!(removed.orders_deleted, 1);
    assert_eq!(removed.units_released, 1);
    assert_eq!(store.get_inventory(1, "MUG-1").await?.context("stock")?.reserved, 0, "stock given back");
    let mut cancelled = removed.jobs_cancelled.clone();
    cancelled.sort_unstable();
    assert_eq!(cancelled, vec![by_order, by_shop]);
    assert_eq!(q.get(by_order).await?.state, JobState::Cancelled);
    assert_eq!(q.get(by_shop).await?.state, JobState::Cancelled);
    assert_eq!(q.get(other).await?.state, JobState::Available, "other shops' jobs are untouched");
    assert!(e.console.list_shops().await?.is_empty());
    assert!(e.console.store().search(1, "Alex", 10).await?.is_empty(), "search entries go too");
    assert!(e.secrets.get(&shop_tokens_name(shop.id))?.is_none());
    assert!(e.secrets.get(&app_secret_name(&c.app_key))?.is_none(), "no shop of the app is left");
    assert!(e.secrets.list_names().is_empty(), "no token pair is left either: {:?}", e.secrets.list_names());

    let audit = e.console.show_job(by_order).await?.audit;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "shop_remove");
    assert_eq!(audit[0].actor, "alice");
    assert_eq!(audit[0].job_count, 2);

    match e.console.remove_shop("main", "alice").await {
        Err(err @ EngineError::ShopNotFound { .. }) => assert!(err.to_string().contains("shop list")),
        other => anyhow::bail!("expected not found, got {other:?}"),
    }
    Ok(())
}

/// Every shop-changing action of the engine — add, settings (pause, resume, priority, handover),
/// connect (a re-authorization here), remove — writes one audit event naming its actor, whichever face
/// calls it; a refused change writes none.
#[tokio::test]
async fn every_change_to_a_shop_is_audited_with_its_actor() -> anyhow::Result<()> {
    let e = env().await?;
    e.console.add_shop(add_request(&e, "main"), "cli-user").await?;
    let pause = ShopSettings { shop: "main".into(), paused: Some(true), ..ShopSettings::default() };
    ensure!(e.console.update_shop_settings(&pause, "desk-user").await?.paused);
    let resume = ShopSettings { shop: "main".into(), paused: Some(false), priority: Some(5), handover_method: Some(HandoverMethod::DropOff) };
    let resumed = e.console.update_shop_settings(&resume, "web@127.0.0.1").await?;
    ensure!(!resumed.paused && resumed.priority == 5 && resumed.handover_method == HandoverMethod::DropOff);
    // Refused changes leave no trace.
    let bad = ShopSettings { shop: "main".into(), priority: Some(10), ..ShopSettings::default() };
    ensure!(e.console.update_shop_settings(&bad, "desk-user").await.err().context("priority 10")?.kind() == "invalid_input");
    let missing = ShopSettings { shop: "nope".into(), paused: Some(true), ..ShopSettings::default() };
    ensure!(e.console.update_shop_settings(&missing, "desk-user").await.is_err());

    let pending = e.console.begin_authorization(authorization_request(&e)).await?;
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
    // The "browser" stops at the sandbox's redirect; its address is pasted (the state is checked).
    let to = http.get(pending.url()).send().await?;
    let location = to.headers().get("location").context("a redirect")?.to_str()?.to_owned();
    let code = pending.code_from_pasted(&location)?;
    let shops = e.console.complete_authorization(pending, &code, "oauth-user").await?;
    ensure!(shops.len() == 1 && shops[0].name == "main", "re-authorizing keeps the local name: {shops:?}");
    e.console.remove_shop("main", "cli-user").await?;

    let got: Vec<(String, String)> = audit_events(&e.console).await?.into_iter().map(|ev| (ev.action, ev.actor)).collect();
    let want = [
        (AuditAction::ShopAdd, "cli-user"),
        (AuditAction::ShopUpdate, "desk-user"),
        (AuditAction::ShopUpdate, "web@127.0.0.1"),
        (AuditAction::ShopConnect, "oauth-user"),
        (AuditAction::ShopRemove, "cli-user"),
    ]
    .map(|(a, who)| (a.as_str().to_owned(), who.to_owned()));
    ensure!(got == want, "{got:?}");
    let updates = e.console.audit_log(&AuditQuery { action: Some(AuditAction::ShopUpdate), ..AuditQuery::default() }).await?.events;
    let resume_ev = updates[0].details.clone().context("details")?;
    ensure!(resume_ev["before"]["paused"] == true && resume_ev["after"]["paused"] == false, "{resume_ev}");
    ensure!(resume_ev["before"]["priority"] == 0 && resume_ev["after"]["priority"] == 5, "{resume_ev}");
    let connect = e.console.audit_log(&AuditQuery { action: Some(AuditAction::ShopConnect), ..AuditQuery::default() }).await?.events;
    ensure!(connect[0].details.as_ref().context("details")?["shops"][0]["reauthorized"] == true, "{connect:?}");
    Ok(())
}

#[tokio::test]
async fn oauth_code_flow_end_to_end_through_the_loopback_listener() -> anyhow::Result<()> {
    let e = env().await?;
    let c = e.sandbox.config().clone();
    let request = AuthorizationRequest { priority: Some(3), ..authorization_request(&e) };
    let mut pending = e.console.begin_authorization(request.clone()).await?;
    let link = pending.url().to_owned();
    let redirect = pending.redirect_uri().context("a listener")?.to_owned();
    ensure!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let waiter = tokio::spawn(async move {
        let code = pending.wait_for_code(Duration::from_secs(20)).await;
        (pending, code)
    });
    let http = reqwest::Client::builder().no_proxy().build()?;
    // A forged redirect with another state is refused and does not end the wait.
    let forged = http.get(format!("{redirect}?code=forged&state=nope")).send().await?;
    assert_eq!(forged.status().as_u16(), 400);
    // The "browser": opens the link; the sandbox 302s to the listener with code and state.
    let page = http.get(&link).send().await?;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await?.contains("received the authorization"));
    let (pending, code) = waiter.await?;
    let code = code?;
    ensure!(code != "forged");
    // Single use: the listener is closed once the code arrived.
    ensure!(http.get(format!("{redirect}?code=x")).send().await.is_err(), "the listener must be closed");

    let shops = e.console.complete_authorization(pending, &code, "test").await?;
    assert_eq!(shops.len(), 1);
    assert_eq!(shops[0].name, c.shop_name, "named after the TikTok shop");
    assert_eq!(shops[0].tts_shop_id, c.shop_id);
    assert_eq!(shops[0].region, c.shop_region);
    assert_eq!(shops[0].priority, 3);
    let client = e.console.connections()?.client(&shops[0])?;
    client
        .search_orders(&tiktok_shop::models::order::OrderSearchFilter::default(), &tiktok_shop::models::order::OrderSearchPage::first(5))
        .await?;

    // A code is single use: completing again with it fails and says so; the seller refusing is an error.
    let again = e.console.begin_authorization(request.clone()).await?;
    let err = e.console.complete_authorization(again, &code, "test").await.err().context("a used code")?;
    assert_eq!(err.kind(), "api");
    let mut denied = e.console.begin_authorization(request).await?;
    let link = format!("{}&deny=1", denied.url());
    let browser = tokio::spawn(async move { http.get(link).send().await });
    let err = denied.wait_for_code(Duration::from_secs(20)).await.err().context("denied")?;
    assert_eq!(err.kind(), "authorization");
    assert!(err.to_string().contains("auth_denied"), "{err}");
    browser.await??;
    Ok(())
}

#[tokio::test]
async fn the_wait_for_a_redirect_times_out_with_the_way_out() -> anyhow::Result<()> {
    let e = env().await?;
    // No consent page given: the link goes to TikTok's.
    let request = AuthorizationRequest { authorize_url: None, ..authorization_request(&e) };
    let mut pending = e.console.begin_authorization(request).await?;
    assert!(pending.url().starts_with(creatorflow_engine::DEFAULT_AUTHORIZE_URL));
    assert!(pending.url().contains("state="));
    let err = pending.wait_for_code(Duration::from_millis(200)).await.err().context("timeout")?;
    assert!(err.to_string().contains("--code"), "{err}");
    // A pasted redirect URL is checked against the state; a bare code is taken as is.
    assert!(pending.code_from_pasted("http://127.0.0.1:1/callback?code=abc&state=wrong").is_err());
    assert_eq!(pending.code_from_pasted("  abc \n")?, "abc");
    Ok(())
}

/// The console commands' SQL on PostgreSQL (audit trail, purge, lookups by name and TikTok id), in a
/// schema of its own. Needs CREATORFLOW_TEST_PG_URL (scripts/pg-test-server.sh) or CREATORFLOW_SKIP_PG=1.
#[tokio::test]
async fn console_commands_on_postgres() -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = match std::env::var("CREATORFLOW_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("CREATORFLOW_SKIP_PG").as_deref() == Ok("1") => {
            eprintln!("skipping PostgreSQL test: CREATORFLOW_SKIP_PG=1");
            return Ok(());
        }
        _ => anyhow::bail!(
            "CREATORFLOW_TEST_PG_URL is not set: run `scripts/pg-test-server.sh start` and export the URL it \
             prints, or set CREATORFLOW_SKIP_PG=1 to skip PostgreSQL tests"
        ),
    };
    let schema = format!("console_{}_{}", std::process::id(), fastrand::u32(..));
    let mut admin = sqlx::PgConnection::connect(&url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let result = async {
        let e = env().await?;
        let console = Console::open(ConsoleConfig {
            data_dir: e.dir.path().to_path_buf(),
            database_url: Some(format!("{url}{sep}options[search_path]={schema}")),
        })
        .await?
        .with_secret_store(e.secrets.clone());
        let shop = console.add_shop(add_request(&e, "main"), "alice").await?;
        assert_eq!(console.list_shops().await?.len(), 1);
        let ids = console.store().upsert_orders(&[order(shop.id, "576684019603311365")?]).await?;
        let order_id = ids[0].id();
        assert_eq!(console.show_order("576684019603311365").await?.order.id, order_id);
        assert_eq!(console.show_order(&order_id.to_string()).await?.order.tts_order_id, "576684019603311365");
        let q = creatorflow_engine::OrderQuery { search: Some("mug".into()), shop: Some("main".into()), ..Default::default() };
        assert_eq!(console.list_orders(&q).await?.orders.len(), 1);

        let job = console.queue().insert(NewJob::from_value("ship", json!({"order_id": order_id}))).await?.id();
        console.discard_job(job, "checking with the buyer", "alice").await?;
        let report = console.retry_all_failed(None, "bob").await?;
        assert!(report.retried.is_empty(), "a person's discard is not retried by --all-failed");
        console.retry_job(job, "bob").await?;
        let store = console.store();
        store.set_stock(1, "MUG-1", true, 5).await?;
        validate_with_stock(store, order_id).await?;
        let removed = console.remove_shop("main", "carol").await?;
        assert_eq!(removed.units_released, 1);
        assert_eq!(store.get_inventory(1, "MUG-1").await?.context("stock")?.reserved, 0);
        assert_eq!(removed.jobs_cancelled, vec![job]);
        assert_eq!(removed.orders_deleted, 1);
        let audit = console.show_job(job).await?.audit;
        let actions: Vec<(&str, &str)> = audit.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
        assert_eq!(actions, vec![("job_discard", "alice"), ("job_retry", "bob"), ("shop_remove", "carol")]);
        assert_eq!(audit[0].reason.as_deref(), Some("checking with the buyer"));
        assert!(console.list_shops().await?.is_empty());
        console.queue().db().close().await;
        anyhow::Ok(())
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&mut admin).await?;
    result
}

/// One seller's authorization covers two shops: `shop add` gives the second the same pair without an
/// open_id. TikTok rotates the refresh token on every refresh, so copies would lock each other out; the
/// shops end up sharing the authorization's one pair, in this process (one manager) and in another
/// process over the same secret store (it adopts the newer pair instead of spending a dead token).
#[tokio::test]
async fn shops_of_one_authorization_share_its_pair_across_refreshes_and_processes() -> anyhow::Result<()> {
    let e = env().await?;
    let a = e.console.add_shop(add_request(&e, "main"), "alice").await?;
    let (name, pair) = e.console.connections()?.stored_tokens(&a)?.context("tokens")?;
    ensure!(name.starts_with("tokens/auth/"), "the lookup's refresh learnt the authorization: {name}");
    let mut second = add_request(&e, "second");
    second.shop_id = Some("7494726673780140002".into());
    second.region = Some("GB".into());
    second.access_token = pair.access_token.clone();
    second.refresh_token = pair.refresh_token.clone();
    let b = e.console.add_shop(second, "alice").await?;
    let filter = tiktok_shop::models::order::OrderSearchFilter::default();
    let page = tiktok_shop::models::order::OrderSearchPage::first(5);

    // a's client holds the pair now; b's pair has no known expiry, so its first call refreshes,
    // rotating the authorization's refresh token under a's feet.
    let conns = e.console.connections()?;
    let a_client = conns.client(&a)?;
    conns.client(&b)?.search_orders(&filter, &page).await?;
    let (b_name, _) = conns.stored_tokens(&b)?.context("b tokens")?;
    ensure!(b_name == name, "b's refresh moved its pair to the authorization: {b_name}");
    // a still works: its manager adopts the pair b's refresh stored instead of spending the dead token.
    a_client.tokens().refresh_now().await.context("a refreshes with the newest refresh token")?;
    a_client.search_orders(&filter, &page).await?;

    // Another process (fresh connections over the same store) refreshes; this one then adopts that pair.
    let other = creatorflow_engine::connection::Connections::new(e.secrets.clone());
    other.client(&b)?.tokens().refresh_now().await.context("the other process refreshes")?;
    let before = conns.client(&b)?.tokens().snapshot().await;
    let stale = before.access_token.clone();
    let fresh = conns.client(&b)?.tokens().refresh_if_current(&stale).await.context("adopted, not refreshed")?;
    ensure!(fresh != stale, "the newer pair from the store is in use");
    let stored = conns.stored_tokens(&b)?.context("tokens")?.1;
    ensure!(stored.access_token == fresh, "adopting spent no refresh: the stored pair is the one in use");
    conns.client(&a)?.search_orders(&filter, &page).await?;

    // Removing one shop keeps the shared pair for the other; removing both leaves no pair behind.
    e.console.remove_shop("second", "alice").await?;
    ensure!(e.secrets.get(&name)?.is_some(), "a still uses the authorization's pair");
    e.console.connections()?.client(&a)?.search_orders(&filter, &page).await?;
    e.console.remove_shop("main", "alice").await?;
    ensure!(e.secrets.list_names().is_empty(), "{:?}", e.secrets.list_names());
    Ok(())
}

/// What validate writes for an order of one tracked MUG-1: the reservation and the work log.
async fn validate_with_stock(store: &Store, order_id: i64) -> anyhow::Result<()> {
    let units = [("MUG-1".to_owned(), 1)];
    let mut tx = store.begin().await?;
    let reserved = store.reserve_many_tx(&mut tx, &[StockRequest { creator_id: 1, units: &units }]).await?;
    ensure!(matches!(reserved[..], [Ok(true)]), "{reserved:?}");
    let package_ids = ["pkg-1".to_owned()];
    store.start_fulfillments_tx(&mut tx, &[NewFulfillment { order_id, package_ids: &package_ids, stock_reserved: true }]).await?;
    tx.commit().await?;
    Ok(())
}

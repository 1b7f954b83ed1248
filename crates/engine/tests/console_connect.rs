//! The Shops screen's engine side: connecting a shop over several calls (the redirect to the loopback
//! listener, a pasted redirect URL, a typo, a cancel) against a sandbox shop, with the shops landing in
//! the real database while the demo runs; and the demo shop's fault controls (an outage the pipeline
//! rides out, then a healthy shop again).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use creatorflow_engine::{AuditEntry, AuditQuery, ConnectRequest, ConnectSession, ConnectState, Console, ConsoleConfig, DemoFaultChange, ServiceOptions};
use creatorflow_engine::connection::shop_tokens_name;
use creatorflow_engine::store::AuditAction;
use tiktok_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tiktok_shop::{MemoryStore, SecretStore};

fn request(sandbox: &SandboxHandle) -> ConnectRequest {
    let c = sandbox.config();
    let base = sandbox.base_url().to_owned();
    ConnectRequest {
        app_key: c.app_key.clone(),
        // Pasted with a stray newline, as people do.
        app_secret: format!("{}\n", c.app_secret),
        api_base: Some(base.clone()),
        auth_base: Some(base.clone()),
        authorize_url: Some(format!("{base}/sandbox/oauth/authorize")),
        handover_method: None,
        priority: Some(4),
    }
}

fn demo_options() -> ServiceOptions {
    let demo = SandboxConfig { initial_orders: 20, orders_per_minute: 0.0, ..SandboxConfig::with_seed(5) };
    ServiceOptions { demo_when_no_shop: true, max_workers: 8, poll_interval: Duration::from_millis(200), demo_sandbox: demo }
}

/// The `shop_connect` events of `console`'s database, newest first.
async fn connect_events(console: &Console) -> anyhow::Result<Vec<AuditEntry>> {
    let q = AuditQuery { action: Some(AuditAction::ShopConnect), ..AuditQuery::default() };
    Ok(console.audit_log(&q).await?.events)
}

async fn until_finished(console: &Console, id: &str) -> anyhow::Result<ConnectSession> {
    let start = Instant::now();
    loop {
        let s = console.connect_status(id)?;
        if !matches!(s.state, ConnectState::Waiting | ConnectState::Completing) {
            return Ok(s);
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("the session did not finish: {s:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shop_connected_while_the_demo_runs_goes_to_the_real_database() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secrets = Arc::new(MemoryStore::new());
    let config = ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None };
    let console = Console::open(config.clone()).await?.with_secret_store(secrets.clone()).start_service(demo_options()).await?;
    ensure!(console.is_demo());
    let shop = Sandbox::start(SandboxConfig { initial_orders: 2, ..SandboxConfig::with_seed(11) }, "127.0.0.1:0".parse()?).await?;

    let session = console.begin_connect(request(&shop), "ana@support").await?;
    ensure!(session.state == ConnectState::Waiting && session.restart_required, "{session:?}");
    ensure!(session.expires_in_ms > 9 * 60_000, "ten minutes to authorize: {}", session.expires_in_ms);
    let redirect = session.redirect_uri.clone().context("a loopback listener")?;
    ensure!(redirect.starts_with("http://127.0.0.1:"));
    ensure!(!session.url.contains(&session.id), "the session id is not the OAuth state");
    // The "browser" opens the link; the sandbox redirects to the listener with a code.
    let http = reqwest::Client::builder().no_proxy().build()?;
    let page = http.get(&session.url).send().await?;
    ensure!(page.text().await?.contains("received the authorization"));
    let done = until_finished(&console, &session.id).await?;
    ensure!(done.state == ConnectState::Connected, "{done:?}");
    ensure!(done.shops.len() == 1 && done.shops[0].name == shop.config().shop_name && done.shops[0].priority == 4, "{:?}", done.shops);

    // The demo's own database still holds only the demo shop; the real one holds the new shop, and its
    // tokens are in the console's secret store.
    let demo_shops: Vec<String> = console.list_shops().await?.into_iter().map(|s| s.name).collect();
    ensure!(demo_shops == ["Demo shop"], "{demo_shops:?}");
    let home: Vec<String> = console.home().list_shops().await?.into_iter().map(|s| s.name).collect();
    ensure!(home == [shop.config().shop_name.clone()], "{home:?}");
    let stored = console.home().list_shops().await?;
    ensure!(secrets.get(&shop_tokens_name(stored[0].id))?.is_some(), "the tokens are in the secret store");
    // Who connected what, in the real database's audit trail, without a secret.
    let events = connect_events(&console.home()).await?;
    ensure!(events.len() == 1, "{events:?}");
    let ev = &events[0];
    ensure!(ev.actor == "ana@support" && ev.job_count == 0 && ev.at > 0, "{ev:?}");
    let details = ev.details.clone().context("details")?;
    ensure!(details["shops"][0]["name"] == shop.config().shop_name.as_str(), "{details}");
    ensure!(details["shops"][0]["id"] == stored[0].id && details["shops"][0]["reauthorized"] == false, "{details}");
    ensure!(details["app_key"] == shop.config().app_key.as_str(), "{details}");
    ensure!(!details.to_string().contains(&shop.config().app_secret), "no secret in the audit trail");
    // The console shows the demo database until the restart: its audit log has the event too, saying
    // where the shops went.
    let shown = connect_events(&console).await?;
    ensure!(shown.len() == 1 && shown[0].actor == "ana@support", "the demo's audit log shows the connect: {shown:?}");
    let shown_details = shown[0].details.clone().context("details")?;
    ensure!(shown_details["shops"] == details["shops"], "{shown_details}");
    ensure!(shown_details["stored_in"].as_str().is_some_and(|d| d.contains("creatorflow.db") && !d.contains("creatorflow-demo")), "{shown_details}");
    console.shutdown(Duration::from_secs(5)).await?;

    // The next start finds the shop and works it instead of the demo.
    let next = Console::open(config).await?.with_secret_store(secrets).start_service(demo_options()).await?;
    ensure!(!next.is_demo(), "a connected shop ends the demo");
    next.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

#[tokio::test]
async fn a_pasted_redirect_completes_a_typo_does_not_end_it_and_cancel_stops_the_wait() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None };
    let console = Console::open(config).await?.with_secret_store(Arc::new(MemoryStore::new()));
    let shop = Sandbox::start(SandboxConfig { initial_orders: 0, ..SandboxConfig::with_seed(12) }, "127.0.0.1:0".parse()?).await?;

    // Nobody to name: refused before anything listens.
    ensure!(console.begin_connect(request(&shop), "").await.err().context("no actor")?.kind() == "invalid_input");
    let session = console.begin_connect(request(&shop), "web@127.0.0.1").await?;
    ensure!(!session.restart_required, "no demo: the running pipeline picks the shop up");
    // A typo is refused and the session keeps waiting.
    let err = console.connect_with_code(&session.id, "not a code").await.err().context("a malformed code")?;
    ensure!(err.kind() == "authorization", "{err}");
    ensure!(console.connect_status(&session.id)?.state == ConnectState::Waiting);
    // The browser is elsewhere (no redirect followed here): the person pastes the redirect URL.
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
    let found = http.get(&session.url).send().await?;
    let location = found.headers().get("location").context("a redirect")?.to_str()?.to_owned();
    let forged = location.replace("state=", "state=x");
    ensure!(console.connect_with_code(&session.id, &forged).await.is_err(), "a redirect URL with another state");
    let done = console.connect_with_code(&session.id, &location).await?;
    ensure!(done.state == ConnectState::Connected && done.shops.len() == 1, "{done:?}");
    ensure!(console.list_shops().await?.len() == 1);
    // Finished: the listener is closed and the session takes no more codes.
    let redirect = session.redirect_uri.context("listener")?;
    ensure!(http.get(format!("{redirect}?code=x")).send().await.is_err(), "the listener must be closed");
    ensure!(console.connect_with_code(&session.id, "abc").await.is_err());
    let events = connect_events(&console).await?;
    ensure!(events.len() == 1 && events[0].actor == "web@127.0.0.1", "{events:?}");

    // Authorizing the same shop again is recorded as a re-authorization of the shop already stored.
    let again = console.begin_connect(request(&shop), "ana").await?;
    let location = http.get(&again.url).send().await?.headers().get("location").context("a redirect")?.to_str()?.to_owned();
    let done = console.connect_with_code(&again.id, &location).await?;
    ensure!(done.state == ConnectState::Connected && console.list_shops().await?.len() == 1, "{done:?}");
    let events = connect_events(&console).await?;
    ensure!(events.len() == 2 && events[0].actor == "ana", "{events:?}");
    ensure!(events[0].details.as_ref().is_some_and(|d| d["shops"][0]["reauthorized"] == true), "{:?}", events[0].details);

    let waiting = console.begin_connect(request(&shop), "ana").await?;
    let cancelled = console.cancel_connect(&waiting.id).await?;
    ensure!(cancelled.state == ConnectState::Cancelled && cancelled.expires_in_ms == 0, "{cancelled:?}");
    ensure!(console.connect_status(&waiting.id)?.state == ConnectState::Cancelled);
    ensure!(console.connect_status("nope").is_err());
    ensure!(connect_events(&console).await?.len() == 2, "a cancelled session records nothing");

    // Bad requests fail before anything listens.
    let mut bad = request(&shop);
    bad.app_secret = " ".into();
    ensure!(console.begin_connect(bad, "ana").await.is_err());
    let mut bad = request(&shop);
    bad.priority = Some(10);
    ensure!(console.begin_connect(bad, "ana").await.err().context("priority")?.kind() == "invalid_input");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_shops_fault_controls_take_it_offline_and_back() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None };
    let read_only = Console::open(config.clone()).await?;
    ensure!(read_only.demo_faults().err().context("no demo")?.kind() == "not_demo");
    drop(read_only);
    let console = Console::launch(config, demo_options()).await?;
    let healthy = console.demo_faults()?;
    ensure!(healthy.outage_remaining_ms == 0 && healthy.error_rate == 0.0, "{healthy:?}");

    let out = console.change_demo_faults(&DemoFaultChange::Outage { seconds: 60 })?;
    ensure!(out.outage_remaining_ms > 55_000, "{out:?}");
    // The pipeline notices: the breaker opens and the console reports TikTok unreachable.
    let start = Instant::now();
    loop {
        let s = console.live_snapshot().await?;
        if s.offline.offline {
            break;
        }
        ensure!(start.elapsed() < Duration::from_secs(45), "never offline: {:?} {:?}", s.offline, s.breakers);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rates = console.change_demo_faults(&DemoFaultChange::Rates { error_rate: 0.2, throttle_rate: 0.1, timeout_rate: 0.0, latency_ms: 200 })?;
    ensure!(rates.error_rate == 0.2 && rates.latency_ms == 200 && rates.outage_remaining_ms > 0, "rates keep the running outage: {rates:?}");
    ensure!(console.change_demo_faults(&DemoFaultChange::Rates { error_rate: 0.95, throttle_rate: 0.0, timeout_rate: 0.0, latency_ms: 0 }).is_err());
    let clear = console.change_demo_faults(&DemoFaultChange::Clear)?;
    ensure!(clear.outage_remaining_ms == 0 && clear.error_rate == 0.0 && clear.latency_ms == 0, "{clear:?}");
    console.shutdown(Duration::from_secs(5)).await?;
    ensure!(console.demo_faults().is_err(), "the sandbox is gone after shutdown");
    Ok(())
}

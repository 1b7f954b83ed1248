//! `shop add|list|remove|connect` through the real binary against an in-process sandbox; a machine
//! without a keyring; bad arguments; a damaged database file.

mod common;

use anyhow::{Context, ensure};
use common::{Cli, contains, database_bytes};
use tiktok_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

async fn sandbox() -> anyhow::Result<SandboxHandle> {
    let mut cfg = SandboxConfig::with_seed(5);
    cfg.initial_orders = 2;
    Ok(Sandbox::start(cfg, "127.0.0.1:0".parse()?).await?)
}

// Multi-thread: the sandbox serves on the runtime's workers while the test blocks on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_add_from_env_then_list_and_remove_never_shows_a_secret() -> anyhow::Result<()> {
    let sb = sandbox().await?;
    let c = sb.config().clone();
    let cli = Cli::new()?;
    let base = sb.base_url().to_owned();
    let secrets = [c.app_secret.as_str(), c.access_token.as_str(), c.refresh_token.as_str()];

    let mut add = cli.command(&[
        "--actor", "ops@desk", "shop", "add", "--name", "demo", "--app-key", &c.app_key, "--shop-cipher", &c.shop_cipher,
        "--api-base", &base, "--auth-base", &base, "--handover", "DROP_OFF", "--priority", "-2",
    ]);
    add.env("TIKTOK_APP_SECRET", &c.app_secret)
        .env("TIKTOK_ACCESS_TOKEN", &c.access_token)
        .env("TIKTOK_REFRESH_TOKEN", &c.refresh_token);
    let out = tokio::task::block_in_place(|| common::run(add))?.ok()?;
    ensure!(out.stdout.contains("saved shop demo (TikTok shop 7494726673780148744, region GB)"), "{}", out.stdout);

    let list = tokio::task::block_in_place(|| cli.run(&["shop", "list"]))?.ok()?;
    ensure!(list.stdout.contains("demo") && list.stdout.contains("DROP_OFF"), "{}", list.stdout);
    let json = tokio::task::block_in_place(|| cli.run(&["shop", "list", "--json"]))?.ok()?;
    let shops = json.json()?;
    assert_eq!(shops[0]["name"], "demo");
    assert_eq!(shops[0]["tts_shop_id"], c.shop_id);
    assert_eq!(shops[0]["priority"], -2);
    for out in [&out, &list, &json] {
        for s in secrets {
            ensure!(!out.all().contains(s), "a secret was printed");
        }
    }
    let db = database_bytes(&cli.data_dir());
    ensure!(!db.is_empty());
    for s in secrets {
        ensure!(!contains(&db, s), "a secret is in the database file");
    }
    let secret_file = cli.data_dir().join("secrets.json");
    ensure!(contains(&std::fs::read(&secret_file)?, &c.app_secret), "the file store holds the secrets");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret_file)?.permissions().mode() & 0o777, 0o600);
    }

    let removed = tokio::task::block_in_place(|| cli.run(&["--actor", "ops@desk", "shop", "remove", "demo"]))?.ok()?;
    ensure!(removed.stdout.contains("removed shop demo: 0 cached orders deleted, 0 unfinished jobs cancelled, 0 reserved stock units released"), "{}", removed.stdout);
    ensure!(!contains(&std::fs::read(&secret_file)?, &c.app_secret), "secrets deleted with the shop");
    let empty = tokio::task::block_in_place(|| cli.run(&["shop", "list", "--json"]))?.ok()?;
    assert_eq!(empty.json()?, serde_json::json!([]));
    let again = tokio::task::block_in_place(|| cli.run(&["shop", "remove", "demo"]))?;
    assert_eq!(again.code, 1);
    ensure!(again.stderr.contains("no shop named \"demo\"") && again.stderr.contains("shop list"), "{}", again.stderr);

    // The add and the remove are in the audit trail with the actor (the engine writes them, as for the
    // console's own shop changes); the failed remove is not.
    let config = creatorflow_engine::ConsoleConfig { data_dir: cli.data_dir(), database_url: None };
    let console = creatorflow_engine::Console::open(config).await?;
    let events = console.audit_log(&creatorflow_engine::AuditQuery::default()).await?.events;
    let got: Vec<(&str, &str)> = events.iter().rev().map(|e| (e.action.as_str(), e.actor.as_str())).collect();
    ensure!(got == [("shop_add", "ops@desk"), ("shop_remove", "ops@desk")], "{got:?}");
    let added = events[1].details.clone().context("details")?;
    ensure!(added["created"] == true && added["after"]["handover_method"] == "DROP_OFF", "{added}");
    for s in secrets {
        ensure!(!added.to_string().contains(s), "a secret is in the audit trail");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_connect_with_a_pasted_code_stores_the_authorized_shop() -> anyhow::Result<()> {
    let sb = sandbox().await?;
    let c = sb.config().clone();
    let base = sb.base_url().to_owned();
    // The seller authorizes elsewhere; the redirect lands on a page that shows the code (pasted here).
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
    let resp = http
        .get(format!("{base}/sandbox/oauth/authorize"))
        .query(&[("app_key", c.app_key.as_str()), ("redirect_uri", "https://example.invalid/cb"), ("state", "s")])
        .send()
        .await?;
    let location = resp.headers().get("location").context("a redirect")?.to_str()?.to_owned();
    let code = url::Url::parse(&location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .context("a code")?;
    let cli = Cli::new()?;
    let mut connect = cli.command(&[
        "shop", "connect", "--app-key", &c.app_key, "--api-base", &base, "--auth-base", &base, "--code", &code,
        "--json",
    ]);
    connect.env("TIKTOK_APP_SECRET", &c.app_secret);
    let out = tokio::task::block_in_place(|| common::run(connect))?.ok()?;
    let shops = out.json()?;
    assert_eq!(shops[0]["name"], c.shop_name);
    assert_eq!(shops[0]["region"], c.shop_region);
    ensure!(!out.all().contains(&c.app_secret));
    // The code is single use.
    let mut again = cli.command(&[
        "shop", "connect", "--app-key", &c.app_key, "--api-base", &base, "--auth-base", &base, "--code", &code,
    ]);
    again.env("TIKTOK_APP_SECRET", &c.app_secret);
    let again = tokio::task::block_in_place(|| common::run(again))?;
    assert_eq!(again.code, 1, "{}", again.all());
    ensure!(!again.all().contains("panicked"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_connect_prints_the_link_and_takes_the_redirect_on_loopback() -> anyhow::Result<()> {
    use std::io::BufRead;
    let sb = sandbox().await?;
    let c = sb.config().clone();
    let base = sb.base_url().to_owned();
    let authorize = format!("{base}/sandbox/oauth/authorize");
    let cli = Cli::new()?;
    let mut cmd = cli.command(&[
        "shop", "connect", "--app-key", &c.app_key, "--api-base", &base, "--auth-base", &base,
        "--authorize-url", &authorize, "--timeout-secs", "30", "--priority", "4",
    ]);
    cmd.env("TIKTOK_APP_SECRET", &c.app_secret)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn()?;
    let stderr = child.stderr.take().context("stderr")?;
    // The link is printed on stderr; the rest of stderr is drained so the child never blocks on it.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.trim().starts_with("http") {
                let _ = tx.send(line.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let link = tokio::task::block_in_place(|| rx.recv_timeout(std::time::Duration::from_secs(30)))
        .context("the link was not printed")?;
    ensure!(link.starts_with(&authorize) && link.contains("state=") && link.contains("redirect_uri="), "{link}");
    // The browser: the sandbox redirects to the CLI's listener, which answers the page.
    let page = reqwest::Client::builder().no_proxy().build()?.get(&link).send().await?;
    ensure!(page.text().await?.contains("received the authorization"));
    let out = tokio::task::block_in_place(|| child.wait_with_output())?;
    let err = reader.join().map_err(|_| anyhow::anyhow!("stderr reader panicked"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{err}");
    ensure!(stdout.contains(&format!("connected shop {} (TikTok shop {}, region GB)", c.shop_name, c.shop_id)), "{stdout}");
    ensure!(!stdout.contains(&c.app_secret) && !err.contains(&c.app_secret));
    let list = tokio::task::block_in_place(|| cli.run(&["shop", "list", "--json"]))?.ok()?.json()?;
    assert_eq!(list[0]["priority"], 4);
    Ok(())
}

#[test]
fn without_a_keyring_secret_commands_name_the_way_out_and_the_rest_works() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    let no_keyring = |args: &[&str]| {
        let mut c = cli.command(args);
        // Point the Secret Service client at a bus that does not exist (a CI session may have a real one).
        c.env_remove("CREATORFLOW_SECRET_STORE")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/creatorflow-test-bus")
            .env_remove("DISPLAY")
            .env("TIKTOK_APP_SECRET", "s")
            .env("TIKTOK_ACCESS_TOKEN", "a")
            .env("TIKTOK_REFRESH_TOKEN", "r");
        common::run(c)
    };
    let out = no_keyring(&["shop", "add", "--name", "x", "--app-key", "k", "--shop-cipher", "c", "--shop-id", "1"])?;
    assert_eq!(out.code, 1, "{}", out.all());
    ensure!(out.stderr.contains("CREATORFLOW_SECRET_STORE=file"), "{}", out.stderr);
    let orders = no_keyring(&["orders", "list"])?.ok()?;
    ensure!(orders.stdout.contains("no orders match"), "{}", orders.stdout);
    no_keyring(&["shop", "list"])?.ok()?;
    no_keyring(&["jobs", "list", "--json"])?.ok()?;
    Ok(())
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    let cases: &[(&[&str], &str)] = &[
        (&["shop", "add", "--name", "x"], "--app-key"),
        (&["shop", "add", "--name", "", "--app-key", "k", "--shop-cipher", "c"], "must not be empty"),
        (&["shop", "add", "--name", "x", "--app-key", "k", "--shop-cipher", "c", "--handover", "BOAT"], "PICKUP"),
        (&["orders", "list", "--limit", "0"], "--limit"),
        (&["jobs", "list", "--state", "stuck"], "use one of available"),
        (&["jobs", "retry"], "<ID|--all-failed>"),
        (&["jobs", "retry", "3", "--all-failed"], "cannot be used with"),
        (&["jobs", "discard", "3"], "--reason"),
        (&["jobs", "discard", "3", "--reason", "  "], "say why"),
        (&["jobs", "show", "three"], "invalid digit"),
        (&["shop", "frobnicate"], "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let out = cli.run(args)?;
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        ensure!(out.stderr.contains(needle), "{args:?}: expected {needle:?} in {}", out.stderr);
    }
    Ok(())
}

#[test]
fn a_damaged_database_file_is_a_clear_error_not_a_panic() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    std::fs::create_dir_all(cli.data_dir())?;
    std::fs::write(cli.data_dir().join("creatorflow.db"), vec![0x5a_u8; 8192])?;
    for args in [&["orders", "list"][..], &["jobs", "list"], &["shop", "list"], &["status"]] {
        let out = cli.run(args)?;
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        ensure!(out.stderr.contains("is damaged or not a CreatorFlow database"), "{}", out.stderr);
        ensure!(out.stderr.contains("move the file aside"), "{}", out.stderr);
        ensure!(!out.all().contains("panicked"), "{}", out.all());
    }
    Ok(())
}

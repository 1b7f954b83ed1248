//! Issue 4's kill loop, with real processes: the sandbox runs as its own `creatorflow-cli sandbox`
//! process (so it outlives every kill), and `creatorflow-cli run` is stopped with SIGINT once and then
//! killed with SIGKILL at random moments at least 50 times during a 2,000-order run, each time
//! restarted on the same data dir. Afterwards: no order lost, no package shipped twice, every shipped
//! order recorded once, no job left behind, and SQLite's integrity check passes.
//!
//! The seed of the kill timings is printed; `KILL_LOOP_SEED=N` replays a run's timings (the moments
//! the kills land in the pipeline's work still vary with the machine's load).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use common::{BIN, Cli};
use serde_json::Value;

const ORDERS: usize = 2_000;
const KILLS: usize = 50;
/// Orders created after the kill loop, for the SIGINT check.
const EXTRA_ORDERS: usize = 300;
/// Enough rounds for 50 landed kills even if some runs finish on their own before their kill.
const MAX_ROUNDS: usize = 120;
const APP_KEY: &str = "killloopkey";
const APP_SECRET: &str = "kill-loop-app-secret-0123456789abcdef";
const CIPHER: &str = "ROW_killloopcipher";
const ACCESS: &str = "ROW_at_killloop";
const REFRESH: &str = "ROW_rt_killloop";
/// The sandbox's fixed TikTok shop id (SandboxConfig::with_seed).
const SHOP_ID: &str = "7494726673780148744";
/// TikTok statuses of an order whose parcel left the seller.
const SHIPPED: [&str; 4] = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"];

/// splitmix64: a seeded, dependency-free source for the kill timings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The sandbox process; killed when dropped, so a failing test leaves nothing behind.
struct Sandbox {
    child: Child,
    base: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    fn start() -> anyhow::Result<Sandbox> {
        let orders = ORDERS.to_string();
        // Port 0: the sandbox binds a free port and prints its URL, so no other test can take it first.
        // Holds, unpaid orders and buyer cancellations resolve within seconds, and every order is
        // TikTok-shipped: `run` has no carrier adapter, so seller-shipped orders would rightly wait
        // for a person to enter their tracking number.
        let mut child = Command::new(BIN)
            .args(["sandbox", "--port", "0", "--orders", &orders, "--orders-per-minute", "0"])
            .args(["--app-key", APP_KEY, "--app-secret", APP_SECRET, "--shop-cipher", CIPHER])
            .args(["--access-token", ACCESS, "--refresh-token", REFRESH])
            .args(["--on-hold-secs", "2", "--unpaid-resolve-secs", "3", "--cancel-window-secs", "3"])
            .args(["--tiktok-shipping-share", "1"])
            .env("CREATORFLOW_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the sandbox")?;
        let stdout = child.stdout.take().context("sandbox stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        // Keep reading: a closed pipe would make the sandbox's next print fail and stop it.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let base = first
            .trim()
            .strip_prefix("tiktok sandbox listening on ")
            .with_context(|| format!("unexpected first sandbox line {first:?}"))?
            .to_owned();
        ensure!(base.starts_with("http://127.0.0.1:"), "sandbox not on loopback: {base}");
        Ok(Sandbox { child, base })
    }
}

/// HTTP and SQLite from a synchronous test: one small runtime.
struct Io {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Io {
    fn new() -> anyhow::Result<Io> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build()?;
        Ok(Io { rt, http })
    }

    fn stats(&self, sb: &Sandbox) -> anyhow::Result<Value> {
        let url = format!("{}/sandbox/admin/stats", sb.base);
        self.rt.block_on(async {
            let resp = self.http.get(&url).send().await?.error_for_status()?;
            Ok(resp.json::<Value>().await?)
        })
    }

    /// Polls the sandbox's stats until it answers.
    fn wait_ready(&self, sb: &Sandbox) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.stats(sb) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => bail!("sandbox at {} never answered: {e}", sb.base),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

fn status_count(stats: &Value, status: &str) -> u64 {
    stats["orders_by_status"][status].as_u64().unwrap_or(0)
}

/// A `run` process; killed when dropped, so a failed check leaves no process working on.
struct RunProcess(Child);

impl Drop for RunProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `run` on the test's data dir, its stderr appended to `log` (read back when something fails).
fn spawn_run(cli: &Cli, log: &Path, extra: &[&str]) -> anyhow::Result<RunProcess> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut c = cli.command(&["run", "--until-idle", "--poll-seconds", "0.3"]);
    c.args(extra).stdout(Stdio::null()).stderr(file);
    Ok(RunProcess(c.spawn()?))
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("plain 0600 file")).collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The local database, opened read-only (no run is alive when this is called).
async fn local_db(data_dir: &Path) -> anyhow::Result<sqlx::SqlitePool> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(data_dir.join("creatorflow.db")).read_only(true);
    Ok(sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?)
}

async fn job_states(db: &sqlx::SqlitePool) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state").fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

#[test]
fn sigkill_at_random_moments_loses_no_order_and_ships_none_twice() -> anyhow::Result<()> {
    let started = Instant::now();
    let seed = std::env::var("KILL_LOOP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    eprintln!("kill loop: seed {seed} (KILL_LOOP_SEED={seed} replays the kill timings)");
    let mut rng = Rng(seed);
    let io = Io::new()?;
    let sb = Sandbox::start()?;
    io.wait_ready(&sb)?;
    let cli = Cli::new()?;
    let log: PathBuf = cli.dir.path().join("run.log");

    let mut add = cli.command(&[
        "shop", "add", "--name", "killloop", "--app-key", APP_KEY, "--shop-cipher", CIPHER, "--shop-id", SHOP_ID,
        "--api-base", &sb.base, "--auth-base", &sb.base,
    ]);
    add.env("TIKTOK_APP_SECRET", APP_SECRET).env("TIKTOK_ACCESS_TOKEN", ACCESS).env("TIKTOK_REFRESH_TOKEN", REFRESH);
    common::run(add)?.ok()?;

    let before = io.stats(&sb)?;
    let initial: u64 = before["orders_by_status"].as_object().context("orders_by_status")?.values().filter_map(Value::as_u64).sum();
    assert_eq!(initial, ORDERS as u64, "{before}");

    // The kill loop, from the first sync on.
    let (mut landed, mut rounds, mut finished_first) = (0usize, 0usize, 0usize);
    while landed < KILLS && rounds < MAX_ROUNDS {
        rounds += 1;
        let mut child = spawn_run(&cli, &log, &["--max-seconds", "60"])?;
        std::thread::sleep(Duration::from_millis(rng.range(100, 1500)));
        if child.0.try_wait()?.is_none() {
            child.0.kill()?; // SIGKILL on Unix
        }
        let status = child.0.wait()?;
        if status.signal() == Some(libc::SIGKILL) {
            landed += 1;
        } else {
            // It finished on its own before the kill: that must be a clean, idle exit.
            ensure!(status.code() == Some(0), "round {rounds}: run exited with {status:?}\n{}", log_tail(&log));
            finished_first += 1;
        }
    }
    let mid = io.stats(&sb)?;
    eprintln!(
        "kill loop: {landed} kills landed in {rounds} rounds ({finished_first} runs were idle first); \
         {} orders shipped, {} still awaiting shipment",
        SHIPPED.iter().map(|s| status_count(&mid, s)).sum::<u64>(),
        status_count(&mid, "AWAITING_SHIPMENT")
    );
    ensure!(landed >= KILLS, "only {landed} of {rounds} kills landed on a running process");

    // Ctrl-C in the middle of work: a clean stop (exit 0) that hands every running job back. Fresh
    // orders give it work; some are held or cancelled by the buyer within seconds, as in a live shop.
    let created = Instant::now();
    let body = serde_json::json!({ "count": EXTRA_ORDERS });
    let url = format!("{}/sandbox/admin/orders", sb.base);
    io.rt.block_on(async { io.http.post(&url).json(&body).send().await?.error_for_status() })?;
    let calls_before = mid["ship_calls"].as_object().map_or(0, |m| m.len());
    let mut interrupted_run = spawn_run(&cli, &log, &["--max-seconds", "60"])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while io.stats(&sb)?["ship_calls"].as_object().map_or(0, |m| m.len()) == calls_before {
        ensure!(interrupted_run.0.try_wait()?.is_none(), "run exited before shipping anything:\n{}", log_tail(&log));
        ensure!(Instant::now() < deadline, "no ship call within 60 s:\n{}", log_tail(&log));
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child's pid; it has not been waited for, so the pid is still ours.
    ensure!(unsafe { libc::kill(interrupted_run.0.id() as libc::pid_t, libc::SIGINT) } == 0, "SIGINT not sent");
    let interrupted = Instant::now();
    let status = interrupted_run.0.wait()?;
    ensure!(status.code() == Some(0), "run after SIGINT: {status:?}\n{}", log_tail(&log));
    // Running jobs get 10 s of grace, then go back to the queue: the stop must not take much longer.
    ensure!(interrupted.elapsed() < Duration::from_secs(15), "SIGINT took {:?}", interrupted.elapsed());
    let states = io.rt.block_on(async { job_states(&local_db(&cli.data_dir()).await?).await })?;
    ensure!(!states.contains_key("running"), "jobs left running after a clean stop: {states:?}");
    eprintln!("kill loop: SIGINT stopped run cleanly in {:.1} s", interrupted.elapsed().as_secs_f64());
    // Let the new orders' holds and cancellations (within 3 s) land before the final run.
    std::thread::sleep(Duration::from_secs(4).saturating_sub(created.elapsed()));

    // The final run drains what is left and must reach idle.
    let mut last = spawn_run(&cli, &log, &["--max-seconds", "180"])?;
    let status = last.0.wait()?;
    ensure!(status.code() == Some(0), "final run: {status:?}\n{}", log_tail(&log));

    // TikTok's side: nothing shipped twice, nothing left to ship, every call correctly signed.
    let stats = io.stats(&sb)?;
    let duplicates = stats["duplicate_ships"].as_u64().context("duplicate_ships")?;
    let ship_calls = stats["ship_calls"].as_object().context("ship_calls")?;
    let by_status = &stats["orders_by_status"];
    eprintln!(
        "kill loop: kills {landed}, duplicate ships {duplicates}, ship calls {}, orders by status {by_status}, elapsed {:.1} s",
        ship_calls.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(duplicates, 0, "duplicate ship calls");
    assert_eq!(stats["rejected_signatures"].as_u64(), Some(0), "signatures rejected");
    for open in ["AWAITING_SHIPMENT", "UNPAID", "ON_HOLD", "PARTIALLY_SHIPPING"] {
        assert_eq!(status_count(&stats, open), 0, "{open} orders left: {by_status}");
    }
    let remote_total = (ORDERS + EXTRA_ORDERS) as u64;
    let shipped_remote: u64 = SHIPPED.iter().map(|s| status_count(&stats, s)).sum();
    assert_eq!(shipped_remote + status_count(&stats, "CANCELLED"), remote_total, "{by_status}");

    // Our side, from the database read-only.
    io.rt.block_on(async {
        let db = local_db(&cli.data_dir()).await?;
        let (cached,): (i64,) = sqlx::query_as("SELECT count(*) FROM orders").fetch_one(&db).await?;
        assert_eq!(cached as u64, remote_total, "orders lost: {cached} of {remote_total} cached");
        // Every remotely shipped order is recorded shipped, labelled and confirmed, each exactly once.
        let rows: Vec<(String, String, Option<i64>, Option<i64>, Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT o.tts_order_id, f.tts_package_ids, f.shipped_at, f.label_stored_at, f.confirmed_at,
                    (SELECT count(*) FROM order_events e WHERE e.order_id = o.id AND e.kind = 'shipped'),
                    (SELECT count(*) FROM shipments s WHERE s.order_id = o.id)
             FROM orders o JOIN fulfillments f ON f.order_id = o.id WHERE f.shipped_at IS NOT NULL",
        )
        .fetch_all(&db)
        .await?;
        assert_eq!(rows.len() as u64, shipped_remote, "orders recorded shipped vs shipped on TikTok");
        let mut local_packages = BTreeSet::new();
        for (order, packages, _, label, confirmed, shipped_events, shipments) in &rows {
            assert_eq!(*shipped_events, 1, "order {order} has {shipped_events} 'shipped' events");
            assert!(*shipments <= 1, "order {order} has {shipments} shipments recorded");
            assert!(label.is_some() && confirmed.is_some(), "order {order} shipped but not labelled/confirmed");
            local_packages.extend(packages.split_whitespace().map(str::to_owned));
        }
        // A shipped package was called once: a second call would have been a duplicate. (Packages of
        // orders cancelled before they shipped may have had a refused call; they are not shipped.)
        let twice: Vec<_> =
            local_packages.iter().filter(|p| ship_calls.get(*p).and_then(Value::as_u64) != Some(1)).collect();
        assert!(twice.is_empty(), "shipped packages without exactly one ship call: {twice:?}");
        // The cache shows what TikTok shows: confirm re-read every shipped order.
        let stale: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT o.tts_order_id, o.status, o.create_time, o.update_time FROM orders o
             JOIN fulfillments f ON f.order_id = o.id
             WHERE f.shipped_at IS NOT NULL AND o.status IN ('AWAITING_SHIPMENT', 'CANCELLED') LIMIT 20",
        )
        .fetch_all(&db)
        .await?;
        assert!(stale.is_empty(), "shipped orders whose cached status is not shipped (id, status, created, updated): {stale:?}");

        // The kills hit jobs mid-run: the next process rescued them (an attempt each, as for any crash).
        let (rescued, max_attempt): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM job_attempts WHERE error_kind = 'worker_restarted'), (SELECT max(attempt) FROM jobs)",
        )
        .fetch_one(&db)
        .await?;
        let states = job_states(&db).await?;
        eprintln!("kill loop: jobs by state {states:?}; {rescued} rescued after a kill; most attempts of one job {max_attempt}");
        assert!(rescued > 0, "no kill caught a job running: the loop did not test what it claims");
        for stuck in ["running", "available", "retryable"] {
            assert!(!states.contains_key(stuck), "jobs left {stuck}: {states:?}");
        }
        let discarded: Vec<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT kind, last_error_kind, last_error_message FROM jobs WHERE state = 'discarded' LIMIT 20")
                .fetch_all(&db)
                .await?;
        assert!(discarded.is_empty(), "dead-lettered jobs (a crash is not a failed order): {discarded:#?}");
        let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&db).await?;
        assert_eq!(integrity, "ok");
        let broken: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&db).await?;
        assert!(broken.is_empty(), "foreign keys broken: {broken:?}");
        db.close().await;
        anyhow::Ok(())
    })?;
    eprintln!("kill loop: passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[test]
fn run_without_a_shop_says_how_to_add_one() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    let out = cli.run(&["run", "--until-idle", "--max-seconds", "5"])?;
    assert_eq!(out.code, 1, "{}", out.all());
    ensure!(out.stderr.contains("no shop is connected") && out.stderr.contains("shop add"), "{}", out.stderr);
    Ok(())
}

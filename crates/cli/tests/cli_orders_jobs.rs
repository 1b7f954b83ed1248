//! `orders list|show|track|import-tracking|export` and `jobs list|show|retry|discard` through the real binary, on a database seeded
//! through the engine's store and queue; the audit rows the job commands leave.

mod common;

use std::time::Duration;

use anyhow::ensure;
use common::Cli;
use creatorflow_engine::store::{
    Amount, EventSource, HandoverMethod, LineItem, NewOrderEvent, NewShipment, NewShop, Order, Package,
    ShipmentStatus, ShippingType,
};
use creatorflow_engine::{Console, ConsoleConfig};
use creatorflow_queue::{FinishAction, Finished, JobError, Lease, NewJob};
use serde_json::json;

async fn console(cli: &Cli) -> anyhow::Result<Console> {
    Ok(Console::open(ConsoleConfig { data_dir: cli.data_dir(), database_url: None }).await?)
}

fn order(shop_id: i64, id: &str, buyer: &str, product: &str, create_time: i64) -> anyhow::Result<Order> {
    Ok(Order {
        shop_id,
        tts_order_id: id.into(),
        status: "AWAITING_SHIPMENT".into(),
        create_time,
        update_time: create_time + 10,
        paid_time: Some(create_time + 5),
        buyer_name: buyer.into(),
        shipping_type: ShippingType::Tiktok,
        rts_sla_time: Some(create_time + 72 * 3600),
        shipping_due_time: None,
        total_amount: Amount::parse("24.50")?,
        currency: "GBP".into(),
        recipient_address: Some(json!({"name": buyer})),
        raw: json!({"id": id}),
        line_items: vec![LineItem {
            tts_line_item_id: format!("{id}-li"),
            product_id: "p1".into(),
            product_name: product.into(),
            sku_id: "sku1".into(),
            sku_name: "Blue".into(),
            seller_sku: "MUG-BLUE".into(),
            sale_price: Amount::parse("24.50")?,
            currency: "GBP".into(),
            display_status: "AWAITING_SHIPMENT".into(),
            tts_package_id: Some(format!("{id}-pkg")),
        }],
        packages: vec![Package {
            tts_package_id: format!("{id}-pkg"),
            status: "PROCESSING".into(),
            tracking_number: None,
            shipping_provider_id: None,
            shipping_provider: None,
        }],
    })
}

#[tokio::test]
async fn orders_list_and_show_on_a_seeded_database() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    let (mug, scarf) = {
        let c = console(&cli).await?;
        let store = c.store();
        let shop = store
            .create_shop(&NewShop {
                creator_id: None,
                name: "main".into(),
                tts_shop_id: "7494726673780148744".into(),
                cipher: "ROW_c".into(),
                region: "GB".into(),
                app_key: "k".into(),
                api_base_url: "http://127.0.0.1:9".into(),
                auth_base_url: "http://127.0.0.1:9".into(),
                handover_method: HandoverMethod::Pickup,
                priority: 0,
            })
            .await?;
        let now = 1_767_225_600;
        let ids = store
            .upsert_orders(&[
                order(shop.id, "576684019603311365", "Alex Buyer", "Ceramic Mug", now)?,
                order(shop.id, "576684019603311366", "Sam Scarf", "Wool Scarf", now + 60)?,
            ])
            .await?;
        let (mug, scarf) = (ids[0].id(), ids[1].id());
        let detail = store.get_order(mug).await?;
        let pkg = detail.packages[0].id;
        let mut tx = store.begin().await?;
        store
            .record_shipment(
                &mut tx,
                &NewShipment {
                    order_id: mug,
                    package_id: Some(pkg),
                    tracking_number: "TRK123456".into(),
                    shipping_provider_id: Some("6617675021119438849".into()),
                    shipping_provider: Some("Royal Mail".into()),
                    status: ShipmentStatus::Submitted,
                    source: EventSource::User,
                    shipped_at: Some(1_767_230_000_000),
                },
            )
            .await?;
        store
            .append_event(
                &mut tx,
                mug,
                &NewOrderEvent {
                    source: EventSource::User,
                    kind: "note".into(),
                    message: "buyer asked for gift wrap".into(),
                    data: None,
                },
            )
            .await?;
        tx.commit().await?;
        store.store_label(pkg, "SHIPPING_LABEL", b"%PDF-1.4 test").await?;
        c.queue().db().close().await;
        (mug, scarf)
    };

    let list = cli.run(&["orders", "list"])?.ok()?;
    ensure!(list.stdout.contains("576684019603311365") && list.stdout.contains("Sam Scarf"), "{}", list.stdout);
    let json = cli.run(&["orders", "list", "--json"])?.ok()?.json()?;
    let ids: Vec<i64> = json["orders"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_i64()).collect();
    assert_eq!(ids, vec![scarf, mug], "newest first");
    assert!(json["next"].is_null());
    let found = cli.run(&["orders", "list", "--search", "ceramic", "--json"])?.ok()?.json()?;
    assert_eq!(found["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["orders"][0]["buyer_name"], "Alex Buyer");
    let by_tracking = cli.run(&["orders", "list", "--search", "TRK123", "--json"])?.ok()?.json()?;
    assert_eq!(by_tracking["orders"][0]["id"], mug);
    let none = cli.run(&["orders", "list", "--status", "CANCELLED"])?.ok()?;
    ensure!(none.stdout.contains("no orders match"), "{}", none.stdout);
    let limited = cli.run(&["orders", "list", "--limit", "1", "--json"])?.ok()?.json()?;
    assert!(!limited["next"].is_null(), "a second page exists");
    let unknown_shop = cli.run(&["orders", "list", "--shop", "nope"])?;
    assert_eq!(unknown_shop.code, 1);
    ensure!(unknown_shop.stderr.contains("no shop named \"nope\""));

    let show = cli.run(&["orders", "show", "576684019603311365"])?.ok()?;
    for needle in ["Ceramic Mug", "MUG-BLUE", "label cached", "TRK123456", "Royal Mail", "buyer asked for gift wrap"] {
        ensure!(show.stdout.contains(needle), "{needle:?} missing in\n{}", show.stdout);
    }
    let by_local = cli.run(&["orders", "show", &scarf.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(by_local["order"]["tts_order_id"], "576684019603311366");
    assert_eq!(by_local["packages"][0]["has_label"], false);
    let missing = cli.run(&["orders", "show", "999999"])?;
    assert_eq!(missing.code, 1);
    ensure!(missing.stderr.contains("no cached order \"999999\""), "{}", missing.stderr);
    Ok(())
}

/// Claims `kind`'s next job and fails it (permanently when `permanent`).
async fn fail_next(c: &Console, permanent: bool, message: &str) -> anyhow::Result<i64> {
    let q = c.queue();
    let jobs = q.claim("default", 1, "test-worker", Duration::from_secs(60)).await?;
    let job = jobs.first().ok_or_else(|| anyhow::anyhow!("nothing to claim"))?;
    let error = if permanent {
        JobError::permanent("invalid_address", message)
    } else {
        JobError::retryable("server", message)
    };
    q.finish(&[Finished {
        lease: Lease { id: job.id, token: job.lease_token.unwrap_or_default() },
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        started_at: job.attempted_at.unwrap_or_default(),
        worker: "test-worker".into(),
        action: FinishAction::Fail(error),
    }])
    .await?;
    Ok(job.id)
}

#[tokio::test]
async fn jobs_list_show_retry_discard_leave_audit_rows() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    let (dead, waiting, parked, fresh) = {
        let c = console(&cli).await?;
        let q = c.queue();
        let dead = q.insert(NewJob::from_value("ship", json!({"order_id": 1})).max_attempts(1)).await?.id();
        let dead_id = fail_next(&c, true, "address line 1 is empty").await?;
        assert_eq!(dead, dead_id);
        let waiting = q.insert(NewJob::from_value("label", json!({"order_id": 2}))).await?.id();
        fail_next(&c, false, "503 from tiktok").await?;
        let parked = q.insert(NewJob::from_value("ship", json!({"order_id": 3}))).await?.id();
        q.discard(parked, "buyer collects in person").await?;
        let fresh = q.insert(NewJob::from_value("confirm", json!({"order_id": 4}))).await?.id();
        c.queue().db().close().await;
        (dead, waiting, parked, fresh)
    };

    let discarded = cli.run(&["jobs", "list", "--state", "discarded", "--json"])?.ok()?.json()?;
    let ids: Vec<i64> = discarded.as_array().into_iter().flatten().filter_map(|j| j["id"].as_i64()).collect();
    assert_eq!(ids, vec![dead, parked]);
    let ships = cli.run(&["jobs", "list", "--kind", "ship"])?.ok()?;
    ensure!(ships.stdout.contains("address line 1 is empty") && !ships.stdout.contains("confirm"), "{}", ships.stdout);

    let show = cli.run(&["jobs", "show", &dead.to_string()])?.ok()?;
    for needle in ["discarded", "invalid_address: address line 1 is empty", "(not retryable)", "\"order_id\": 1"] {
        ensure!(show.stdout.contains(needle), "{needle:?} missing in\n{}", show.stdout);
    }

    // Retry one by id, as alice: available again, with an audit row naming her.
    let retried = cli.run(&["--actor", "alice", "jobs", "retry", &dead.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(retried["state"], "available");
    let detail = cli.run(&["jobs", "show", &dead.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(detail["audit"][0]["action"], "job_retry");
    assert_eq!(detail["audit"][0]["actor"], "alice");
    assert_eq!(detail["attempts"][0]["error_kind"], "invalid_address");

    // --all-failed: the retryable job, not the one a person discarded, not the available ones.
    let mut all = cli.command(&["jobs", "retry", "--all-failed", "--json"]);
    all.env("USER", "bob");
    let report = common::run(all)?.ok()?.json()?;
    assert_eq!(report["retried"], json!([waiting]));
    let waiting_audit = cli.run(&["jobs", "show", &waiting.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(waiting_audit["audit"][0]["actor"], "bob");
    assert_eq!(waiting_audit["audit"][0]["job_count"], 1);
    assert_eq!(waiting_audit["audit"][0]["reason"], "--all-failed");
    let parked_now = cli.run(&["jobs", "show", &parked.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(parked_now["job"]["state"], "discarded");

    // Discard with a reason: recorded on the job and in the audit trail.
    let out = cli.run(&["--actor", "carol", "jobs", "discard", &fresh.to_string(), "--reason", "duplicate order"])?.ok()?;
    ensure!(out.stdout.contains(&format!("job {fresh} is discarded: duplicate order")), "{}", out.stdout);
    let fresh_detail = cli.run(&["jobs", "show", &fresh.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(fresh_detail["job"]["last_error_message"], "duplicate order");
    assert_eq!(fresh_detail["audit"][0]["action"], "job_discard");
    assert_eq!(fresh_detail["audit"][0]["reason"], "duplicate order");
    assert_eq!(fresh_detail["audit"][0]["actor"], "carol");

    // Discarding a finished job, or a job that does not exist: a clear error, exit 1, no audit row.
    let again = cli.run(&["jobs", "discard", &fresh.to_string(), "--reason", "x"])?;
    assert_eq!(again.code, 1);
    ensure!(again.stderr.contains("is discarded: cannot discard it"), "{}", again.stderr);
    let after = cli.run(&["jobs", "show", &fresh.to_string(), "--json"])?.ok()?.json()?;
    assert_eq!(after["audit"].as_array().map(Vec::len), Some(1));
    let missing = cli.run(&["jobs", "show", "424242"])?;
    assert_eq!(missing.code, 1);
    ensure!(missing.stderr.contains("job 424242 not found"), "{}", missing.stderr);
    Ok(())
}

#[tokio::test]
async fn orders_track_import_tracking_and_export() -> anyhow::Result<()> {
    let cli = Cli::new()?;
    {
        let c = console(&cli).await?;
        let store = c.store();
        let shop = store
            .create_shop(&NewShop {
                creator_id: None,
                name: "seller, ltd".into(),
                tts_shop_id: "7494726673780148745".into(),
                cipher: "ROW_d".into(),
                region: "GB".into(),
                app_key: "k".into(),
                api_base_url: "http://127.0.0.1:9".into(),
                auth_base_url: "http://127.0.0.1:9".into(),
                handover_method: HandoverMethod::DropOff,
                priority: 0,
            })
            .await?;
        let now = 1_767_225_600;
        let mut seller: Vec<Order> = (0..3)
            .map(|i| order(shop.id, &format!("57668401960331140{i}"), "Kim \"K\" Lee", "Tote Bag", now + i * 60))
            .collect::<anyhow::Result<_>>()?;
        for o in &mut seller {
            o.shipping_type = ShippingType::Seller;
        }
        seller.push(order(shop.id, "576684019603311499", "Tik Tok", "Phone Case", now + 600)?);
        store.upsert_orders(&seller).await?;
        c.queue().db().close().await;
    }
    let tracked = cli
        .run(&["--actor", "ana", "orders", "track", "576684019603311400", "--tracking", "RM1GB", "--provider", "Royal Mail", "--json"])?
        .ok()?
        .json()?;
    assert_eq!(tracked["outcome"], "recorded");
    assert_eq!(tracked["ship_job"], "after_validation");
    let again = cli.run(&["orders", "track", "576684019603311400", "--tracking", "RM1GB", "--provider", "Royal Mail"])?.ok()?;
    ensure!(again.stdout.contains("Unchanged"), "{}", again.stdout);
    let refused = cli.run(&["orders", "track", "576684019603311499", "--tracking", "X1", "--provider", "DPD"])?;
    assert_eq!(refused.code, 1);
    ensure!(refused.stderr.contains("TikTok logistics"), "{}", refused.stderr);
    let show = cli.run(&["orders", "show", "576684019603311400"])?.ok()?;
    ensure!(show.stdout.contains("entered by ana") && show.stdout.contains("pending"), "{}", show.stdout);

    let csv = cli.data_dir().join("tracking.csv");
    std::fs::write(&csv, "\u{feff}order_id,tracking_number,provider\r\n576684019603311401,EV1,Evri\r\n576684019603311499,X2,DPD\r\n")?;
    let report = cli.run(&["orders", "import-tracking", csv.to_str().unwrap_or_default(), "--json"])?.ok()?.json()?;
    assert_eq!((report["applied"].as_u64(), report["skipped"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["lines"][1]["line"], 3);

    let out = cli.data_dir().join("orders.csv");
    let export = cli.run(&["orders", "export", "--shop", "seller, ltd", "--output", out.to_str().unwrap_or_default()])?.ok()?;
    ensure!(export.stderr.contains("exported 4 orders"), "{}", export.stderr);
    let text = std::fs::read_to_string(&out)?;
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("order_id,local_id,status,shop,buyer,items"));
    let row = lines.iter().find(|l| l.starts_with("576684019603311401,")).copied().unwrap_or_default();
    ensure!(row.contains(",\"seller, ltd\",\"Kim \"\"K\"\" Lee\",MUG-BLUE Tote Bag,1,24.50,GBP,") && row.ends_with(",EV1"), "{row}");
    Ok(())
}

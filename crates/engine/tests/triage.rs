//! Failed-job triage through `Console`, on SQLite and PostgreSQL: grouping by fingerprint (ids stripped,
//! shops from args → order → shop), filters, the keyset job list, job detail with request ids and the
//! order's timeline, bulk preview and act, the count-mismatch refusal, edit-and-retry keeping the
//! original args, and audit rows committed in the same transaction as the change.
//! PostgreSQL: set CREATORFLOW_TEST_PG_URL (`scripts/pg-test-server.sh start`), or CREATORFLOW_SKIP_PG=1.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::{Amount, AuditAction, HandoverMethod, LineItem, NewShop, Order, ShippingType};
use creatorflow_engine::{
    AuditQuery, BulkPreviewRequest, BulkRequest, Console, ConsoleConfig, EngineError, JobActionRequest, JobSelection, RetryRequest,
    TriageAction, TriageFilter, TriageJobsQuery,
};
use creatorflow_queue::{FinishAction, Finished, JobError, JobState, Lease, NewJob};
use serde_json::json;
use sqlx::Connection;

struct Env {
    console: Console,
    _dir: tempfile::TempDir,
}

async fn sqlite() -> anyhow::Result<Option<Env>> {
    let dir = tempfile::tempdir()?;
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: None }).await?;
    Ok(Some(Env { console, _dir: dir }))
}

async fn postgres() -> anyhow::Result<Option<Env>> {
    let url = match std::env::var("CREATORFLOW_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("CREATORFLOW_SKIP_PG").as_deref() == Ok("1") => return Ok(None),
        _ => bail!("CREATORFLOW_TEST_PG_URL is not set: run `scripts/pg-test-server.sh start`, or set CREATORFLOW_SKIP_PG=1"),
    };
    let schema = format!("triage_{}_{}", std::process::id(), fastrand::u32(..));
    let mut conn = sqlx::PgConnection::connect(&url).await.with_context(|| format!("connecting to {url}"))?;
    // The name is made of digits and underscores here.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await?;
    conn.close().await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir()?;
    let console = Console::open(ConsoleConfig { data_dir: dir.path().to_path_buf(), database_url: Some(url) }).await?;
    Ok(Some(Env { console, _dir: dir }))
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() -> anyhow::Result<()> {
                match crate::sqlite().await? { Some(e) => crate::$name(e).await, None => Ok(()) }
            }
        )* }
        mod postgres_backend { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() -> anyhow::Result<()> {
                match crate::postgres().await? { Some(e) => crate::$name(e).await, None => Ok(()) }
            }
        )* }
    };
}

both!(
    failures_group_by_cause_with_shops_and_states,
    filters_and_keyset_pages_agree,
    detail_shows_request_ids_and_the_order_timeline,
    bulk_preview_then_act_refuses_a_changed_set,
    single_actions_edit_keeps_original_and_audit_commits_with_the_change,
);

async fn shop(c: &Console, id: &str) -> anyhow::Result<i64> {
    let s = c
        .store()
        .create_shop(&NewShop {
            creator_id: None,
            name: format!("Shop {id}"),
            tts_shop_id: id.into(),
            cipher: format!("cipher-{id}"),
            region: "US".into(),
            app_key: "key".into(),
            api_base_url: "http://127.0.0.1:9/api".into(),
            auth_base_url: "http://127.0.0.1:9/auth".into(),
            handover_method: HandoverMethod::Pickup,
            priority: 0,
        })
        .await?;
    Ok(s.id)
}

async fn order(c: &Console, shop_id: i64, tts: &str) -> anyhow::Result<i64> {
    let o = Order {
        shop_id,
        tts_order_id: tts.into(),
        status: "AWAITING_SHIPMENT".into(),
        create_time: 1_767_225_600,
        update_time: 1_767_225_600,
        paid_time: None,
        buyer_name: "Alex Buyer".into(),
        shipping_type: ShippingType::Tiktok,
        rts_sla_time: None,
        shipping_due_time: None,
        total_amount: Amount::parse("19.99")?,
        currency: "USD".into(),
        recipient_address: None,
        raw: json!({"id": tts}),
        line_items: vec![LineItem {
            tts_line_item_id: format!("li-{tts}"),
            product_id: "p".into(),
            product_name: "Mug".into(),
            sku_id: "s".into(),
            sku_name: "Default".into(),
            seller_sku: "MUG".into(),
            sale_price: Amount::parse("19.99")?,
            currency: "USD".into(),
            display_status: "AWAITING_SHIPMENT".into(),
            tts_package_id: None,
        }],
        packages: vec![],
    };
    let mut tx = c.store().begin().await?;
    let id = c.store().upsert_order(&mut tx, &o).await?.id();
    tx.commit().await?;
    Ok(id)
}

/// Enqueue a job of `kind` with `args`, claim it and fail it with `err`; returns its id.
async fn failed(c: &Console, kind: &str, args: serde_json::Value, err: JobError) -> anyhow::Result<i64> {
    let q = c.queue();
    let id = q.insert(NewJob::from_value(kind, args).queue("triage-test").max_attempts(1)).await?.id();
    let jobs = q.claim("triage-test", 1, "w", Duration::from_secs(60)).await?;
    let job = jobs.first().context("nothing to claim")?;
    ensure!(job.id == id, "claimed {} instead of {id}", job.id);
    let rep = q
        .finish(&[Finished {
            lease: Lease { id, token: job.lease_token.unwrap_or_default() },
            kind: job.kind.clone(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            started_at: job.attempted_at.unwrap_or_default(),
            worker: "w".into(),
            action: FinishAction::Fail(err),
        }])
        .await?;
    ensure!(rep.applied == vec![id], "{rep:?}");
    Ok(id)
}

fn not_found(order: &str, rid: &str) -> JobError {
    JobError::permanent("invalid_request", format!("order {order} not found (endpoint GET /order, http 404, request_id {rid})"))
        .with_details(json!({"request_id": rid, "endpoint": "GET /order", "http_status": 404, "code": 21001001}))
}

/// Two shops; three "order not found" ship failures with different order and request ids (two
/// shops), one label failure of another cause, and one job that never failed.
struct Fixture {
    shop_a: i64,
    shop_b: i64,
    order_a1: i64,
    not_found: Vec<i64>,
    label: i64,
}

async fn fixture(c: &Console) -> anyhow::Result<Fixture> {
    let shop_a = shop(c, "A").await?;
    let shop_b = shop(c, "B").await?;
    let order_a1 = order(c, shop_a, "577000000000000001").await?;
    let order_a2 = order(c, shop_a, "577000000000000002").await?;
    let order_b1 = order(c, shop_b, "577000000000000003").await?;
    let mut nf = Vec::new();
    for (o, rid) in [(order_a1, "2026A1"), (order_a2, "2026B2"), (order_b1, "2026C3")] {
        nf.push(failed(c, "ship", json!({"order_id": o}), not_found(&format!("5770000000000{o}"), rid)).await?);
    }
    let label = failed(c, "label", json!({"shop_id": shop_b, "package": "pkg_9a8b"}), JobError::retryable("timeout", "request timed out after 30000 ms")).await?;
    c.queue().insert(NewJob::from_value("ship", json!({"order_id": order_a1})).queue("elsewhere")).await?;
    Ok(Fixture { shop_a, shop_b, order_a1, not_found: nf, label })
}

async fn failures_group_by_cause_with_shops_and_states(e: Env) -> anyhow::Result<()> {
    let c = &e.console;
    let f = fixture(c).await?;
    let groups = c.triage_groups(&TriageFilter::default()).await?;
    ensure!(groups.groups.len() == 2, "{groups:#?}");
    assert_eq!(groups.total_jobs, 4, "the job that never failed is not in triage");
    let g = &groups.groups[0];
    assert_eq!((g.kind.as_str(), g.count), ("ship", 3));
    assert_eq!(g.pattern, "order <n> not found (endpoint GET /order, http 404, request_id <id>)");
    assert!(g.sample.contains("not found"), "{}", g.sample);
    assert_eq!(g.error_kind.as_deref(), Some("invalid_request"));
    let shops: Vec<i64> = g.shops.iter().map(|s| s.id).collect();
    assert_eq!(shops, vec![f.shop_a, f.shop_b]);
    assert_eq!(g.shops[0].name, "Shop A");
    assert_eq!(g.states.len(), 1);
    assert_eq!((g.states[0].state, g.states[0].count), (JobState::Discarded, 3));
    assert!(g.first_seen <= g.last_seen && g.first_seen > 0);
    let label = &groups.groups[1];
    assert_eq!((label.kind.as_str(), label.count, label.shops[0].id), ("label", 1, f.shop_b));

    // A person's retry keeps the job in its group; the per-state counts show it.
    c.triage_retry(&RetryRequest { id: f.not_found[0], args: None }, "ana").await?;
    let groups = c.triage_groups(&TriageFilter::default()).await?;
    let states: Vec<(JobState, i64)> = groups.groups[0].states.iter().map(|s| (s.state, s.count)).collect();
    assert_eq!(states, vec![(JobState::Available, 1), (JobState::Discarded, 2)]);
    // Filtering by state narrows the counts.
    let only = c.triage_groups(&TriageFilter { states: vec![JobState::Discarded], ..Default::default() }).await?;
    assert_eq!(only.groups[0].count, 2);
    Ok(())
}

async fn filters_and_keyset_pages_agree(e: Env) -> anyhow::Result<()> {
    let c = &e.console;
    let f = fixture(c).await?;
    let ids = |p: &creatorflow_engine::TriagePage| p.jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    let q = |filter: TriageFilter| TriageJobsQuery { filter, before: None, limit: Some(100) };

    let all = c.triage_jobs(&q(TriageFilter::default())).await?;
    let mut expected = f.not_found.clone();
    expected.push(f.label);
    expected.reverse();
    assert_eq!(ids(&all), expected, "newest first, only jobs that failed");
    let first = &all.jobs[3];
    assert_eq!((first.order_id, first.shop.as_ref().map(|s| s.id)), (Some(f.order_a1), Some(f.shop_a)));
    assert_eq!(first.tts_order_id.as_deref(), Some("577000000000000001"));

    let by_shop = c.triage_jobs(&q(TriageFilter { shop_id: Some(f.shop_b), ..Default::default() })).await?;
    assert_eq!(ids(&by_shop), vec![f.label, f.not_found[2]], "args shop_id and order → shop both count");
    let by_kind = c.triage_jobs(&q(TriageFilter { kind: Some("label".into()), ..Default::default() })).await?;
    assert_eq!(ids(&by_kind), vec![f.label]);
    let fp = all.jobs[1].fingerprint.clone();
    let by_fp = c.triage_jobs(&q(TriageFilter { fingerprint: fp, ..Default::default() })).await?;
    assert_eq!(by_fp.jobs.len(), 3);
    let by_error = c.triage_jobs(&q(TriageFilter { error: Some("TIMED OUT".into()), ..Default::default() })).await?;
    assert_eq!(ids(&by_error), vec![f.label], "error text is case-insensitive");
    let by_args = c.triage_jobs(&q(TriageFilter { args: Some("pkg_9A8B".into()), ..Default::default() })).await?;
    assert_eq!(ids(&by_args), vec![f.label]);
    let wildcard = c.triage_jobs(&q(TriageFilter { args: Some("%".into()), ..Default::default() })).await?;
    assert!(wildcard.jobs.is_empty(), "LIKE wildcards are literal");
    let now = c.queue().now_ms();
    let future = c.triage_jobs(&q(TriageFilter { failed_from: Some(now + 60_000), ..Default::default() })).await?;
    assert!(future.jobs.is_empty());
    let window = c.triage_jobs(&q(TriageFilter { failed_from: Some(now - 600_000), failed_to: Some(now + 1), ..Default::default() })).await?;
    assert_eq!(window.jobs.len(), 4);
    let none = c.triage_jobs(&q(TriageFilter { states: vec![JobState::Retryable], ..Default::default() })).await?;
    assert!(none.jobs.is_empty());

    // Keyset pages of 2 cover the list exactly once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = c.triage_jobs(&TriageJobsQuery { filter: TriageFilter::default(), before, limit: Some(2) }).await?;
        seen.extend(ids(&page));
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    Ok(())
}

async fn detail_shows_request_ids_and_the_order_timeline(e: Env) -> anyhow::Result<()> {
    let c = &e.console;
    let f = fixture(c).await?;
    let mut tx = c.store().begin().await?;
    c.store()
        .append_event(
            &mut tx,
            f.order_a1,
            &creatorflow_engine::store::NewOrderEvent {
                source: creatorflow_engine::store::EventSource::Pipeline,
                kind: "ship_failed".into(),
                message: "order not found at TikTok".into(),
                data: None,
            },
        )
        .await?;
    tx.commit().await?;
    let d = c.triage_job(f.not_found[0]).await?;
    assert_eq!(d.args, json!({"order_id": f.order_a1}));
    assert_eq!(d.original_args, None);
    assert_eq!(d.attempts.len(), 1);
    let a = &d.attempts[0];
    assert_eq!(a.request_id.as_deref(), Some("2026A1"));
    assert_eq!((a.endpoint.as_deref(), a.http_status, a.code), (Some("GET /order"), Some(404), Some(21001001)));
    let order = d.order.context("the job's order")?;
    assert_eq!((order.tts_order_id.as_str(), order.shop.name.as_str()), ("577000000000000001", "Shop A"));
    assert!(order.timeline.iter().any(|t| t.kind == "ship_failed"), "{:?}", order.timeline);
    // A job without an order has no order context; a job that does not exist is `not_found`.
    assert!(c.triage_job(f.label).await?.order.is_none());
    match c.triage_job(987_654).await {
        Err(e) => assert_eq!(e.kind(), "not_found"),
        Ok(d) => bail!("expected not_found, got {d:?}"),
    }
    Ok(())
}

async fn bulk_preview_then_act_refuses_a_changed_set(e: Env) -> anyhow::Result<()> {
    let c = &e.console;
    let f = fixture(c).await?;
    let groups = c.triage_groups(&TriageFilter::default()).await?;
    let filter = TriageFilter { fingerprint: Some(groups.groups[0].fingerprint.clone()), ..Default::default() };
    let selection = JobSelection::Filter { filter: filter.clone() };
    let preview = c.triage_preview(&BulkPreviewRequest { selection: selection.clone(), action: TriageAction::Retry }).await?;
    assert_eq!((preview.count, preview.actionable), (3, 3));

    // One more job fails the same way after the preview: the action refuses and changes nothing.
    let order_b2 = order(c, f.shop_b, "577000000000000004").await?;
    failed(c, "ship", json!({"order_id": order_b2}), not_found("577000000000000004", "2026D4")).await?;
    let req = BulkRequest {
        selection: selection.clone(),
        action: TriageAction::Retry,
        expected_count: preview.count,
        reason: None,
    };
    match c.triage_bulk(&req, "ana").await {
        Err(EngineError::CountChanged { expected: 3, actual: 4 }) => {}
        other => bail!("expected CountChanged, got {other:?}"),
    }
    let err = c.triage_bulk(&req, "ana").await.err().context("still refused")?;
    assert_eq!(err.kind(), "count_changed");
    assert!(err.to_string().contains("had 3 jobs, now 4"), "{err}");
    assert_eq!(c.triage_preview(&BulkPreviewRequest { selection: selection.clone(), action: TriageAction::Retry }).await?.states[0].count, 4);
    assert!(c.audit_log(&AuditQuery::default()).await?.events.is_empty(), "a refused action leaves no audit row");

    // With the new count it acts on exactly those four, in one audit event.
    let report = c.triage_bulk(&BulkRequest { expected_count: 4, ..req }, "ana").await?;
    assert_eq!((report.matched, report.changed.len(), report.skipped.len()), (4, 4, 0));
    let log = c.audit_log(&AuditQuery::default()).await?;
    assert_eq!(log.events.len(), 1);
    let ev = &log.events[0];
    assert_eq!((ev.action.as_str(), ev.actor.as_str(), ev.job_count, ev.id), ("job_retry", "ana", 4, report.audit_id));
    assert_eq!(ev.job_ids, report.changed);

    // Bulk discard needs a reason; on a selection of ids, running/finished jobs are skipped, not fatal.
    let ids = JobSelection::Ids { ids: vec![f.label, f.not_found[0]] };
    let no_reason = BulkRequest { selection: ids.clone(), action: TriageAction::Discard, expected_count: 2, reason: None };
    assert_eq!(c.triage_bulk(&no_reason, "ana").await.err().map(|e| e.kind()), Some("invalid_input"));
    let p = c.triage_preview(&BulkPreviewRequest { selection: ids.clone(), action: TriageAction::Discard }).await?;
    assert_eq!((p.count, p.actionable), (2, 1), "the label job is discarded already");
    let rep = c
        .triage_bulk(&BulkRequest { reason: Some("order refunded".into()), ..no_reason }, "ana")
        .await?;
    assert_eq!(rep.changed, vec![f.not_found[0]]);
    assert_eq!(rep.skipped.len(), 1);
    assert_eq!(rep.skipped[0].id, f.label);
    let discards = c.audit_log(&AuditQuery { action: Some(AuditAction::JobDiscard), ..Default::default() }).await?;
    assert_eq!(discards.events.len(), 1);
    assert_eq!(discards.events[0].reason.as_deref(), Some("order refunded"));
    let by_job = c.audit_log(&AuditQuery { job_id: Some(f.not_found[0]), ..Default::default() }).await?;
    assert_eq!(by_job.events.len(), 2, "the bulk retry and the discard");
    Ok(())
}

async fn single_actions_edit_keeps_original_and_audit_commits_with_the_change(e: Env) -> anyhow::Result<()> {
    let c = &e.console;
    let f = fixture(c).await?;
    let id = f.not_found[1];
    let original = c.triage_job(id).await?.args;
    let edited = json!({"order_id": f.order_a1, "note": "fixed by hand"});
    let r = c.triage_retry(&RetryRequest { id, args: Some(edited.clone()) }, "ana").await?;
    assert!(r.job.edited);
    assert_eq!(r.job.state, JobState::Available);
    let d = c.triage_job(id).await?;
    assert_eq!((d.args.clone(), d.original_args.clone()), (edited, Some(original.clone())));
    // A second edit still keeps the first original.
    c.triage_discard(&JobActionRequest { id, reason: Some("wrong order".into()) }, "tester").await?;
    c.triage_retry(&RetryRequest { id, args: Some(json!({"order_id": 1})) }, "tester").await?;
    assert_eq!(c.triage_job(id).await?.original_args, Some(original));
    let audit = c.triage_job(id).await?.audit;
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["job_retry", "job_discard", "job_retry"]);
    let first_edit = audit[0].details.clone().context("the edit's details")?;
    assert_eq!(first_edit["edited_args"]["to"], json!({"order_id": f.order_a1, "note": "fixed by hand"}));

    // Args must be an object; a refused action writes no audit row.
    let before = c.audit_log(&AuditQuery::default()).await?.events.len();
    assert_eq!(c.triage_retry(&RetryRequest { id, args: Some(json!([1])) }, "tester").await.err().map(|e| e.kind()), Some("invalid_input"));
    // Retrying an available job is a conflict (nothing changes, no audit row).
    assert_eq!(c.triage_retry(&RetryRequest { id, args: None }, "tester").await.err().map(|e| e.kind()), Some("conflict"));
    assert_eq!(c.audit_log(&AuditQuery::default()).await?.events.len(), before);

    // Cancel: a reason defaults; the job and its audit row change together.
    let r = c.triage_cancel(&JobActionRequest { id, reason: None }, "bo").await?;
    assert_eq!(r.job.state, JobState::Cancelled);
    let log = c.audit_log(&AuditQuery { actor: Some("bo".into()), ..Default::default() }).await?;
    assert_eq!((log.events.len(), log.events[0].action.as_str(), log.events[0].id), (1, "job_cancel", r.audit_id));

    // Same transaction: when the audit insert fails (an actor too long for the column's CHECK is
    // caught earlier, so break the table instead), the state change is rolled back with it.
    let victim = f.not_found[2];
    break_audit_table(c).await?;
    let err = c.triage_discard(&JobActionRequest { id: victim, reason: Some("x".into()) }, "tester").await;
    ensure!(err.is_err(), "the audit insert must fail");
    assert_eq!(c.triage_job(victim).await?.job.state, JobState::Discarded);
    assert_eq!(c.queue().get(victim).await?.last_error_kind.as_deref(), Some("invalid_request"), "the discard was rolled back");
    let err = c.triage_retry(&RetryRequest { id: victim, args: None }, "tester").await;
    ensure!(err.is_err(), "the audit insert must fail");
    assert_eq!(c.queue().get(victim).await?.state, JobState::Discarded, "the retry was rolled back");
    Ok(())
}

/// Make every audit insert fail, so a test can see what commits with it.
async fn break_audit_table(c: &Console) -> anyhow::Result<()> {
    match c.queue().db() {
        creatorflow_queue::Db::Sqlite { writer, .. } => {
            let sql = "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit broken'); END";
            sqlx::query(sql).execute(writer).await?;
        }
        creatorflow_queue::Db::Postgres(pool) => {
            // NOT VALID: existing rows stay, every new row is refused.
            sqlx::query("ALTER TABLE audit_events ADD CONSTRAINT audit_broken CHECK (false) NOT VALID").execute(pool).await?;
        }
    }
    Ok(())
}

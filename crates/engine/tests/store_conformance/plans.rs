//! Query plans: the console's queries are served by indexes (no full scan, no sort of the whole table).

use anyhow::{Context, bail, ensure};
use creatorflow_engine::store::*;

use crate::harness::*;
use creatorflow_queue::{Db, DbOptions};
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;

async fn plan_fixture(h: &Harness) -> anyhow::Result<i64> {
    let s = shop(h, "plans").await?;
    let batch: Vec<Order> = (0..200)
        .map(|i| order(s.id, &format!("p{i}"), T0))
        .collect();
    h.store.upsert_orders(&batch).await?;
    Ok(s.id)
}

#[tokio::test]
async fn sqlite_plans_use_indexes() -> anyhow::Result<()> {
    let h = sqlite().await?.context("sqlite harness")?;
    let shop_id = plan_fixture(&h).await?;
    let after = Some(creatorflow_engine::store::PageCursor {
        create_time: T0,
        id: 100,
    });
    let page = PageRequest { limit: 50, after };
    let cases: [(OrderFilter, &str); 4] = [
        (OrderFilter::default(), "orders_creator_created"),
        (
            OrderFilter {
                statuses: vec!["AWAITING_SHIPMENT".into()],
                ..OrderFilter::default()
            },
            "orders_creator_status_created",
        ),
        (
            OrderFilter {
                shop_id: Some(shop_id),
                ..OrderFilter::default()
            },
            "orders_",
        ),
        (
            OrderFilter {
                text: Some("p1".into()),
                ..OrderFilter::default()
            },
            // Few matches (111 of 200): sorted on the (id, creator_id, create_time) index, only the
            // page's rows read; not found by walking the table.
            "USING COVERING INDEX orders_id_created",
        ),
    ];
    let at_risk = OrderFilter {
        at_risk: true,
        ..OrderFilter::default()
    };
    let plan = h
        .store
        .explain_list_orders(&at_risk, page)
        .await?
        .join("\n");
    eprintln!("{at_risk:?}\n{plan}\n");
    ensure!(
        plan.contains("USING INDEX orders_"),
        "at-risk list scans:\n{plan}"
    );
    for (filter, index) in cases {
        let plan = h.store.explain_list_orders(&filter, page).await?.join("\n");
        eprintln!("{filter:?}\n{plan}\n");
        ensure!(plan.contains(index), "expected {index} in plan:\n{plan}");
        ensure!(
            !plan.contains("SCAN orders\n") && !plan.ends_with("SCAN orders"),
            "full scan:\n{plan}"
        );
        if filter.text.is_none() {
            ensure!(
                !plan.contains("TEMP B-TREE"),
                "sorts instead of walking an index:\n{plan}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn postgres_plans_use_indexes() -> anyhow::Result<()> {
    let Some(h) = postgres().await? else {
        return Ok(());
    };
    plan_fixture(&h).await?;
    // With 200 rows a sequential scan is cheapest; forbid it to see which index the planner would pick.
    let Db::Postgres(pool) = h.store.db() else {
        bail!("not postgres")
    };
    let schema: (String,) = sqlx::query_as("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let url = std::env::var("CREATORFLOW_TEST_PG_URL")?;
    let opts = PgConnectOptions::from_str(&url)?.options([
        ("search_path", schema.0.as_str()),
        ("enable_seqscan", "off"),
    ]);
    let db = Db::connect_postgres_options(opts, &DbOptions::default()).await?;
    let store = Store::new(db);
    let page = PageRequest {
        limit: 50,
        after: Some(creatorflow_engine::store::PageCursor {
            create_time: T0,
            id: 100,
        }),
    };
    // With tiny tables the planner may prefer either (creator, …) index for a status filter; what matters
    // is that it walks an index in keyset order instead of sorting.
    let cases: [(OrderFilter, &str); 3] = [
        (OrderFilter::default(), "orders_creator_created"),
        (
            OrderFilter {
                statuses: vec!["AWAITING_SHIPMENT".into()],
                ..OrderFilter::default()
            },
            "Index Scan Backward using orders_creator_",
        ),
        // Search: either the GIN index (rare words) or the keyset walk filtering on the tsvector (common
        // prefixes, LIMIT stops early); the choice depends on statistics, a full scan never is right.
        (
            OrderFilter {
                text: Some("p1".into()),
                ..OrderFilter::default()
            },
            "Index",
        ),
    ];
    for (filter, index) in cases {
        let plan = store.explain_list_orders(&filter, page).await?.join("\n");
        eprintln!("{filter:?}\n{plan}\n");
        ensure!(plan.contains(index), "expected {index} in plan:\n{plan}");
        ensure!(!plan.contains("Seq Scan"), "sequential scan:\n{plan}");
        if filter.text.is_none() {
            ensure!(
                !plan.contains("Sort"),
                "sorts instead of walking an index:\n{plan}"
            );
        }
    }
    Ok(())
}

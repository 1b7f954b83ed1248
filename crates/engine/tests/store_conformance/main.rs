//! The store's conformance suite: every case runs on SQLite (a temp file) and on PostgreSQL (a fresh
//! schema on the server named by CREATORFLOW_TEST_PG_URL; unset fails unless CREATORFLOW_SKIP_PG=1).

mod cases_labels;
mod cases_orders;
mod cases_records;
mod cases_search;
mod cases_shipping;
mod harness;
mod plans;

use cases_labels::*;
use cases_orders::*;
use cases_records::*;
use cases_search::*;
use cases_shipping::*;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(h) = crate::harness::sqlite().await? else { return Ok(()) };
                    super::$name(&h).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    let Some(h) = crate::harness::postgres().await? else { return Ok(()) };
                    super::$name(&h).await
                }
            )*
        }
    };
}

cases!(
    shop_crud,
    upsert_inserts_updates_and_ignores_stale,
    same_second_versions_move_forward_only,
    bulk_page_stores_what_one_by_one_stores,
    bulk_updates_of_cached_orders_match_one_by_one,
    unique_shop_and_order_id,
    search_by_each_field_and_prefix,
    keyset_pages_are_complete_and_disjoint,
    at_risk_filter_follows_the_clock,
    inventory_never_negative_under_concurrency,
    inventory_release_and_rollback,
    inventory_reserve_many,
    webhook_dedupe,
    label_round_trip,
    labels_in_sets,
    cursor_and_timeline,
    hostile_input,
    money_is_exact,
    metric_rollups,
    search_pages_agree_either_side_of_few_matches,
    work_order_reads_the_order_its_children_and_its_log,
    shipping_set_writes,
    stage_reads_in_sets,
);

//! The conformance suite: every test body in `cases` runs against SQLite and PostgreSQL.
//! PostgreSQL: set CREATORFLOW_TEST_PG_URL (`scripts/pg-test-server.sh start` prints one), or
//! CREATORFLOW_SKIP_PG=1 to skip those instances.

mod cases;
mod cases_admin;
mod cases_pool;
mod cases_triage;
mod harness;

macro_rules! conformance {
    ($backend:ident, $setup:path; $($module:ident :: $name:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    match $setup().await? {
                        Some(h) => crate::$module::$name(h).await,
                        None => Ok(()),
                    }
                }
            )*
        }
    };
}

macro_rules! suite {
    ($($backend:ident => $setup:path),*) => {
        $(
            conformance!($backend, $setup;
                cases::insert_get_and_initial_states,
                cases::bad_input_is_rejected,
                cases::priority_then_schedule_order,
                cases::scheduled_job_waits_for_its_time,
                cases::unique_key_returns_existing_job,
                cases::unique_key_under_concurrency,
                cases::transactional_enqueue_rolls_back_with_caller_rows,
                cases::insert_many_keeps_input_order,
                cases::insert_many_tx_dedupes_against_unfinished_jobs,
                cases::retries_back_off_then_discard,
                cases::permanent_error_discards_at_once,
                cases::snooze_does_not_spend_attempt,
                cases::wake_reaches_a_running_job_through_its_snooze,
                cases::stale_worker_cannot_complete_fail_or_extend,
                cases::heartbeat_keeps_lease_alive,
                cases::rescue_worker_at_startup,
                cases::concurrent_claims_never_share_a_job,
                cases::claimed_job_matches_the_stored_row,
                cases_admin::cancel_guards_and_revokes_lease,
                cases_admin::retry_with_edited_args_keeps_original,
                cases_admin::retry_refused_when_unique_key_taken,
                cases_admin::discard_guards,
                cases_admin::pause_and_resume_queue,
                cases_admin::counts_and_oldest_available_age,
                cases_admin::cleaner_deletes_old_completed_only,
                cases_admin::list_filters_and_paginates,
                cases_pool::pool_runs_jobs_and_dead_letters_bad_ones,
                cases_pool::panicking_handler_is_a_failed_attempt,
                cases_pool::graceful_shutdown_finishes_or_returns_jobs,
                cases_pool::shutdown_commits_results_waiting_for_their_cycle,
                cases_pool::handler_told_when_lease_lost,
                cases_pool::autoscale_grows_and_shrinks,
                cases_pool::idle_pickup_is_woken_by_insert,
                cases_triage::tx_variants_commit_with_the_caller_or_not_at_all,
                cases_triage::batch_transitions_report_what_they_skip,
                cases_triage::failures_carry_fingerprints_and_details,
            );
        )*
    };
}

suite!(sqlite => crate::harness::sqlite, postgres => crate::harness::postgres);

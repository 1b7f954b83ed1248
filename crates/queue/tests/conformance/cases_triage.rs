//! Triage cases: the transactional admin transitions (`retry_tx`, `discard_tx`, `cancel_tx`), their
//! batch versions, failure fingerprints and structured attempt details.

use creatorflow_queue::{Db, FinishAction, JobError, JobState, NewJob, QueueError, fingerprint};
use serde_json::json;

use crate::cases::{claim_one, finished};
use crate::harness::{Harness, T0};

/// `(error_fingerprint, last_error_at, error_since)` of a job, read straight from the row.
async fn stamp(db: &Db, id: i64) -> anyhow::Result<(Option<String>, Option<i64>, Option<i64>)> {
    const SQL: &str = "SELECT error_fingerprint, last_error_at, error_since FROM jobs WHERE id = ";
    Ok(match db {
        Db::Sqlite { reader, .. } => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SQL}{id}")))
                .fetch_one(reader)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SQL}{id}")))
                .fetch_one(pool)
                .await?
        }
    })
}

/// Claim the next job of the default queue and fail it with `err`.
async fn fail_next(h: &Harness, err: JobError) -> anyhow::Result<i64> {
    let q = h.queue();
    let job = claim_one(&q, "default", "w").await?;
    let rep = q
        .finish(&[finished(&job, "w", FinishAction::Fail(err))?])
        .await?;
    anyhow::ensure!(rep.applied == vec![job.id], "fail not applied: {rep:?}");
    Ok(job.id)
}

pub async fn tx_variants_commit_with_the_caller_or_not_at_all(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q
        .insert(NewJob::from_value("k", json!({"n": 1})).max_attempts(1))
        .await?
        .id();
    let b = q
        .insert(NewJob::from_value("k", json!({"n": 2})))
        .await?
        .id();
    let c = q
        .insert(NewJob::from_value("k", json!({"n": 3})))
        .await?
        .id();
    fail_next(&h, JobError::permanent("bad", "boom")).await?;
    assert_eq!(q.get(a).await?.state, JobState::Discarded);

    // Rolled back: nothing changed.
    let mut tx = h.db.begin().await?;
    q.retry_tx(&mut tx, a, Some(json!({"n": 10}))).await?;
    q.discard_tx(&mut tx, b, "not needed").await?;
    q.cancel_tx(&mut tx, c, "stop").await?;
    tx.rollback().await?;
    assert_eq!(q.get(a).await?.state, JobState::Discarded);
    assert_eq!(q.get(a).await?.args, json!({"n": 1}));
    assert_eq!(q.get(b).await?.state, JobState::Available);
    assert_eq!(q.get(c).await?.state, JobState::Available);

    // Committed: all three at once; the edited retry keeps the original args.
    let mut tx = h.db.begin().await?;
    let ja = q.retry_tx(&mut tx, a, Some(json!({"n": 10}))).await?;
    assert_eq!(ja.state, JobState::Available);
    q.discard_tx(&mut tx, b, "not needed").await?;
    q.cancel_tx(&mut tx, c, "stop").await?;
    tx.commit().await?;
    let ja = q.get(a).await?;
    assert_eq!(
        (ja.state, ja.args, ja.original_args),
        (JobState::Available, json!({"n": 10}), Some(json!({"n": 1})))
    );
    assert_eq!(ja.max_attempts, 2, "a job out of attempts gets one more");
    assert_eq!(q.get(b).await?.state, JobState::Discarded);
    assert_eq!(
        q.get(b).await?.last_error_kind.as_deref(),
        Some("discarded_by_admin")
    );
    assert_eq!(q.get(c).await?.state, JobState::Cancelled);

    // Guards still apply inside a transaction.
    let mut tx = h.db.begin().await?;
    match q.cancel_tx(&mut tx, c, "again").await {
        Err(QueueError::InvalidTransition {
            state: JobState::Cancelled,
            action: "cancel",
            ..
        }) => {}
        other => anyhow::bail!("expected InvalidTransition, got {other:?}"),
    }
    match q.retry_tx(&mut tx, a, None).await {
        Err(QueueError::InvalidTransition {
            state: JobState::Available,
            action: "retry",
            ..
        }) => {}
        other => anyhow::bail!("expected InvalidTransition, got {other:?}"),
    }
    tx.rollback().await?;
    Ok(())
}

pub async fn batch_transitions_report_what_they_skip(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    // Two finished jobs holding the same unique key one after the other, and one unrelated.
    let first = q
        .insert(
            NewJob::from_value("k", json!({}))
                .unique_key("order-1")
                .max_attempts(1),
        )
        .await?
        .id();
    fail_next(&h, JobError::permanent("bad", "boom")).await?;
    let second = q
        .insert(
            NewJob::from_value("k", json!({}))
                .unique_key("order-1")
                .max_attempts(1),
        )
        .await?
        .id();
    fail_next(&h, JobError::permanent("bad", "boom")).await?;
    let plain = q
        .insert(NewJob::from_value("k", json!({})).max_attempts(1))
        .await?
        .id();
    fail_next(&h, JobError::permanent("bad", "boom")).await?;
    let waiting = q.insert(NewJob::from_value("k", json!({}))).await?.id();

    let mut tx = h.db.begin().await?;
    let out = q
        .retry_many_tx(&mut tx, &[first, second, plain, waiting, 999_999])
        .await?;
    tx.commit().await?;
    assert_eq!(out.changed, vec![first, plain]);
    let skipped: Vec<i64> = out.skipped.iter().map(|(id, _)| *id).collect();
    assert_eq!(skipped, vec![second, waiting, 999_999]);
    assert!(
        matches!(out.skipped[0].1, QueueError::UniqueConflict(_)),
        "{:?}",
        out.skipped[0]
    );
    assert!(matches!(
        out.skipped[1].1,
        QueueError::InvalidTransition {
            state: JobState::Available,
            ..
        }
    ));
    assert!(matches!(out.skipped[2].1, QueueError::NotFound(999_999)));
    assert_eq!(q.get(second).await?.state, JobState::Discarded);

    // Discard and cancel in batches; a running job's lease is revoked with an attempt recorded.
    let running = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let mut tx = h.db.begin().await?;
    let out = q
        .discard_many_tx(&mut tx, &[first, second], "duplicate order")
        .await?;
    assert_eq!(out.changed, vec![first]);
    assert_eq!(out.skipped.len(), 1);
    tx.commit().await?;
    // `waiting` is the oldest available job: claim it and `running` both.
    let claimed = q
        .claim("default", 10, "w", std::time::Duration::from_secs(30))
        .await?;
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    assert!(ids.contains(&running) && ids.contains(&waiting), "{ids:?}");
    let mut tx = h.db.begin().await?;
    let out = q
        .cancel_many_tx(&mut tx, &[running, waiting], "shop paused")
        .await?;
    tx.commit().await?;
    assert_eq!(out.changed, vec![running, waiting]);
    let attempts = q.attempts(running).await?;
    assert_eq!(
        attempts.last().map(|a| a.outcome.as_str()),
        Some("cancelled")
    );
    assert_eq!(q.get(running).await?.lease_token, None);
    Ok(())
}

pub async fn failures_carry_fingerprints_and_details(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q
        .insert(NewJob::from_value("ship", json!({"order_id": 1})))
        .await?
        .id();
    let b = q
        .insert(NewJob::from_value("ship", json!({"order_id": 2})))
        .await?
        .id();
    let never = q
        .insert(NewJob::from_value("ship", json!({"order_id": 3})))
        .await?
        .id();
    let details =
        json!({"request_id": "20260101ABC", "endpoint": "POST /ship", "http_status": 500});
    fail_next(
        &h,
        JobError::retryable("server", "order 5777001 failed (request_id 20260101ABC)")
            .with_details(details.clone()),
    )
    .await?;
    h.clock.advance(std::time::Duration::from_secs(5));
    fail_next(
        &h,
        JobError::retryable("server", "order 5777002 failed (request_id 20260101XYZ)"),
    )
    .await?;

    let (fa, at_a, since_a) = stamp(&h.db, a).await?;
    let (fb, at_b, _) = stamp(&h.db, b).await?;
    let expected = fingerprint("ship", "server", "order 1 failed (request_id x1)");
    assert_eq!(fa.as_deref(), Some(expected.as_str()));
    assert_eq!(fa, fb, "same cause, different ids");
    assert_eq!((at_a, since_a, at_b), (Some(T0), Some(T0), Some(T0 + 5000)));
    assert_eq!(stamp(&h.db, never).await?, (None, None, None));
    assert_eq!(q.attempts(a).await?[0].details, Some(details));
    assert_eq!(q.attempts(b).await?[0].details, None);

    // The same failure again keeps `error_since`; a different one starts it over.
    // (a's back-off is over: the claim promotes it.)
    h.clock.advance(std::time::Duration::from_secs(60));
    let next = q
        .claim("default", 10, "w", std::time::Duration::from_secs(30))
        .await?;
    let job_a = next
        .iter()
        .find(|j| j.id == a)
        .ok_or_else(|| anyhow::anyhow!("job a not claimed"))?;
    q.finish(&[finished(
        job_a,
        "w",
        FinishAction::Fail(JobError::retryable(
            "server",
            "order 5777001 failed (request_id 20260109QQ)",
        )),
    )?])
    .await?;
    let (_, at, since) = stamp(&h.db, a).await?;
    assert_eq!((at, since), (Some(T0 + 65_000), Some(T0)));

    // A person's discard keeps the job in its failure group.
    q.discard(b, "refunded").await?;
    assert_eq!(stamp(&h.db, b).await?.0, fb);
    // Backfill is a no-op on a database that started at migration 0006 (and then records itself).
    assert_eq!(q.backfill_fingerprints().await?, 0);
    assert_eq!(q.backfill_fingerprints().await?, 0);
    Ok(())
}

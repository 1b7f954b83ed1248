//! Core state-machine cases: insert, claim order, scheduling, unique keys, transactional enqueue,
//! retries/backoff, snooze, leases and the rescuer.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use creatorflow_queue::{
    AttemptOutcome, DbTx, FinishAction, Finished, Inserted, Job, JobError, JobState, Lease, NewJob,
    Queue, QueueError, RetryPolicy,
};
use serde_json::json;

use crate::harness::{Harness, T0};

const LEASE: Duration = Duration::from_secs(30);

pub fn lease_of(job: &Job) -> anyhow::Result<Lease> {
    Ok(Lease {
        id: job.id,
        token: job
            .lease_token
            .ok_or_else(|| anyhow::anyhow!("job {} has no lease", job.id))?,
    })
}

pub fn finished(job: &Job, worker: &str, action: FinishAction) -> anyhow::Result<Finished> {
    Ok(Finished {
        lease: lease_of(job)?,
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        started_at: job.attempted_at.unwrap_or(0),
        worker: worker.to_owned(),
        action,
    })
}

pub async fn claim_one(q: &Queue, queue: &str, worker: &str) -> anyhow::Result<Job> {
    let mut jobs = q.claim(queue, 1, worker, LEASE).await?;
    ensure!(
        jobs.len() == 1,
        "expected one claimable job in {queue}, got {}",
        jobs.len()
    );
    Ok(jobs.remove(0))
}

pub async fn insert_get_and_initial_states(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q
        .insert(NewJob::new("email", &json!({"to": "a@example.com"}))?)
        .await?;
    let Inserted::New(a) = a else {
        anyhow::bail!("expected a new job")
    };
    let job = q.get(a).await?;
    assert_eq!(job.state, JobState::Available);
    assert_eq!(job.kind, "email");
    assert_eq!(job.queue, "default");
    assert_eq!(job.args, json!({"to": "a@example.com"}));
    assert_eq!(job.attempt, 0);
    assert_eq!(job.max_attempts, 20);
    assert_eq!(job.created_at, T0);
    assert_eq!(job.scheduled_at, T0);
    assert!(job.finalized_at.is_none() && job.lease_token.is_none());

    let b = q
        .insert(NewJob::from_value("email", json!({})).delay(Duration::from_secs(60)))
        .await?
        .id();
    let job = q.get(b).await?;
    assert_eq!(job.state, JobState::Scheduled);
    assert_eq!(job.scheduled_at, T0 + 60_000);

    match q.get(999_999).await {
        Err(QueueError::NotFound(999_999)) => {}
        other => anyhow::bail!("expected NotFound, got {other:?}"),
    }
    Ok(())
}

pub async fn bad_input_is_rejected(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let err = q
        .insert(NewJob::from_value("", json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::InvalidInput {
                field: "job kind",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("job kind"), "{err}");
    let err = q
        .insert(NewJob::from_value("k", json!({})).queue("x".repeat(200)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::InvalidInput {
                field: "queue name",
                ..
            }
        ),
        "{err}"
    );
    let err = q
        .insert(NewJob::from_value("k", json!({})).max_attempts(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::InvalidInput {
                field: "max_attempts",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        q.counts().await?.total(),
        0,
        "rejected jobs must not be stored"
    );
    Ok(())
}

pub async fn priority_then_schedule_order(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let low = q
        .insert(NewJob::from_value("k", json!(1)).priority(5))
        .await?
        .id();
    let high1 = q
        .insert(NewJob::from_value("k", json!(2)).priority(-1))
        .await?
        .id();
    let mid = q.insert(NewJob::from_value("k", json!(3))).await?.id();
    let high2 = q
        .insert(NewJob::from_value("k", json!(4)).priority(-1))
        .await?
        .id();
    let other = q
        .insert(NewJob::from_value("k", json!(5)).queue("other"))
        .await?
        .id();
    let jobs = q.claim("default", 3, "w", LEASE).await?;
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![high1, high2, mid]);
    for j in &jobs {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.attempted_by.as_deref(), Some("w"));
        assert_eq!(j.lease_expires_at, Some(T0 + 30_000));
    }
    let rest = q.claim("default", 10, "w", LEASE).await?;
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), vec![low]);
    assert_eq!(claim_one(&q, "other", "w").await?.id, other);
    Ok(())
}

pub async fn scheduled_job_waits_for_its_time(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q
        .insert(NewJob::from_value("k", json!({})).run_at_ms(T0 + 5_000))
        .await?
        .id();
    assert!(q.claim("default", 10, "w", LEASE).await?.is_empty());
    h.clock.advance(Duration::from_millis(4_999));
    assert!(q.claim("default", 10, "w", LEASE).await?.is_empty());
    h.clock.advance(Duration::from_millis(1));
    assert_eq!(claim_one(&q, "default", "w").await?.id, id);
    Ok(())
}

pub async fn unique_key_returns_existing_job(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let first = q
        .insert(NewJob::from_value("sync", json!(1)).unique_key("shop-1"))
        .await?;
    let Inserted::New(id) = first else {
        anyhow::bail!("expected new")
    };
    let again = q
        .insert(NewJob::from_value("sync", json!(2)).unique_key("shop-1"))
        .await?;
    assert_eq!(again, Inserted::Duplicate(id));
    // Still a duplicate while running.
    let job = claim_one(&q, "default", "w").await?;
    let dup = q
        .insert(NewJob::from_value("sync", json!(3)).unique_key("shop-1"))
        .await?;
    assert_eq!(dup, Inserted::Duplicate(id));
    // Once finished, the key is free again.
    q.finish(&[finished(&job, "w", FinishAction::Complete)?])
        .await?;
    let next = q
        .insert(NewJob::from_value("sync", json!(4)).unique_key("shop-1"))
        .await?;
    assert!(matches!(next, Inserted::New(n) if n != id), "{next:?}");
    Ok(())
}

pub async fn unique_key_under_concurrency(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            q.insert(NewJob::from_value("sync", json!(i)).unique_key("race"))
                .await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    let new: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, Inserted::New(_)))
        .collect();
    assert_eq!(new.len(), 1, "exactly one insert wins: {results:?}");
    let ids: HashSet<i64> = results.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "every racer sees the same job: {results:?}");
    assert_eq!(q.counts().await?.total(), 1);
    Ok(())
}

async fn caller_row(tx: &mut DbTx, v: i64) -> anyhow::Result<()> {
    if let Some(t) = tx.sqlite() {
        sqlx::query("INSERT INTO caller_rows (v) VALUES (?)")
            .bind(v)
            .execute(&mut **t)
            .await?;
    } else if let Some(t) = tx.postgres() {
        sqlx::query("INSERT INTO caller_rows (v) VALUES ($1)")
            .bind(v)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

pub async fn transactional_enqueue_rolls_back_with_caller_rows(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let mut tx = h.db.begin().await?;
    if let Some(t) = tx.sqlite() {
        sqlx::query("CREATE TABLE caller_rows (v BIGINT NOT NULL)")
            .execute(&mut **t)
            .await?;
    } else if let Some(t) = tx.postgres() {
        sqlx::query("CREATE TABLE caller_rows (v BIGINT NOT NULL)")
            .execute(&mut **t)
            .await?;
    }
    tx.commit().await?;

    let mut tx = h.db.begin().await?;
    caller_row(&mut tx, 1).await?;
    q.insert_tx(&mut tx, NewJob::from_value("k", json!(1)))
        .await?;
    tx.rollback().await?;
    assert_eq!(
        q.counts().await?.total(),
        0,
        "rolled back enqueue must leave no job"
    );

    let mut tx = h.db.begin().await?;
    caller_row(&mut tx, 2).await?;
    let id = q
        .insert_tx(&mut tx, NewJob::from_value("k", json!(2)))
        .await?
        .id();
    tx.commit().await?;
    q.wake();
    assert_eq!(q.get(id).await?.args, json!(2));
    let n: i64 = match &h.db {
        creatorflow_queue::Db::Sqlite { reader, .. } => {
            sqlx::query_scalar("SELECT COUNT(*) FROM caller_rows")
                .fetch_one(reader)
                .await?
        }
        creatorflow_queue::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM caller_rows")
                .fetch_one(pool)
                .await?
        }
    };
    assert_eq!(n, 1, "only the committed caller row exists");
    Ok(())
}

pub async fn insert_many_keeps_input_order(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let mut jobs: Vec<NewJob> = (0..2500)
        .map(|i| NewJob::from_value("bulk", json!({ "i": i })))
        .collect();
    jobs.insert(
        10,
        NewJob::from_value("bulk", json!({"u": 1})).unique_key("u1"),
    );
    jobs.insert(
        20,
        NewJob::from_value("bulk", json!({"u": 2})).unique_key("u1"),
    );
    let res = q.insert_many(jobs.clone()).await?;
    assert_eq!(res.len(), jobs.len());
    assert!(matches!(res[10], Inserted::New(_)));
    assert_eq!(res[20], Inserted::Duplicate(res[10].id()));
    for (i, (r, j)) in res.iter().zip(&jobs).enumerate() {
        if i == 20 {
            continue;
        }
        assert_eq!(q.get(r.id()).await?.args, j.args, "row {i}");
        if i > 100 {
            break;
        }
    }
    let last = res.last().map(|r| r.id()).unwrap_or_default();
    assert_eq!(q.get(last).await?.args, json!({"i": 2499}));
    assert_eq!(q.counts().await?.total(), 2501);
    Ok(())
}

/// The sync's bulk enqueue: inside the caller's transaction, keys held by an unfinished job or by
/// an earlier row of the same call are duplicates; a finished holder frees its key.
pub async fn insert_many_tx_dedupes_against_unfinished_jobs(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let held = q.insert(NewJob::from_value("k", json!("held")).unique_key("held")).await?.id();
    let done = q.insert(NewJob::from_value("k", json!("done")).unique_key("done")).await?.id();
    let job = claim_one(&q, "default", "w").await?;
    assert_eq!(job.id, held, "claims in insert order");
    let job2 = claim_one(&q, "default", "w").await?;
    q.finish(&[finished(&job2, "w", FinishAction::Complete)?]).await?;

    let jobs = vec![
        NewJob::from_value("k", json!(0)).unique_key("held"),
        NewJob::from_value("k", json!(1)).unique_key("fresh"),
        NewJob::from_value("k", json!(2)),
        NewJob::from_value("k", json!(3)).unique_key("fresh"),
        NewJob::from_value("k", json!(4)).unique_key("done"),
        NewJob::from_value("k", json!(5)),
    ];
    let mut tx = h.db.begin().await?;
    let res = q.insert_many_tx(&mut tx, &jobs).await?;
    tx.commit().await?;
    assert_eq!(res[0], Inserted::Duplicate(held), "a running job holds its key");
    assert!(matches!(res[1], Inserted::New(_)));
    assert!(matches!(res[2], Inserted::New(_)));
    assert_eq!(res[3], Inserted::Duplicate(res[1].id()), "the call's own earlier row holds the key");
    assert!(matches!(res[4], Inserted::New(id) if id != done), "a completed job frees its key: {:?}", res[4]);
    for i in [1, 2, 4, 5] {
        assert_eq!(q.get(res[i].id()).await?.args, jobs[i].args, "row {i}");
    }
    // Rolled back with the caller: nothing of it stays.
    let before = q.counts().await?.total();
    let mut tx = h.db.begin().await?;
    q.insert_many_tx(&mut tx, &[NewJob::from_value("k", json!(6)).unique_key("gone")]).await?;
    tx.rollback().await?;
    assert_eq!(q.counts().await?.total(), before);
    Ok(())
}

pub async fn retries_back_off_then_discard(h: Harness) -> anyhow::Result<()> {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let q = Queue::builder(h.db.clone())
        .clock(Arc::new(h.clock.clone()))
        .kind_policy("flaky", policy)
        .build();
    let id = q.insert(NewJob::from_value("flaky", json!({}))).await?.id();
    assert_eq!(q.get(id).await?.max_attempts, 3);
    for attempt in 1..=3 {
        let job = claim_one(&q, "default", "w").await?;
        assert_eq!(job.attempt, attempt);
        let err = JobError::retryable("http_503", format!("upstream down ({attempt})"));
        let rep = q
            .finish(&[finished(&job, "w", FinishAction::Fail(err))?])
            .await?;
        assert_eq!(rep.applied, vec![id]);
        let job = q.get(id).await?;
        if attempt < 3 {
            assert_eq!(job.state, JobState::Retryable);
            let base = policy.base_delay_ms(attempt);
            let now = creatorflow_queue::Clock::now_ms(&h.clock);
            assert!(
                job.scheduled_at >= now + base && job.scheduled_at <= now + base + base / 10,
                "attempt {attempt}: scheduled_at {} not in backoff window from {now}",
                job.scheduled_at
            );
            assert!(
                q.claim("default", 1, "w", LEASE).await?.is_empty(),
                "not before backoff"
            );
            h.clock.set(job.scheduled_at);
        } else {
            assert_eq!(job.state, JobState::Discarded);
            assert!(job.finalized_at.is_some());
        }
        assert_eq!(job.last_error_kind.as_deref(), Some("http_503"));
    }
    let attempts = q.attempts(id).await?;
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Failed.as_str() && a.retryable)
    );
    assert_eq!(attempts[2].message.as_deref(), Some("upstream down (3)"));
    assert_eq!(attempts[0].worker.as_deref(), Some("w"));
    Ok(())
}

pub async fn permanent_error_discards_at_once(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let job = claim_one(&q, "default", "w").await?;
    let err = JobError::permanent("http_400", "bad request: sku 42 unknown");
    q.finish(&[finished(&job, "w", FinishAction::Fail(err))?])
        .await?;
    let job = q.get(id).await?;
    assert_eq!(job.state, JobState::Discarded);
    assert_eq!(
        job.last_error_message.as_deref(),
        Some("bad request: sku 42 unknown")
    );
    let attempts = q.attempts(id).await?;
    assert_eq!(attempts.len(), 1);
    assert!(!attempts[0].retryable);
    Ok(())
}

pub async fn snooze_does_not_spend_attempt(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q
        .insert(NewJob::from_value("k", json!({})).max_attempts(1))
        .await?
        .id();
    for round in 1..=3 {
        let job = claim_one(&q, "default", "w").await?;
        assert_eq!(job.attempt, 1, "round {round}");
        q.finish(&[finished(
            &job,
            "w",
            FinishAction::Snooze(Duration::from_secs(10)),
        )?])
        .await?;
        let job = q.get(id).await?;
        assert_eq!(job.state, JobState::Scheduled);
        assert_eq!(job.attempt, 0);
        assert_eq!(job.snoozes, round);
        assert!(q.claim("default", 1, "w", LEASE).await?.is_empty());
        h.clock.advance(Duration::from_secs(10));
    }
    let job = claim_one(&q, "default", "w").await?;
    q.finish(&[finished(&job, "w", FinishAction::Complete)?])
        .await?;
    let job = q.get(id).await?;
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.attempt, 1);
    let attempts = q.attempts(id).await?;
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a.outcome == "snoozed"));
    Ok(())
}

/// A change that lands while the job waiting on it runs (it read the order ON_HOLD, the release is
/// synced before it snoozes) must not be lost: the job's snooze is cut short, once.
pub async fn wake_reaches_a_running_job_through_its_snooze(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q
        .insert(NewJob::from_value("k", json!({})).unique_key("order:1"))
        .await?
        .id();
    let snooze = Duration::from_secs(60);
    let wake = |key: &'static str| {
        let (q, db) = (q.clone(), h.db.clone());
        async move {
            let mut tx = db.begin().await?;
            let woken = q.wake_unique_tx(&mut tx, key).await?;
            tx.commit().await?;
            anyhow::Ok(woken)
        }
    };

    // Woken in the same millisecond as its claim: the snooze still ends at once.
    let job = claim_one(&q, "default", "w").await?;
    assert!(wake("order:1").await?, "a running job is marked");
    q.finish(&[finished(&job, "w", FinishAction::Snooze(snooze))?])
        .await?;
    let after = q.get(id).await?;
    assert_eq!((after.state, after.scheduled_at, after.attempt, after.snoozes), (JobState::Scheduled, creatorflow_queue::Clock::now_ms(&h.clock), 0, 1));

    // The mark is spent: the next run's snooze is whole.
    h.clock.advance(Duration::from_millis(5));
    let job = claim_one(&q, "default", "w").await?;
    q.finish(&[finished(&job, "w", FinishAction::Snooze(snooze))?])
        .await?;
    assert!(q.claim("default", 1, "w", LEASE).await?.is_empty(), "snoozed for its full 60 s");
    assert_eq!(q.get(id).await?.scheduled_at, creatorflow_queue::Clock::now_ms(&h.clock) + 60_000);

    // A wake while it is parked makes it available now, as before.
    h.clock.advance(Duration::from_secs(1));
    assert!(wake("order:1").await?);
    let job = claim_one(&q, "default", "w").await?;
    assert_eq!(job.id, id);

    // A failure (backoff) is not cut short by a wake during its run, nor is another key's job touched.
    assert!(wake("order:1").await?);
    assert!(!wake("order:2").await?);
    q.finish(&[finished(&job, "w", FinishAction::Fail(JobError::retryable("x", "y")))?])
        .await?;
    let after = q.get(id).await?;
    assert_eq!(after.state, JobState::Retryable);
    assert!(after.scheduled_at > creatorflow_queue::Clock::now_ms(&h.clock), "backoff kept");
    Ok(())
}

pub async fn stale_worker_cannot_complete_fail_or_extend(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let stale = claim_one(&q, "default", "old").await?;
    h.clock.advance(LEASE + Duration::from_secs(1));
    assert_eq!(q.rescue_expired().await?, 1);
    let job = q.get(id).await?;
    assert_eq!(job.state, JobState::Retryable);
    assert!(job.lease_token.is_none());
    let attempts = q.attempts(id).await?;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "lost");
    assert_eq!(attempts[0].error_kind.as_deref(), Some("lease_expired"));

    h.clock.set(job.scheduled_at);
    let fresh = claim_one(&q, "default", "new").await?;
    assert_eq!(fresh.attempt, 2);
    assert_ne!(fresh.lease_token, stale.lease_token);

    // The stale worker: every write is refused.
    let rep = q
        .finish(&[finished(&stale, "old", FinishAction::Complete)?])
        .await?;
    assert_eq!(rep.lease_lost, vec![id]);
    assert!(rep.applied.is_empty());
    let err = JobError::retryable("x", "y");
    let rep = q
        .finish(&[finished(&stale, "old", FinishAction::Fail(err))?])
        .await?;
    assert_eq!(rep.lease_lost, vec![id]);
    let rep = q
        .finish(&[finished(
            &stale,
            "old",
            FinishAction::Snooze(Duration::from_secs(1)),
        )?])
        .await?;
    assert_eq!(rep.lease_lost, vec![id]);
    assert!(q.heartbeat(&[lease_of(&stale)?], LEASE).await?.is_empty());
    let job = q.get(id).await?;
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.attempted_by.as_deref(), Some("new"));
    assert_eq!(
        q.attempts(id).await?.len(),
        1,
        "refused results leave no attempt rows"
    );

    // The current holder completes.
    let rep = q
        .finish(&[finished(&fresh, "new", FinishAction::Complete)?])
        .await?;
    assert_eq!(rep.applied, vec![id]);
    assert_eq!(q.get(id).await?.state, JobState::Completed);
    Ok(())
}

pub async fn heartbeat_keeps_lease_alive(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let job = claim_one(&q, "default", "w").await?;
    for _ in 0..3 {
        h.clock.advance(LEASE / 2);
        assert_eq!(q.heartbeat(&[lease_of(&job)?], LEASE).await?, vec![id]);
        assert_eq!(q.rescue_expired().await?, 0);
    }
    h.clock.advance(LEASE + Duration::from_millis(1));
    assert_eq!(q.rescue_expired().await?, 1);
    Ok(())
}

pub async fn rescue_worker_at_startup(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let b = q
        .insert(NewJob::from_value("k", json!({})).max_attempts(1))
        .await?
        .id();
    q.insert(NewJob::from_value("k", json!({}))).await?;
    let claimed = q.claim("default", 2, "node-a", LEASE).await?;
    assert_eq!(claimed.len(), 2);
    claim_one(&q, "default", "node-b").await?;
    assert_eq!(q.rescue_worker("node-c").await?, 0);
    assert_eq!(q.rescue_worker("node-a").await?, 2);
    assert_eq!(q.get(a).await?.state, JobState::Retryable);
    let b = q.get(b).await?;
    assert_eq!(b.state, JobState::Discarded, "out of attempts: dead letter");
    assert_eq!(b.last_error_kind.as_deref(), Some("worker_restarted"));
    assert_eq!(
        q.counts().await?.state(JobState::Running),
        1,
        "node-b's job untouched"
    );
    Ok(())
}

pub async fn concurrent_claims_never_share_a_job(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let jobs: Vec<NewJob> = (0..600)
        .map(|i| NewJob::from_value("k", json!(i)))
        .collect();
    q.insert_many(jobs).await?;
    let mut tasks = Vec::new();
    for w in 0..6 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = q.claim("default", 25, &format!("w{w}"), LEASE).await?;
                if batch.is_empty() {
                    return Ok::<_, QueueError>(got);
                }
                got.extend(batch.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 600);
    assert_eq!(unique.len(), 600, "a job was claimed twice");
    Ok(())
}

/// The claim hands out exactly what is stored (SQLite builds the claimed jobs from one JSON row):
/// args with awkward numbers and text, the original args of a retried job, a unique key, the
/// error of the last attempt, and the lease fields the claim set.
pub async fn claimed_job_matches_the_stored_row(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let args = json!({
        "float": 0.30000000000000004, "tiny": 1.5e-7, "big": 9_007_199_254_740_993_i64,
        "neg": -42, "text": "é\n\"quoted\" \u{1F600}", "nested": [1, {"k": null}, [true, false]]
    });
    let id = q
        .insert(
            NewJob::new("echo", &args)?
                .priority(-3)
                .unique_key("claim-row"),
        )
        .await?
        .id();
    let job = claim_one(&q, "default", "w1").await?;
    assert_eq!(job.args, args);
    assert_eq!(job, q.get(id).await?);

    // A failed attempt, then an admin retry with edited args: original_args and the last
    // error are set on the next claim.
    q.finish(&[finished(
        &job,
        "w1",
        FinishAction::Fail(JobError::permanent("bad", "no")),
    )?])
    .await?;
    q.retry(id, Some(json!({"edited": 1.25}))).await?;
    let job = claim_one(&q, "default", "w2").await?;
    assert_eq!(job.original_args, Some(args));
    assert_eq!(job.last_error_kind.as_deref(), Some("bad"));
    assert_eq!(job.attempt, 2);
    assert_eq!(job, q.get(id).await?);
    Ok(())
}

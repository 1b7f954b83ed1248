//! Admin cases: cancel, retry (edited args), discard, pause/resume, counts, cleaner, listing.

use std::time::Duration;

use creatorflow_queue::{FinishAction, JobFilter, JobState, NewJob, QueueError};
use serde_json::json;

use crate::cases::{claim_one, finished, lease_of};
use crate::harness::{Harness, T0};

pub async fn cancel_guards_and_revokes_lease(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let job = q.cancel(a, "customer changed their mind").await?;
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(job.finalized_at, Some(T0));
    assert_eq!(
        job.last_error_message.as_deref(),
        Some("customer changed their mind")
    );
    match q.cancel(a, "again").await {
        Err(QueueError::InvalidTransition {
            state: JobState::Cancelled,
            action: "cancel",
            ..
        }) => {}
        other => anyhow::bail!("expected InvalidTransition, got {other:?}"),
    }
    // Cancelling a running job revokes its lease: the worker's result is refused.
    let b = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let running = claim_one(&q, "default", "w").await?;
    q.cancel(b, "stop").await?;
    let rep = q
        .finish(&[finished(&running, "w", FinishAction::Complete)?])
        .await?;
    assert_eq!(rep.lease_lost, vec![b]);
    assert!(
        q.heartbeat(&[lease_of(&running)?], Duration::from_secs(30))
            .await?
            .is_empty()
    );
    let job = q.get(b).await?;
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.lease_token.is_none());
    let attempts = q.attempts(b).await?;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "cancelled");
    match q.cancel(424_242, "x").await {
        Err(QueueError::NotFound(424_242)) => {}
        other => anyhow::bail!("expected NotFound, got {other:?}"),
    }
    Ok(())
}

pub async fn retry_with_edited_args_keeps_original(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let id = q
        .insert(NewJob::from_value("ship", json!({"carrier": "usps"})).max_attempts(1))
        .await?
        .id();
    match q.retry(id, None).await {
        Err(QueueError::InvalidTransition {
            state: JobState::Available,
            ..
        }) => {}
        other => anyhow::bail!("retrying an available job must be refused: {other:?}"),
    }
    let job = claim_one(&q, "default", "w").await?;
    let err = creatorflow_queue::JobError::permanent("carrier_rejected", "usps refused the label");
    q.finish(&[finished(&job, "w", FinishAction::Fail(err))?])
        .await?;
    assert_eq!(q.get(id).await?.state, JobState::Discarded);

    h.clock.advance(Duration::from_secs(5));
    let job = q.retry(id, Some(json!({"carrier": "ups"}))).await?;
    assert_eq!(job.state, JobState::Available);
    assert_eq!(job.args, json!({"carrier": "ups"}));
    assert_eq!(job.original_args, Some(json!({"carrier": "usps"})));
    assert_eq!(job.scheduled_at, T0 + 5_000);
    assert!(job.finalized_at.is_none());
    assert_eq!(job.max_attempts, 2, "one more attempt granted");

    let job = claim_one(&q, "default", "w").await?;
    assert_eq!(job.attempt, 2);
    assert_eq!(job.args, json!({"carrier": "ups"}));
    q.finish(&[finished(&job, "w", FinishAction::Complete)?])
        .await?;
    let job = q.retry(id, Some(json!({"carrier": "fedex"}))).await?;
    assert_eq!(
        job.original_args,
        Some(json!({"carrier": "usps"})),
        "first original kept"
    );
    assert_eq!(job.args, json!({"carrier": "fedex"}));
    let job = claim_one(&q, "default", "w").await?;
    q.finish(&[finished(&job, "w", FinishAction::Complete)?])
        .await?;
    let job = q.retry(id, None).await?;
    assert_eq!(
        job.args,
        json!({"carrier": "fedex"}),
        "retry without args keeps args"
    );
    assert_eq!(job.original_args, Some(json!({"carrier": "usps"})));
    // The failed attempt's record survives the retries.
    assert_eq!(q.attempts(id).await?.len(), 1);
    Ok(())
}

pub async fn retry_refused_when_unique_key_taken(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let old = q
        .insert(NewJob::from_value("k", json!(1)).unique_key("order-7"))
        .await?
        .id();
    q.cancel(old, "superseded").await?;
    let new = q
        .insert(NewJob::from_value("k", json!(2)).unique_key("order-7"))
        .await?
        .id();
    assert_ne!(old, new);
    match q.retry(old, None).await {
        Err(QueueError::UniqueConflict(k)) => assert_eq!(k, "order-7"),
        other => anyhow::bail!("expected UniqueConflict, got {other:?}"),
    }
    assert_eq!(q.get(old).await?.state, JobState::Cancelled);
    Ok(())
}

pub async fn discard_guards(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q
        .insert(NewJob::from_value("k", json!({})).delay(Duration::from_secs(9)))
        .await?
        .id();
    let job = q.discard(a, "bad address").await?;
    assert_eq!(job.state, JobState::Discarded);
    assert_eq!(job.last_error_kind.as_deref(), Some("discarded_by_admin"));
    let b = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let running = claim_one(&q, "default", "w").await?;
    q.finish(&[finished(&running, "w", FinishAction::Complete)?])
        .await?;
    match q.discard(b, "x").await {
        Err(QueueError::InvalidTransition {
            state: JobState::Completed,
            action: "discard",
            ..
        }) => {}
        other => anyhow::bail!("expected InvalidTransition, got {other:?}"),
    }
    Ok(())
}

pub async fn pause_and_resume_queue(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    let a = q
        .insert(NewJob::from_value("k", json!({})).queue("orders"))
        .await?
        .id();
    let b = q
        .insert(NewJob::from_value("k", json!({})).queue("email"))
        .await?
        .id();
    assert!(!q.is_paused("orders").await?);
    q.pause("orders").await?;
    assert!(q.is_paused("orders").await?);
    assert!(
        q.claim("orders", 10, "w", Duration::from_secs(30))
            .await?
            .is_empty()
    );
    assert_eq!(
        claim_one(&q, "email", "w").await?.id,
        b,
        "other queues keep running"
    );
    q.pause("orders").await?; // idempotent
    q.resume("orders").await?;
    assert!(!q.is_paused("orders").await?);
    assert_eq!(claim_one(&q, "orders", "w").await?.id, a);
    Ok(())
}

pub async fn counts_and_oldest_available_age(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    assert_eq!(q.counts().await?.total(), 0);
    assert_eq!(q.oldest_available_age("default").await?, None);
    q.insert(NewJob::from_value("a", json!({}))).await?;
    h.clock.advance(Duration::from_secs(3));
    q.insert(NewJob::from_value("a", json!({}))).await?;
    q.insert(NewJob::from_value("b", json!({})).delay(Duration::from_secs(60)))
        .await?;
    q.insert(NewJob::from_value("b", json!({})).queue("other"))
        .await?;
    h.clock.advance(Duration::from_secs(2));
    assert_eq!(
        q.oldest_available_age("default").await?,
        Some(Duration::from_secs(5))
    );
    let running = claim_one(&q, "other", "w").await?;
    q.finish(&[finished(&running, "w", FinishAction::Complete)?])
        .await?;
    let c = q.counts().await?;
    assert_eq!(c.total(), 4);
    assert_eq!(c.state(JobState::Available), 2);
    assert_eq!(c.state(JobState::Scheduled), 1);
    assert_eq!(c.state(JobState::Completed), 1);
    assert_eq!(c.by_state().len(), 7);
    assert_eq!(
        c.by_kind().get(&("a".to_owned(), JobState::Available)),
        Some(&2)
    );
    assert_eq!(
        c.by_queue().get(&("other".to_owned(), JobState::Completed)),
        Some(&1)
    );
    assert_eq!(q.ready_depth("default").await?, 2);
    Ok(())
}

pub async fn cleaner_deletes_old_completed_only(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    for _ in 0..3 {
        q.insert(NewJob::from_value("k", json!({}))).await?;
    }
    let fail = q
        .insert(NewJob::from_value("k", json!({})).max_attempts(1))
        .await?
        .id();
    let jobs = q.claim("default", 4, "w", Duration::from_secs(30)).await?;
    let mut batch = Vec::new();
    for j in &jobs {
        let action = if j.id == fail {
            FinishAction::Fail(creatorflow_queue::JobError::permanent("e", "m"))
        } else {
            FinishAction::Complete
        };
        batch.push(finished(j, "w", action)?);
    }
    q.finish(&batch).await?;
    let fresh = q.insert(NewJob::from_value("k", json!({}))).await?.id();
    let j = claim_one(&q, "default", "w").await?;
    h.clock.advance(Duration::from_secs(3600));
    q.finish(&[finished(&j, "w", FinishAction::Complete)?])
        .await?;
    assert_eq!(q.clean_completed(Duration::from_secs(1800)).await?, 3);
    let c = q.counts().await?;
    assert_eq!(c.state(JobState::Completed), 1, "recent completion kept");
    assert_eq!(q.get(fresh).await?.state, JobState::Completed);
    assert_eq!(
        c.state(JobState::Discarded),
        1,
        "dead letters are never cleaned"
    );
    assert_eq!(q.attempts(fail).await?.len(), 1);
    Ok(())
}

pub async fn list_filters_and_paginates(h: Harness) -> anyhow::Result<()> {
    let q = h.queue();
    for i in 0..5 {
        q.insert(NewJob::from_value(
            if i % 2 == 0 { "even" } else { "odd" },
            json!(i),
        ))
        .await?;
    }
    q.insert(NewJob::from_value("even", json!(9)).queue("q2"))
        .await?;
    let evens = q
        .list(&JobFilter {
            kind: Some("even".into()),
            queue: Some("default".into()),
            ..Default::default()
        })
        .await?;
    assert_eq!(
        evens.iter().map(|j| j.args.clone()).collect::<Vec<_>>(),
        vec![json!(0), json!(2), json!(4)]
    );
    let page1 = q
        .list(&JobFilter {
            limit: Some(4),
            ..Default::default()
        })
        .await?;
    assert_eq!(page1.len(), 4);
    let page2 = q
        .list(&JobFilter {
            limit: Some(4),
            after_id: page1.last().map(|j| j.id),
            ..Default::default()
        })
        .await?;
    assert_eq!(page2.len(), 2);
    let none = q
        .list(&JobFilter {
            states: vec![JobState::Running, JobState::Discarded],
            ..Default::default()
        })
        .await?;
    assert!(none.is_empty());
    Ok(())
}

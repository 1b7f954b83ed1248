//! Waking parked work: a job snoozed while it waits on the outside world (an order ON_HOLD, a host
//! offline) runs as soon as that changes, instead of at the end of its snooze.

use sea_query::{Expr, ExprTrait, Query};

use crate::db::DbTx;
use crate::error::Result;
use crate::model::JobState;
use crate::queue::Queue;

impl Queue {
    /// In the caller's transaction: make the unfinished `scheduled` job holding `unique_key` available
    /// now. Attempts and snooze counts are untouched; a job in backoff (`retryable`) or running is left
    /// alone. Returns whether a job was woken. Call [`Queue::wake`] after the commit.
    pub async fn wake_unique_tx(&self, tx: &mut DbTx, unique_key: &str) -> Result<bool> {
        let stmt = Query::update()
            .table("jobs")
            .value("state", JobState::Available.as_str())
            .value("scheduled_at", self.now_ms())
            .and_where(Expr::col("unique_key").eq(unique_key))
            .and_where(Expr::col("state").eq(JobState::Scheduled.as_str()))
            .to_owned();
        Ok(tx.exec(&stmt).await? > 0)
    }
}

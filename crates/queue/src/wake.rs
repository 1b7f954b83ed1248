//! Waking parked work: a job snoozed while it waits on the outside world (an order ON_HOLD, a host
//! offline) runs as soon as that changes, instead of at the end of its snooze.

use sea_query::{Expr, ExprTrait, Query};

use crate::db::DbTx;
use crate::error::Result;
use crate::model::JobState;
use crate::queue::Queue;

impl Queue {
    /// In the caller's transaction: make the unfinished `scheduled` job holding `unique_key` available
    /// now. Attempts and snooze counts are untouched; a job in backoff (`retryable`) is left alone.
    ///
    /// A job *running* right now cannot be made available, but it may be about to snooze on what it
    /// read before the change (an order still ON_HOLD): that wake-up would be lost, and the job would
    /// sleep its whole snooze with the order ready. So a running job is marked instead, its
    /// `scheduled_at` moved past its `attempted_at` (while it runs the column is otherwise unused), and
    /// a snooze it ends with is cut short (finish.rs). Returns whether a job was woken or marked.
    /// Call [`Queue::wake`] after the commit.
    pub async fn wake_unique_tx(&self, tx: &mut DbTx, unique_key: &str) -> Result<bool> {
        let now = self.now_ms();
        let scheduled = || Expr::col("state").eq(JobState::Scheduled.as_str());
        let stmt = Query::update()
            .table("jobs")
            .value("state", Expr::case(scheduled(), JobState::Available.as_str()).finally(Expr::col("state")))
            .value(
                "scheduled_at",
                Expr::case(scheduled(), now)
                    .case(Expr::col("attempted_at").lt(now), now)
                    // Strictly after the attempt started, even within its millisecond.
                    .finally(Expr::col("attempted_at").add(1)),
            )
            .and_where(Expr::col("unique_key").eq(unique_key))
            .and_where(Expr::col("state").is_in([JobState::Scheduled.as_str(), JobState::Running.as_str()]))
            .to_owned();
        Ok(tx.exec(&stmt).await? > 0)
    }
}

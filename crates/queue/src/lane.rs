//! The writer lane: a runtime thread of its own for the tasks that hold SQLite's one writer.
//!
//! A write transaction is a chain of turns: its task builds a statement, the writer connection's
//! thread runs it, the task wakes and builds the next, and the writer is held (idle) in between.
//! On the shared runtime each of those wake-ups queues behind every other ready task (stage jobs,
//! API calls, an in-process sandbox), so under load a transaction waits mostly for its own task.
//! On this thread, which runs nothing else, it resumes at once: unthrottled pipeline throughput
//! +11 % in alternating runs (BENCHMARKS.md, stop 15). PostgreSQL has no single writer, so there
//! the work runs where it is.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;

use crate::{Backend, Db};

/// The lane's runtime, started on first use; `None` if it could not start (the work then runs on
/// the caller's runtime, as on PostgreSQL).
fn lane() -> Option<&'static Handle> {
    static LANE: OnceLock<Option<Handle>> = OnceLock::new();
    LANE.get_or_init(|| {
        // The runtime is built on its thread and lives there: a runtime may not be dropped inside
        // another one, which a failed start would otherwise do here.
        let (send, handle) = std::sync::mpsc::channel();
        let started = std::thread::Builder::new().name("sqlite-writer-lane".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => {
                    let _ = send.send(Ok(runtime.handle().clone()));
                    // The lane is never shut down, so work handed to it is never cancelled half-way.
                    runtime.block_on(std::future::pending::<()>());
                }
                Err(e) => {
                    let _ = send.send(Err(e.to_string()));
                }
            }
        });
        let handle = match started {
            Ok(_) => handle.recv().unwrap_or_else(|_| Err("the lane thread ended".to_owned())),
            Err(e) => Err(e.to_string()),
        };
        handle
            .map_err(|error| tracing::warn!(%error, "cannot start the SQLite writer lane; writes run on the shared runtime"))
            .ok()
    })
    .as_ref()
}

fn lane_for(db: &Db) -> Option<&'static Handle> {
    match db.backend() {
        Backend::Sqlite => lane(),
        Backend::Postgres => None,
    }
}

/// Runs `work` (which opens and ends write transactions on `db`) on the writer lane and waits for
/// it. It runs to its end even if the caller stops waiting: a dropped caller no longer rolls its
/// transaction back, so hand over only work that is whole when it finishes.
pub async fn on_writer_lane<F>(db: &Db, work: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(lane) = lane_for(db) else {
        return work.await;
    };
    match lane.spawn(work).await {
        Ok(out) => out,
        // A panic in the work surfaces in the caller, as if it had run there.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => unreachable!("the writer lane is never shut down, so its tasks are never cancelled"),
    }
}

/// Starts a long-lived task that holds the writer now and then (a group committer) on the lane.
pub fn spawn_on_writer_lane<F>(db: &Db, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match lane_for(db) {
        Some(lane) => drop(lane.spawn(task)),
        None => drop(tokio::spawn(task)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_work_runs_on_the_lane_and_a_panic_reaches_the_caller() {
        let dir = std::env::temp_dir().join(format!("creatorflow-lane-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::connect_sqlite(&dir.join("lane.db")).await.unwrap();

        let thread = on_writer_lane(&db, async { std::thread::current().name().map(str::to_owned) }).await;
        assert_eq!(thread.as_deref(), Some("sqlite-writer-lane"));
        // A transaction on the lane commits like anywhere else.
        let committed = on_writer_lane(&db, {
            let db = db.clone();
            async move {
                let tx = db.begin().await?;
                tx.commit().await
            }
        })
        .await;
        assert!(committed.is_ok());

        let db2 = db.clone();
        let panicked = tokio::spawn(async move { on_writer_lane(&db2, async { panic!("a bug in lane work") }).await }).await;
        assert!(panicked.is_err_and(|e| e.is_panic()), "the panic surfaces where the work was awaited");
        // The lane survives a panicking task.
        assert_eq!(on_writer_lane(&db, async { 7 }).await, 7);

        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

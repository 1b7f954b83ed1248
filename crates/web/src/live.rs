//! `GET /api/live`: the live snapshot stream as Server-Sent Events, one `data: <LiveSnapshot JSON>` event
//! a second (the engine builds one snapshot a second however many dashboards listen). The subscription
//! ends when the browser goes away.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use creatorflow_engine::{Console, LiveSnapshot};
use futures::Stream;
use tokio::sync::mpsc::error::TrySendError;

use crate::AppState;

/// Ends the engine's subscription when the response stream is dropped (the client disconnected).
struct Subscription {
    console: Console,
    id: i64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.console.unsubscribe_live(self.id);
    }
}

pub(crate) async fn stream(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<LiveSnapshot>(4);
    // A slow client skips a snapshot rather than queueing stale ones; a gone client ends it.
    let sub = s.console.subscribe_live(move |snapshot| !matches!(tx.try_send(snapshot), Err(TrySendError::Closed(_))));
    let guard = Subscription { console: s.console.clone(), id: sub.id };
    let events = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let snapshot = rx.recv().await?;
        let event = Event::default().json_data(&snapshot).unwrap_or_else(|e| Event::default().event("error").data(e.to_string()));
        Some((Ok(event), (rx, guard)))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

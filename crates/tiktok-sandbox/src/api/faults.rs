//! Fault injection around the real handlers. Draws come from the seeded fault RNG, so a fault pattern
//! is reproducible for a given seed and call order.
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::{Reply, envelope, html};
use crate::codes;
use crate::config::EndpointFaults;
use crate::state::{AppState, lock};

/// Outage and throttle-storm windows: checked before anything else, like a load balancer would.
pub(super) fn before_gate(state: &AppState, _name: &str) -> Option<Response> {
    let now = state.now_ms();
    let (outage, storm) = {
        let f = lock(&state.faults);
        (
            f.outages.iter().any(|w| w.contains(now)),
            f.throttle_storms.iter().any(|w| w.contains(now)),
        )
    };
    if outage {
        lock(&state.stats).fault("outage");
        return Some(html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
        ));
    }
    if storm {
        lock(&state.stats).fault("throttle_storm");
        return Some(envelope(
            state,
            Reply::err(
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_REQUESTS,
                "too many requests",
            ),
        ));
    }
    None
}

fn settings(state: &AppState, name: &str) -> EndpointFaults {
    lock(&state.faults).for_endpoint(name).clone()
}

fn draw(state: &AppState, rate: f64) -> bool {
    rate > 0.0 && lock(&state.fault_rng).f64() < rate
}

/// Error and throttle faults (no side effect happens) and added latency.
pub(super) async fn before_handler(state: &AppState, name: &str) -> Option<Response> {
    let f = settings(state, name);
    let mut delay = f.latency_min_ms;
    if f.latency_max_ms > f.latency_min_ms {
        delay = lock(&state.fault_rng).u64(f.latency_min_ms..=f.latency_max_ms);
    }
    if draw(state, f.tail_rate) {
        delay += f.tail_ms;
    }
    if delay > 0 {
        {
            let mut st = lock(&state.stats);
            st.fault("latency");
            st.latency_added_ms += delay;
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if draw(state, f.error_rate) {
        lock(&state.stats).fault("error");
        return Some(envelope(
            state,
            Reply::err(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL_ERROR,
                "internal error, please retry",
            ),
        ));
    }
    if draw(state, f.throttle_rate) {
        lock(&state.stats).fault("throttle");
        return Some(envelope(
            state,
            Reply::err(
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_REQUESTS,
                "too many requests",
            ),
        ));
    }
    None
}

/// Timeout, reset and malformed-JSON faults, applied after the handler ran: the side effect happened
/// but the client cannot know, which is what tests a client's idempotency.
pub(super) async fn after_handler(state: &AppState, name: &str, resp: Response) -> Response {
    let f = settings(state, name);
    if draw(state, f.timeout_rate) {
        lock(&state.stats).fault("timeout");
        tokio::time::sleep(Duration::from_millis(f.timeout_ms)).await;
        return envelope(
            state,
            Reply::err(
                StatusCode::GATEWAY_TIMEOUT,
                codes::GATEWAY_TIMEOUT,
                "upstream timeout",
            ),
        );
    }
    if draw(state, f.reset_rate) {
        lock(&state.stats).fault("reset");
        // Start a chunked body, then fail the stream: hyper aborts the connection mid-response.
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{\"code\":0,\"message\":\"Succ")),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "sandbox fault: connection reset",
            )),
        ];
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap_or(resp);
    }
    if draw(state, f.malformed_rate) {
        lock(&state.stats).fault("malformed");
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"code":0,"message":"Success","data":{"orders":[{"id":"57"#,
            ))
            .unwrap_or(resp);
    }
    resp
}

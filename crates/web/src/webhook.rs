//! `POST /webhooks/tiktok`: TikTok's pushes, verified (HMAC with the shop's app secret over the raw
//! body) and recorded through the pipeline's ingestion path, acknowledged well within TikTok's 3 s.
//! Answers: 200 recorded or a duplicate; 400 not a notification; 401 bad signature or unknown shop;
//! 413 too large; 503 when our side failed or was too slow (TikTok retries, and the retry is deduplicated).

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use creatorflow_engine::pipeline::{MAX_WEBHOOK_BYTES, WebhookError, WebhookOutcome};
use serde_json::json;

use crate::access::refuse;
use crate::{AppState, WEBHOOK_PATH};

/// TikTok waits 3 s for an acknowledgement; answer 503 before that rather than be cut off mid-way.
const ACK_WITHIN: Duration = Duration::from_millis(2500);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(WEBHOOK_PATH, post(receive))
        // One byte over the limit reaches the engine, which names the size in its refusal.
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES + 1))
}

async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let outcome = tokio::time::timeout(ACK_WITHIN, s.console.receive_webhook(&body, authorization)).await;
    match outcome {
        Ok(Ok(WebhookOutcome::Accepted { jobs, .. })) => (StatusCode::OK, axum::Json(json!({"code": 0, "message": "success", "jobs": jobs}))).into_response(),
        Ok(Ok(WebhookOutcome::Duplicate)) => (StatusCode::OK, axum::Json(json!({"code": 0, "message": "duplicate"}))).into_response(),
        Ok(Err(e)) => {
            let status = match &e {
                WebhookError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                WebhookError::Signature | WebhookError::UnknownShop(_) => StatusCode::UNAUTHORIZED,
                WebhookError::Payload(_) | WebhookError::NoNotificationId => StatusCode::BAD_REQUEST,
                WebhookError::Engine(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            tracing::warn!(%e, status = status.as_u16(), "webhook refused");
            refuse(status, if e.is_ours() { "unavailable" } else { "invalid_input" }, e.to_string())
        }
        Err(_) => {
            tracing::warn!("webhook not recorded within {ACK_WITHIN:?}; tiktok will retry");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the webhook could not be recorded in time; retry")
        }
    }
}

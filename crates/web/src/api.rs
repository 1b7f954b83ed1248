//! `/api/<command>` (nested under `/api`): one route per `Console` command, named and shaped like the desktop app's Tauri
//! commands (src-tauri/src/commands.rs), so the UI's one adapter (ui/src/api/transport.ts) calls both
//! the same way: `GET` for calls without arguments, `POST` with the arguments as a JSON object.

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use creatorflow_engine::{CommandError, EngineError, Overview};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::access::refuse;

/// A command's answer: its value as JSON, or a `CommandError` with a status that matches its kind.
pub(crate) struct Reply<T>(Result<T, CommandError>);

impl<T> From<Result<T, EngineError>> for Reply<T> {
    fn from(r: Result<T, EngineError>) -> Self {
        Reply(r.map_err(CommandError::from))
    }
}

pub(crate) fn status_of(kind: &str) -> StatusCode {
    match kind {
        "not_found" => StatusCode::NOT_FOUND,
        "invalid_input" => StatusCode::BAD_REQUEST,
        "conflict" => StatusCode::CONFLICT,
        "unauthorized" | "authorization" => StatusCode::UNAUTHORIZED,
        "credentials" | "api" | "demo" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(value) => axum::Json(value).into_response(),
            Err(e) => (status_of(&e.kind), axum::Json(e)).into_response(),
        }
    }
}

/// A command's JSON arguments (an object; an empty body counts as `{}`), with a `CommandError` for
/// anything else.
pub(crate) struct Args<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Args<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| refuse(StatusCode::PAYLOAD_TOO_LARGE, "invalid_input", format!("cannot read the request body: {e}")))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(bytes)
            .map(Args)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, "invalid_input", format!("the arguments do not fit this command: {e}")))
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/overview", get(overview).post(overview))
        .fallback(unknown)
}

async fn overview(State(s): State<AppState>) -> Reply<Overview> {
    s.console.overview().await.into()
}

async fn unknown(uri: axum::http::Uri) -> Response {
    // Nested under /api: the path here is the command.
    let command = uri.path().trim_start_matches('/');
    refuse(StatusCode::NOT_FOUND, "not_found", format!("no command {command:?}"))
}

//! `CommandError`: the structured `{kind, message}` form in which engine errors reach the UI, the same
//! over Tauri IPC and over HTTP, so the UI branches on `kind` (retry, re-authorize, not found).

use serde::Serialize;
use ts_rs::TS;

use crate::error::EngineError;

/// The error every command and route returns, serialized as `{"kind": "...", "message": "..."}`.
/// `message` is lower-case, names the offending value and never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CommandError {
    pub kind: String,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        CommandError { kind: kind.to_owned(), message: message.into() }
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        CommandError { kind: error.kind().to_owned(), message: error.to_string() }
    }
}

//! The structured `{kind, message}` form in which engine errors reach the UI.

use creatorflow_engine::EngineError;
use serde::Serialize;

/// The error every command returns, serialized as `{"kind": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        CommandError {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

//! Errors of the desktop shell, and the structured `{kind, message}` form in which they reach the UI.

use creatorflow_engine::EngineError;
use serde::Serialize;

/// What can go wrong in the shell itself, around the engine.
#[derive(thiserror::Error, Debug)]
pub enum ShellError {
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ShellError {
    /// A stable name the UI branches on; engine errors keep the engine's own kinds.
    pub fn kind(&self) -> &'static str {
        match self {
            ShellError::Engine(error) => error.kind(),
        }
    }
}

/// The error every command returns, serialized as `{"kind": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl From<ShellError> for CommandError {
    fn from(error: ShellError) -> Self {
        CommandError {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        ShellError::Engine(error).into()
    }
}

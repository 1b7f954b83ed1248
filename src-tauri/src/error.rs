//! The structured `{kind, message}` error of every command: the engine's `CommandError`, shared with the
//! web console so the UI sees one shape from both transports.

pub use creatorflow_engine::CommandError;

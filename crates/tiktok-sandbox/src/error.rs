//! The crate's one error type.
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot bind sandbox to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sandbox bind address {0} is not loopback; the sandbox only serves this machine")]
    NotLoopback(SocketAddr),
    #[error("webhook url {0:?} is not an http url on a loopback host")]
    WebhookUrlNotLoopback(String),
    #[error("invalid fault setting {field}: {value} (expected {expected})")]
    InvalidFault {
        field: String,
        value: String,
        expected: &'static str,
    },
    #[error("invalid sandbox config {field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    #[error("sandbox server failed: {0}")]
    Serve(std::io::Error),
    #[error("webhook client could not be built: {0}")]
    HttpClient(reqwest::Error),
}

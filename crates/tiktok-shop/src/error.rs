//! The crate's one error type, shaped for the pipeline: each variant says what to do next (back off,
//! refresh, re-authorize, fix our bug, send to triage, park until the network is back). Every API error
//! carries a [`CallContext`] (endpoint, HTTP status, request_id) for triage and never a secret.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Where an API error happened: enough for a support person to find the call in TikTok's logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallContext {
    /// Method and path template, e.g. `POST /fulfillment/202309/packages/{package_id}/ship`.
    pub endpoint: String,
    /// HTTP status if the server answered at all.
    pub http_status: Option<u16>,
    /// TikTok's `request_id` from the envelope (or the `x-tt-logid` header) if present.
    pub request_id: Option<String>,
}

impl fmt::Display for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint {}", self.endpoint)?;
        if let Some(s) = self.http_status {
            write!(f, ", http {s}")?;
        }
        if let Some(r) = &self.request_id {
            write!(f, ", request_id {r}")?;
        }
        Ok(())
    }
}

/// Business rules TikTok enforces on fulfillment, named so the pipeline can branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessRule {
    /// 21011044: the order is ON_HOLD (about an hour after payment); retry later.
    OrderOnHold,
    /// 21011007: a package item has an after-sale request; a person must look.
    AfterSaleRequest,
    /// 21004024: shipping failed, the order must be split first.
    MustSplitOrder,
    /// 21011049: tracking info can only be updated within 72 h of shipping.
    TrackingUpdateWindowClosed,
    /// Another fulfillment/order business code (21xxxxxx); the code is on the error.
    Other,
}

impl BusinessRule {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            21011044 => Some(Self::OrderOnHold),
            21011007 => Some(Self::AfterSaleRequest),
            21004024 => Some(Self::MustSplitOrder),
            21011049 => Some(Self::TrackingUpdateWindowClosed),
            21_000_000..=21_999_999 => Some(Self::Other),
            _ => None,
        }
    }
}

/// Coarse class of an error for the UI (`{kind, message}`) and for retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Throttled,
    TokenExpired,
    Reauthorize,
    InvalidRequest,
    ClockSkew,
    BusinessRule,
    Server,
    Timeout,
    Unreachable,
    Decode,
    DocumentUnavailable,
    /// The caller's [`crate::gate::SendGate`] held the request back: nothing was sent.
    Withheld,
    Config,
    Webhook,
    SecretStore,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("throttled by tiktok shop after {attempts} attempts ({ctx})")]
    Throttled { ctx: CallContext, attempts: u32 },

    #[error("access token expired (code 105002) and one refresh did not help ({ctx})")]
    TokenExpired { ctx: CallContext },

    #[error(
        "shop authorization is invalid or revoked (code {code}: {message}); re-authorize the shop ({ctx})"
    )]
    Deauthorized {
        ctx: CallContext,
        code: i64,
        message: String,
    },

    #[error(
        "the app lacks an api scope (code 105005: {message}); re-authorize with the scope ({ctx})"
    )]
    MissingScope { ctx: CallContext, message: String },

    #[error(
        "this machine's clock is off by {skew_secs} s from tiktok's (code 36009004); fix the system time ({ctx})"
    )]
    ClockSkew { ctx: CallContext, skew_secs: i64 },

    #[error("invalid request (code {code}: {message}) ({ctx})")]
    InvalidRequest {
        ctx: CallContext,
        code: i64,
        message: String,
    },

    #[error("business rule {rule:?} (code {code}: {message}) ({ctx})")]
    BusinessRule {
        ctx: CallContext,
        rule: BusinessRule,
        code: i64,
        message: String,
    },

    #[error("tiktok shop server error ({}: {message}) ({ctx})", code.map_or_else(|| "no code".to_owned(), |c| format!("code {c}")))]
    Server {
        ctx: CallContext,
        code: Option<i64>,
        message: String,
    },

    #[error("request timed out after {timeout_ms} ms ({ctx})")]
    Timeout { ctx: CallContext, timeout_ms: u64 },

    #[error("network unreachable: {detail} ({ctx})")]
    Unreachable { ctx: CallContext, detail: String },

    #[error("document is not available (expired or not generated yet; fetch a new url) ({ctx})")]
    DocumentUnavailable { ctx: CallContext },

    #[error("unexpected response body: {detail} ({ctx})")]
    Decode { ctx: CallContext, detail: String },

    #[error("not sent: {reason} (endpoint {endpoint})")]
    Withheld { endpoint: String, reason: String },

    #[error("invalid argument {name} = {value:?}: {reason}")]
    InvalidArgument {
        name: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("invalid base url {url:?}: {detail}")]
    InvalidBaseUrl { url: String, detail: String },

    #[error("cannot build the http client: {detail}")]
    HttpClientBuild { detail: String },

    #[error("webhook signature does not match the body")]
    WebhookSignature,

    #[error("webhook payload is not a valid notification: {detail}")]
    WebhookPayload { detail: String },

    #[error(
        "no secret service is available ({detail}); set CREATORFLOW_SECRET_STORE=file to keep secrets in a 0600 file in the data directory instead"
    )]
    SecretServiceUnavailable { detail: String },

    #[error("keyring error for entry {entry:?}: {detail}")]
    Keyring { entry: String, detail: String },

    #[error("secret file {path:?}: {detail}")]
    SecretFile { path: PathBuf, detail: String },

    #[error(
        "unknown secret store {value:?} in CREATORFLOW_SECRET_STORE; use \"keyring\" or \"file\""
    )]
    UnknownSecretStore { value: String },

    #[error("stored tokens under {key:?} are unreadable: {detail}")]
    StoredTokensCorrupt { key: String, detail: String },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::Deauthorized { .. } | Error::MissingScope { .. } => ErrorKind::Reauthorize,
            Error::InvalidRequest { .. } | Error::InvalidArgument { .. } => {
                ErrorKind::InvalidRequest
            }
            Error::BusinessRule { .. } => ErrorKind::BusinessRule,
            Error::ClockSkew { .. } => ErrorKind::ClockSkew,
            Error::Server { .. } => ErrorKind::Server,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Unreachable { .. } => ErrorKind::Unreachable,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::DocumentUnavailable { .. } => ErrorKind::DocumentUnavailable,
            Error::Withheld { .. } => ErrorKind::Withheld,
            Error::InvalidBaseUrl { .. } | Error::HttpClientBuild { .. } => ErrorKind::Config,
            Error::WebhookSignature | Error::WebhookPayload { .. } => ErrorKind::Webhook,
            Error::SecretServiceUnavailable { .. }
            | Error::Keyring { .. }
            | Error::SecretFile { .. }
            | Error::UnknownSecretStore { .. }
            | Error::StoredTokensCorrupt { .. } => ErrorKind::SecretStore,
        }
    }

    /// True if retrying the same call later can succeed without anyone changing anything.
    /// `Unreachable` is transient but should park work rather than spend attempts (see DESIGN.md).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled { .. }
            | Error::Server { .. }
            | Error::Timeout { .. }
            | Error::Unreachable { .. } => true,
            Error::BusinessRule { rule, .. } => *rule == BusinessRule::OrderOnHold,
            _ => false,
        }
    }

    /// The call context, for errors that came from an HTTP call.
    pub fn context(&self) -> Option<&CallContext> {
        match self {
            Error::Throttled { ctx, .. }
            | Error::TokenExpired { ctx }
            | Error::Deauthorized { ctx, .. }
            | Error::MissingScope { ctx, .. }
            | Error::InvalidRequest { ctx, .. }
            | Error::ClockSkew { ctx, .. }
            | Error::BusinessRule { ctx, .. }
            | Error::Server { ctx, .. }
            | Error::Timeout { ctx, .. }
            | Error::Unreachable { ctx, .. }
            | Error::DocumentUnavailable { ctx }
            | Error::Decode { ctx, .. } => Some(ctx),
            _ => None,
        }
    }

    /// TikTok's numeric code, when the server sent one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Deauthorized { code, .. }
            | Error::InvalidRequest { code, .. }
            | Error::BusinessRule { code, .. } => Some(*code),
            Error::Server { code, .. } => *code,
            Error::Throttled { .. } => Some(CODE_THROTTLED),
            Error::TokenExpired { .. } => Some(CODE_TOKEN_EXPIRED),
            Error::MissingScope { .. } => Some(105005),
            Error::ClockSkew { .. } => Some(36009004),
            _ => None,
        }
    }
}

pub(crate) const CODE_THROTTLED: i64 = 36009002;
pub(crate) const CODE_TOKEN_EXPIRED: i64 = 105002;

/// Maps a non-zero envelope code (or an HTTP error with no envelope) to an error. `code` is `None` when
/// the body was not a TikTok envelope (a proxy's 502 page, say).
pub(crate) fn classify(ctx: CallContext, code: Option<i64>, message: String) -> Error {
    let status = ctx.http_status.unwrap_or(200);
    match code {
        Some(CODE_THROTTLED) => Error::Throttled { ctx, attempts: 1 },
        Some(c @ (36009003 | 36009007)) => Error::Server {
            ctx,
            code: Some(c),
            message,
        },
        Some(CODE_TOKEN_EXPIRED) => Error::TokenExpired { ctx },
        // 36004001 refresh token expired, 36004005 no auth record: both end in re-authorization.
        Some(c @ (105001 | 36004001 | 36004005)) => Error::Deauthorized {
            ctx,
            code: c,
            message,
        },
        Some(105005) => Error::MissingScope { ctx, message },
        Some(c) => match BusinessRule::from_code(c) {
            Some(rule) => Error::BusinessRule {
                ctx,
                rule,
                code: c,
                message,
            },
            None if status >= 500 => Error::Server {
                ctx,
                code: Some(c),
                message,
            },
            // Unknown codes are treated as our bug: never retried blindly.
            None => Error::InvalidRequest {
                ctx,
                code: c,
                message,
            },
        },
        None if status == 429 => Error::Throttled { ctx, attempts: 1 },
        None if status >= 500 => Error::Server {
            ctx,
            code: None,
            message,
        },
        None => Error::Decode {
            ctx,
            detail: format!("http {status} without a tiktok envelope: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(status: u16) -> CallContext {
        CallContext {
            endpoint: "POST /x".into(),
            http_status: Some(status),
            request_id: Some("rid-1".into()),
        }
    }

    #[test]
    fn codes_map_to_actionable_kinds() {
        let k = |status, code: Option<i64>| classify(ctx(status), code, "m".into()).kind();
        assert_eq!(k(429, Some(36009002)), ErrorKind::Throttled);
        assert_eq!(k(429, None), ErrorKind::Throttled);
        assert_eq!(k(200, Some(36009003)), ErrorKind::Server);
        assert_eq!(k(503, Some(36009007)), ErrorKind::Server);
        assert_eq!(k(502, None), ErrorKind::Server);
        assert_eq!(k(401, Some(105002)), ErrorKind::TokenExpired);
        assert_eq!(k(401, Some(105001)), ErrorKind::Reauthorize);
        assert_eq!(k(200, Some(36004001)), ErrorKind::Reauthorize);
        assert_eq!(k(200, Some(105005)), ErrorKind::Reauthorize);
        assert_eq!(k(401, Some(106001)), ErrorKind::InvalidRequest);
        assert_eq!(k(400, Some(36009004)), ErrorKind::InvalidRequest);
        assert_eq!(k(200, Some(106013)), ErrorKind::InvalidRequest);
        assert_eq!(k(200, Some(99999)), ErrorKind::InvalidRequest);
        assert_eq!(k(200, None), ErrorKind::Decode);
        for (code, rule) in [
            (21011044, BusinessRule::OrderOnHold),
            (21011007, BusinessRule::AfterSaleRequest),
            (21004024, BusinessRule::MustSplitOrder),
            (21011049, BusinessRule::TrackingUpdateWindowClosed),
            (21001001, BusinessRule::Other),
        ] {
            match classify(ctx(200), Some(code), "m".into()) {
                Error::BusinessRule {
                    rule: r, code: c, ..
                } => assert_eq!((r, c), (rule, code)),
                other => panic!("code {code} gave {other:?}"),
            }
        }
    }

    #[test]
    fn transient_and_context() {
        let on_hold = classify(ctx(200), Some(21011044), "on hold".into());
        assert!(on_hold.is_transient());
        assert!(!classify(ctx(200), Some(21011007), "m".into()).is_transient());
        assert!(!classify(ctx(401), Some(106001), "m".into()).is_transient());
        assert!(classify(ctx(503), None, "m".into()).is_transient());
        let e = classify(ctx(401), Some(106001), "invalid sign".into());
        assert_eq!(
            e.context().and_then(|c| c.request_id.as_deref()),
            Some("rid-1")
        );
        assert_eq!(e.code(), Some(106001));
        let text = e.to_string();
        assert!(
            text.contains("106001")
                && text.contains("rid-1")
                && text.contains("POST /x")
                && text.contains("401"),
            "{text}"
        );
    }
}

//! Who may use the web console. On loopback without a token: this machine's browsers only, with the
//! `Host` header pinned to a loopback name (a page on another site cannot reach us through DNS rebinding)
//! and JSON-only POSTs (a cross-site form cannot send `application/json` without a CORS preflight, which
//! we never grant). On any other address a token is required and checked on every request: an
//! `Authorization: Bearer` header (scripts), or a cookie the server sets when the browser first opens the
//! `?token=` link `serve` prints. The webhook path is exempt: TikTok signs it, and the signature is checked.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use creatorflow_engine::CommandError;

use crate::{AppState, WEBHOOK_PATH};

/// The cookie that carries the token after the first visit.
pub const TOKEN_COOKIE: &str = "creatorflow_token";

/// Shortest token accepted: a guessable token is no protection.
const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    #[error(
        "refusing to serve on {0} without an access token: anyone who can reach that address could ship and \
         discard orders. Pass --token (or set CREATORFLOW_WEB_TOKEN) with at least 16 characters, e.g. \
         --token $(openssl rand -hex 16), or serve on 127.0.0.1"
    )]
    TokenRequired(SocketAddr),
    #[error("the access token must be at least {MIN_TOKEN_LEN} characters of A-Z a-z 0-9 - _ . ~ (got {0} characters)")]
    WeakToken(usize),
}

/// The access rule of one running server.
#[derive(Clone)]
pub struct Access {
    bound: SocketAddr,
    token: Option<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("bound", &self.bound).field("token", &self.token.as_ref().map(|_| "***")).finish()
    }
}

impl Access {
    pub fn new(bound: SocketAddr, token: Option<String>) -> Result<Access, AccessError> {
        let token = token.filter(|t| !t.is_empty());
        if let Some(t) = &token {
            let url_safe = t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
            if t.len() < MIN_TOKEN_LEN || !url_safe {
                return Err(AccessError::WeakToken(t.chars().count()));
            }
        } else if !bound.ip().is_loopback() {
            return Err(AccessError::TokenRequired(bound));
        }
        Ok(Access { bound, token })
    }

    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// `http://addr/`, with `?token=` when one is required.
    pub fn browser_url(&self, addr: SocketAddr) -> String {
        let host = if addr.ip().is_unspecified() { SocketAddr::new([127, 0, 0, 1].into(), addr.port()) } else { addr };
        match &self.token {
            Some(t) => format!("http://{host}/?token={t}"),
            None => format!("http://{host}/"),
        }
    }

    fn token_matches(&self, presented: Option<&str>) -> bool {
        match (&self.token, presented) {
            (None, _) => true,
            (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
            (Some(_), None) => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "token").map(|(_, v)| v)
}

/// Whether `host` (the Host header) names this server by a loopback name.
fn loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "[::1]") || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

pub(crate) fn refuse(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(CommandError::new(kind, message))).into_response()
}

/// The middleware every request passes.
pub(crate) async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = &state.access;
    let path = request.uri().path();
    if path == WEBHOOK_PATH {
        return next.run(request).await;
    }
    let headers = request.headers();
    if !access.requires_token() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !loopback_host(host) {
            return refuse(StatusCode::FORBIDDEN, "forbidden", format!("host {host:?} is not a loopback name; this console serves only http://127.0.0.1"));
        }
    }
    if request.method() == Method::POST && path.starts_with("/api/") {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        if !json {
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_input", "api calls must send content-type application/json");
        }
    }
    if access.token_matches(bearer(headers)) || access.token_matches(cookie(headers, TOKEN_COOKIE)) {
        return next.run(request).await;
    }
    // First visit from the printed link: trade the query token for a cookie, and drop it from the URL
    // (so it does not linger in history or get copied along with a screenshot of the address bar).
    if request.method() == Method::GET {
        let given = query_token(request.uri().query());
        if given.is_some() && access.token_matches(given) {
            let cookie = format!("{TOKEN_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", given.unwrap_or_default());
            let mut response = Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, path)
                .body(Body::empty())
                .unwrap_or_default();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            return response;
        }
    }
    if path.starts_with("/api/") {
        refuse(StatusCode::UNAUTHORIZED, "unauthorized", "this console needs its access token: send Authorization: Bearer <token>, or open the link `creatorflow-cli serve` printed")
    } else {
        let page = "<!doctype html><meta charset=utf-8><title>CreatorFlow Console: access token needed</title>\
            <p>This console needs its access token. Open the link <code>creatorflow-cli serve</code> printed \
            (it ends in <code>?token=...</code>).</p>";
        (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_loopback_needs_a_strong_token() {
        assert_eq!(Access::new(addr("0.0.0.0:7878"), None).unwrap_err(), AccessError::TokenRequired(addr("0.0.0.0:7878")));
        assert_eq!(Access::new(addr("10.1.2.3:7878"), Some(String::new())).unwrap_err(), AccessError::TokenRequired(addr("10.1.2.3:7878")));
        assert_eq!(Access::new(addr("0.0.0.0:1"), Some("short".into())).unwrap_err(), AccessError::WeakToken(5));
        assert!(matches!(Access::new(addr("0.0.0.0:1"), Some("with space in it 1234".into())), Err(AccessError::WeakToken(_))));
        assert!(Access::new(addr("0.0.0.0:1"), Some("0123456789abcdef".into())).is_ok());
        assert!(Access::new(addr("127.0.0.1:1"), None).is_ok());
        assert!(Access::new(addr("[::1]:1"), None).is_ok());
    }

    #[test]
    fn tokens_compare_whole() {
        let a = Access::new(addr("0.0.0.0:1"), Some("0123456789abcdef".into())).unwrap();
        assert!(a.token_matches(Some("0123456789abcdef")));
        assert!(!a.token_matches(Some("0123456789abcde")));
        assert!(!a.token_matches(Some("0123456789abcdeF")));
        assert!(!a.token_matches(None));
        assert!(!format!("{a:?}").contains("0123"), "debug output hides the token");
    }

    #[test]
    fn loopback_host_names() {
        for ok in ["127.0.0.1:7878", "localhost:7878", "[::1]:7878", "localhost", "127.0.0.2:1"] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:7878", "127.0.0.1.evil.example", "", "[::2]:7878", "10.0.0.1:7878"] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn cookies_and_queries_parse() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; creatorflow_token=xyz; b=2"));
        assert_eq!(cookie(&h, TOKEN_COOKIE), Some("xyz"));
        assert_eq!(query_token(Some("x=1&token=abc")), Some("abc"));
        assert_eq!(query_token(Some("tokens=abc")), None);
    }
}

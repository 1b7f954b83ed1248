//! Client configuration: base URLs (TikTok or the local sandbox, same code path), timeouts, user agent,
//! rate limit and retry policy.

use crate::error::Error;
use std::time::Duration;
use url::Url;

pub const DEFAULT_API_BASE: &str = "https://open-api.tiktokglobalshop.com";
pub const DEFAULT_AUTH_BASE: &str = "https://auth.tiktok-shops.com";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API host, e.g. `https://open-api.tiktokglobalshop.com` or `http://127.0.0.1:8788`.
    pub api_base: Url,
    /// Auth (token) host, e.g. `https://auth.tiktok-shops.com`.
    pub auth_base: Url,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// TCP/TLS connect timeout; a short one tells "network down" apart quickly.
    pub connect_timeout: Duration,
    pub user_agent: String,
    /// Client-side limit per (app, shop, API path); TikTok allows 50.
    pub qps_per_path: f64,
    /// How many times a throttled call is retried (with jittered back-off) before `Throttled` surfaces.
    pub max_throttle_retries: u32,
    /// How many times an idempotent read is retried on a transient server error or timeout.
    pub max_transient_retries: u32,
    /// Back-off base for throttling; attempt n sleeps `base * 2^n` with full jitter, capped at `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Refresh the access token this long before `access_token_expire_in`.
    pub refresh_margin: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            api_base: parse_base(DEFAULT_API_BASE).unwrap_or_else(|_| unreachable_base()),
            auth_base: parse_base(DEFAULT_AUTH_BASE).unwrap_or_else(|_| unreachable_base()),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: format!("creatorflow-console/{}", env!("CARGO_PKG_VERSION")),
            qps_per_path: 50.0,
            max_throttle_retries: 4,
            max_transient_retries: 2,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(5),
            refresh_margin: Duration::from_secs(30 * 60),
        }
    }
}

// The constants above always parse; this only exists so Default needs no unwrap.
fn unreachable_base() -> Url {
    Url::from_directory_path("/")
        .unwrap_or_else(|_| Url::parse("data:,").unwrap_or_else(|_| unreachable_base()))
}

impl ClientConfig {
    /// Same configuration with both hosts pointed elsewhere (the local sandbox, a test server).
    pub fn with_bases(api_base: &str, auth_base: &str) -> Result<Self, Error> {
        Ok(Self {
            api_base: parse_base(api_base)?,
            auth_base: parse_base(auth_base)?,
            ..Self::default()
        })
    }
}

/// Parses an http(s) base URL without path (a trailing slash is allowed).
pub fn parse_base(s: &str) -> Result<Url, Error> {
    let url = Url::parse(s).map_err(|e| Error::InvalidBaseUrl {
        url: s.to_owned(),
        detail: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::InvalidBaseUrl {
            url: s.to_owned(),
            detail: "scheme must be http or https".into(),
        });
    }
    if url.host_str().is_none() {
        return Err(Error::InvalidBaseUrl {
            url: s.to_owned(),
            detail: "no host".into(),
        });
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(Error::InvalidBaseUrl {
            url: s.to_owned(),
            detail: "base url must not have a path".into(),
        });
    }
    Ok(url)
}

/// `base` + absolute `path` (`/order/202309/orders`), keeping the base's scheme, host and port.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    u.set_path(path);
    u.set_query(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_validated() {
        let c =
            ClientConfig::with_bases("http://127.0.0.1:9000", "http://127.0.0.1:9001/").unwrap();
        assert_eq!(
            join(&c.api_base, "/order/202309/orders").as_str(),
            "http://127.0.0.1:9000/order/202309/orders"
        );
        assert_eq!(
            join(&c.auth_base, "/api/v2/token/get").as_str(),
            "http://127.0.0.1:9001/api/v2/token/get"
        );
        assert!(matches!(
            parse_base("ftp://x"),
            Err(Error::InvalidBaseUrl { .. })
        ));
        assert!(matches!(
            parse_base("http://x/api"),
            Err(Error::InvalidBaseUrl { .. })
        ));
        assert!(matches!(
            parse_base("nonsense"),
            Err(Error::InvalidBaseUrl { .. })
        ));
        let d = ClientConfig::default();
        assert_eq!(
            d.api_base.as_str(),
            "https://open-api.tiktokglobalshop.com/"
        );
        assert_eq!(d.qps_per_path, 50.0);
    }
}

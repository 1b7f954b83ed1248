//! The auth host: exchange an authorization code for tokens, refresh tokens. These calls are unsigned and
//! carry the app secret in the query, so every error built here strips the URL (reqwest's `without_url`).

use crate::config::{ClientConfig, join};
use crate::error::{CallContext, Error, classify};
use crate::models::token::TokenSet;
use crate::secret::{AppCredentials, Secret};
use crate::transport::{Envelope, transport_error};
use std::fmt;
use url::Url;

pub(crate) const TOKEN_GET_PATH: &str = "/api/v2/token/get";
pub(crate) const TOKEN_REFRESH_PATH: &str = "/api/v2/token/refresh";

/// Client of the auth host. Cheap to clone (reqwest's client is an `Arc` inside).
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: Url,
    creds: AppCredentials,
    timeout_ms: u64,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.base.as_str())
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    pub(crate) fn new(http: reqwest::Client, config: &ClientConfig, creds: AppCredentials) -> Self {
        Self {
            http,
            base: config.auth_base.clone(),
            creds,
            timeout_ms: config.request_timeout.as_millis() as u64,
        }
    }

    /// Exchanges the `code` from the authorization redirect (valid 30 min, single use) for tokens.
    pub async fn get_token(&self, auth_code: &str) -> Result<TokenSet, Error> {
        if auth_code.is_empty() {
            return Err(Error::InvalidArgument {
                name: "auth_code",
                value: String::new(),
                reason: "must not be empty",
            });
        }
        self.token_call(
            TOKEN_GET_PATH,
            &[("auth_code", auth_code), ("grant_type", "authorized_code")],
        )
        .await
    }

    /// Refreshes with a refresh token. Always store the returned pair: whether TikTok rotates the refresh
    /// token is unconfirmed, so the newest one is the only safe one to keep.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet, Error> {
        self.token_call(
            TOKEN_REFRESH_PATH,
            &[
                ("refresh_token", refresh_token.expose()),
                ("grant_type", "refresh_token"),
            ],
        )
        .await
    }

    async fn token_call(
        &self,
        path: &'static str,
        extra: &[(&str, &str)],
    ) -> Result<TokenSet, Error> {
        let url = join(&self.base, path);
        let mut query: Vec<(&str, &str)> = vec![
            ("app_key", self.creds.app_key.as_str()),
            ("app_secret", self.creds.app_secret.expose()),
        ];
        query.extend_from_slice(extra);
        let endpoint = format!("GET {path}");
        let resp = self
            .http
            .get(url)
            .query(&query)
            .send()
            .await
            .map_err(|e| transport_error(&endpoint, e, self.timeout_ms))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(&endpoint, e, self.timeout_ms))?;
        let mut ctx = CallContext {
            endpoint,
            http_status: Some(status),
            request_id: None,
        };
        // Never echo the body or serde's message here: a token response holds the tokens. Position only.
        let env: Envelope<'_> = serde_json::from_slice(&bytes).map_err(|e| {
            let detail = format!(
                "auth response is not a json envelope (line {}, column {})",
                e.line(),
                e.column()
            );
            if status >= 500 {
                Error::Server {
                    ctx: ctx.clone(),
                    code: None,
                    message: detail,
                }
            } else {
                Error::Decode {
                    ctx: ctx.clone(),
                    detail,
                }
            }
        })?;
        ctx.request_id = env.request_id.clone();
        if env.code != 0 || !(200..300).contains(&status) {
            return Err(classify(ctx, Some(env.code), env.message.clone()));
        }
        let data = env.data.map(|d| d.get()).unwrap_or("null");
        serde_json::from_str::<TokenSet>(data).map_err(|e| Error::Decode {
            ctx,
            detail: format!(
                "token data has an unexpected shape (line {}, column {})",
                e.line(),
                e.column()
            ),
        })
    }
}

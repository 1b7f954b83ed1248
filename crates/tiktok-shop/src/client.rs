//! `Client`: the app-level handle (HTTP client, credentials, clock, rate limiter). Shop-scoped endpoints
//! live on [`ShopClient`](crate::shop_api::ShopClient), made by [`Client::shop`].

use crate::auth::AuthClient;
use crate::clock::{Clock, SystemClock};
use crate::config::ClientConfig;
use crate::error::{CallContext, Error};
use crate::models::shop::{AuthorizedShop, ShopsResponse};
use crate::models::token::TokenSet;
use crate::secret::AppCredentials;
use crate::shop_api::ShopClient;
use crate::tokens::{TokenManager, TokenSink};
use crate::transport::{ApiRequest, Transport, transport_error};
use reqwest::Method;
use std::sync::Arc;

pub(crate) const SHOPS_PATH: &str = "/authorization/202309/shops";

/// Cheap to clone; all clones share the connection pool and the rate limiter.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
    auth: AuthClient,
}

impl Client {
    pub fn new(config: ClientConfig, creds: AppCredentials) -> Result<Self, Error> {
        Self::with_clock(config, creds, Arc::new(SystemClock))
    }

    pub fn with_clock(
        config: ClientConfig,
        creds: AppCredentials,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let transport = Transport::new(config, creds, clock)?;
        let auth = AuthClient::new(
            transport.http.clone(),
            &transport.config,
            transport.creds.clone(),
        );
        Ok(Self {
            transport: Arc::new(transport),
            auth,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.transport.config
    }

    pub fn app_key(&self) -> &str {
        &self.transport.creds.app_key
    }

    pub fn auth(&self) -> &AuthClient {
        &self.auth
    }

    /// Exchanges an authorization code for tokens (first authorization of a shop).
    pub async fn exchange_auth_code(&self, auth_code: &str) -> Result<TokenSet, Error> {
        self.auth.get_token(auth_code).await
    }

    /// A token manager for one authorized account. `sink` receives every refreshed pair.
    pub fn token_manager(
        &self,
        tokens: TokenSet,
        sink: Option<Arc<dyn TokenSink>>,
    ) -> Arc<TokenManager> {
        Arc::new(TokenManager::new(
            tokens,
            self.auth.clone(),
            sink,
            self.transport.clock.clone(),
            self.transport.config.refresh_margin,
        ))
    }

    /// Shops this authorization covers, with the ciphers shop-scoped calls need (no shop_cipher sent).
    pub async fn authorized_shops(
        &self,
        tokens: &TokenManager,
    ) -> Result<Vec<AuthorizedShop>, Error> {
        let req = ApiRequest {
            method: Method::GET,
            template: SHOPS_PATH,
            path: SHOPS_PATH.to_owned(),
            query: vec![],
            body: None,
            shop_cipher: None,
            idempotent: true,
        };
        let r: ShopsResponse = self.transport.call(&req, tokens).await?;
        Ok(r.shops)
    }

    /// A handle for shop-scoped calls.
    pub fn shop(&self, tokens: Arc<TokenManager>, shop_cipher: impl Into<String>) -> ShopClient {
        ShopClient::new(self.clone(), tokens, shop_cipher.into())
    }

    /// Downloads a document (`doc_url` of a shipping document: a pre-signed URL valid 24 h). No TikTok
    /// signing or token; only http(s) URLs are fetched. The URL's query is kept out of errors.
    pub async fn download_document(&self, doc_url: &str) -> Result<Vec<u8>, Error> {
        let url = url::Url::parse(doc_url).map_err(|e| Error::InvalidArgument {
            name: "doc_url",
            value: redact_query(doc_url),
            reason: if e == url::ParseError::RelativeUrlWithoutBase {
                "not an absolute url"
            } else {
                "not a url"
            },
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::InvalidArgument {
                name: "doc_url",
                value: redact_query(doc_url),
                reason: "scheme must be http or https",
            });
        }
        let endpoint = format!("GET {}{}", url.host_str().unwrap_or(""), url.path());
        let timeout_ms = self.transport.config.request_timeout.as_millis() as u64;
        crate::gate::check(|| endpoint.clone())?;
        let resp = self
            .transport
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| transport_error(&endpoint, e, timeout_ms))?;
        let status = resp.status().as_u16();
        let ctx = CallContext {
            endpoint: endpoint.clone(),
            http_status: Some(status),
            request_id: None,
        };
        if status >= 500 {
            return Err(Error::Server {
                ctx,
                code: None,
                message: "document host error".into(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(Error::DocumentUnavailable { ctx });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(&endpoint, e, timeout_ms))?;
        Ok(bytes.to_vec())
    }
}

/// A URL with its query replaced by `?…` (pre-signed URLs carry credentials there).
fn redact_query(s: &str) -> String {
    match s.split_once('?') {
        Some((head, _)) => format!("{head}?…"),
        None => s.to_owned(),
    }
}

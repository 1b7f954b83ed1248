//! How the engine reaches a stored shop: its secrets (app secret, token pair) in the [`SecretStore`],
//! and a [`ShopClient`] built from them, cached so every job of a shop shares one rate limiter and one
//! token manager (one refresh for all callers).
//!
//! Secret names: `app/{app_key}` holds an app's secret (shared by the shops of that app);
//! `tokens/shop/{local shop id}` holds a shop's token pair as JSON (written again on every refresh).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tiktok_shop::{
    AppCredentials, Client, ClientConfig, Secret, SecretStore, ShopClient, StoreTokenSink, TokenSet,
    load_tokens, token_secret_name,
};

use crate::error::EngineError;
use crate::store::Shop;

/// The secret name of an app's secret.
pub fn app_secret_name(app_key: &str) -> String {
    format!("app/{app_key}")
}

/// The secret name of a shop's token pair.
pub fn shop_tokens_name(shop_id: i64) -> String {
    token_secret_name(&format!("shop/{shop_id}"))
}

/// Client settings the engine applies to every shop (tests shorten the timeouts).
#[derive(Debug, Clone)]
pub struct ClientTuning {
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub qps_per_path: f64,
    /// Refresh the access token this long before it expires.
    pub refresh_margin: Duration,
}

impl Default for ClientTuning {
    fn default() -> Self {
        let d = ClientConfig::default();
        Self {
            request_timeout: d.request_timeout,
            connect_timeout: d.connect_timeout,
            qps_per_path: d.qps_per_path,
            refresh_margin: d.refresh_margin,
        }
    }
}

/// Shop clients by local shop id, over one secret store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Connections {
    secrets: Arc<dyn SecretStore>,
    tuning: ClientTuning,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Debug, Default)]
struct Cache {
    /// One client (transport, rate limiter) per (app_key, api base, auth base).
    clients: HashMap<(String, String, String), Client>,
    shops: HashMap<i64, ShopClient>,
}

impl Connections {
    pub fn new(secrets: Arc<dyn SecretStore>) -> Self {
        Self::with_tuning(secrets, ClientTuning::default())
    }

    pub fn with_tuning(secrets: Arc<dyn SecretStore>, tuning: ClientTuning) -> Self {
        Self { secrets, tuning, cache: Arc::default() }
    }

    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        // Only map inserts/removes happen under this lock: a panic cannot leave it inconsistent.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a shop's app secret and token pair (replacing older ones) and forgets its cached client.
    pub fn save_credentials(&self, shop: &Shop, app_secret: &Secret, tokens: &TokenSet) -> Result<(), EngineError> {
        let json = serde_json::to_string(tokens).map_err(|e| EngineError::Credentials {
            shop: shop.name.clone(),
            detail: format!("cannot encode the token pair: {e}"),
        })?;
        self.secrets.set(&app_secret_name(&shop.app_key), app_secret).map_err(EngineError::Secrets)?;
        self.secrets.set(&shop_tokens_name(shop.id), &Secret::new(json)).map_err(EngineError::Secrets)?;
        self.forget(shop);
        Ok(())
    }

    /// Deletes a shop's token pair (the app secret stays: other shops of the app may use it).
    pub fn delete_credentials(&self, shop: &Shop) -> Result<(), EngineError> {
        self.forget(shop);
        self.secrets.delete(&shop_tokens_name(shop.id)).map_err(EngineError::Secrets)
    }

    /// Drops the cached client of `shop` (after its base URLs or credentials changed).
    pub fn forget(&self, shop: &Shop) {
        self.cache().shops.remove(&shop.id);
    }

    /// The client of `shop`, built from its stored secrets on first use.
    pub fn client(&self, shop: &Shop) -> Result<ShopClient, EngineError> {
        // One lock for the lookup and the insert: two token managers for one shop would each spend the
        // same refresh token, and TikTok rotates it, so the second would lock the shop out.
        let mut cache = self.cache();
        if let Some(c) = cache.shops.get(&shop.id) {
            return Ok(c.clone());
        }
        let missing = |what: &str| EngineError::Credentials {
            shop: shop.name.clone(),
            detail: format!("no {what} in the secret store; add the shop again (creatorflow-cli shop add)"),
        };
        let app_secret = self
            .secrets
            .get(&app_secret_name(&shop.app_key))
            .map_err(EngineError::Secrets)?
            .ok_or_else(|| missing("app secret"))?;
        let tokens_name = shop_tokens_name(shop.id);
        let tokens = load_tokens(self.secrets.as_ref(), &tokens_name)
            .map_err(EngineError::Secrets)?
            .ok_or_else(|| missing("token pair"))?;
        let key = (shop.app_key.clone(), shop.api_base_url.clone(), shop.auth_base_url.clone());
        let client = match cache.clients.get(&key) {
            Some(c) => c.clone(),
            None => {
                let mut config =
                    ClientConfig::with_bases(&shop.api_base_url, &shop.auth_base_url).map_err(EngineError::Api)?;
                config.request_timeout = self.tuning.request_timeout;
                config.connect_timeout = self.tuning.connect_timeout;
                config.qps_per_path = self.tuning.qps_per_path;
                config.refresh_margin = self.tuning.refresh_margin;
                let c = Client::new(config, AppCredentials::new(shop.app_key.clone(), app_secret))
                    .map_err(EngineError::Api)?;
                cache.clients.insert(key, c.clone());
                c
            }
        };
        let sink = Arc::new(StoreTokenSink::new(self.secrets.clone(), tokens_name));
        let shop_client = client.shop(client.token_manager(tokens, Some(sink)), shop.cipher.clone());
        cache.shops.insert(shop.id, shop_client.clone());
        Ok(shop_client)
    }
}

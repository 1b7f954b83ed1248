//! How the engine reaches a stored shop: its secrets (app secret, token pair) in the [`SecretStore`],
//! and a [`ShopClient`] built from them, cached so every job of a shop shares one rate limiter and one
//! token manager (one refresh for all callers).
//!
//! Secret names: `app/{app_key}` holds an app's secret (shared by the shops of that app).
//! `tokens/auth/{app_key}/{open_id}` holds the token pair of one authorization as JSON (written again on
//! every refresh): one seller authorizing the app covers all their shops with one pair, and TikTok
//! rotates the refresh token on every refresh, so the shops must share that one pair rather than each
//! keep a copy that the first refresh kills. `tokens/shop/{local shop id}` points at it
//! (`{"authorization": NAME}`), or holds the shop's own pair when the authorization is not known (a
//! pair from `shop add` without an open_id; its first refresh learns it and moves it).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tiktok_shop::{
    AppCredentials, Client, ClientConfig, Secret, SecretStore, ShopClient, TokenManager, TokenSet, TokenSink,
    load_tokens, token_secret_name,
};

use crate::error::EngineError;
use crate::store::Shop;

/// The secret name of an app's secret.
pub fn app_secret_name(app_key: &str) -> String {
    format!("app/{app_key}")
}

/// The secret name of a shop's token slot: its pair, or a pointer to its authorization's pair.
pub fn shop_tokens_name(shop_id: i64) -> String {
    token_secret_name(&format!("shop/{shop_id}"))
}

/// The secret name of one authorization's token pair, shared by every shop it covers.
pub fn authorization_tokens_name(app_key: &str, open_id: &str) -> String {
    token_secret_name(&format!("auth/{app_key}/{open_id}"))
}

/// What a shop's token slot holds when its pair is its authorization's.
#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    authorization: String,
}

/// A shop's token slot, read.
enum Slot {
    Pair(TokenSet),
    Points(String),
}

fn encode<T: Serialize>(name: &str, value: &T) -> Result<Secret, tiktok_shop::Error> {
    serde_json::to_string(value)
        .map(Secret::new)
        .map_err(|e| tiktok_shop::Error::StoredTokensCorrupt { key: name.to_owned(), detail: format!("cannot encode: {e}") })
}

fn read_slot(secrets: &dyn SecretStore, shop_id: i64) -> Result<Option<Slot>, tiktok_shop::Error> {
    let name = shop_tokens_name(shop_id);
    let Some(raw) = secrets.get(&name)? else { return Ok(None) };
    if let Ok(p) = serde_json::from_str::<Pointer>(raw.expose()) {
        return Ok(Some(Slot::Points(p.authorization)));
    }
    // Not a pointer: the shop's own pair (load_tokens reports a corrupt one without its contents).
    Ok(load_tokens(secrets, &name)?.map(Slot::Pair))
}

/// Stores `tokens` for the shop: in its authorization's slot with a pointer to it when the pair names
/// its authorization (open_id), in the shop's own slot otherwise. Returns the name the pair went to.
fn write_tokens(secrets: &dyn SecretStore, app_key: &str, shop_id: i64, tokens: &TokenSet) -> Result<String, tiktok_shop::Error> {
    let slot = shop_tokens_name(shop_id);
    let Some(open_id) = &tokens.open_id else {
        secrets.set(&slot, &encode(&slot, tokens)?)?;
        return Ok(slot);
    };
    let name = authorization_tokens_name(app_key, open_id);
    secrets.set(&name, &encode(&name, tokens)?)?;
    secrets.set(&slot, &encode(&slot, &Pointer { authorization: name.clone() })?)?;
    Ok(name)
}

/// The shop's pair and the name it lives under. A shop's own pair that has learnt its authorization (a
/// refresh returned the open_id) moves to the authorization's slot now, unless that slot holds a pair
/// that lasts at least as long (another shop of the authorization refreshed later).
fn load_shop_tokens(secrets: &dyn SecretStore, app_key: &str, shop_id: i64) -> Result<Option<(String, TokenSet)>, tiktok_shop::Error> {
    match read_slot(secrets, shop_id)? {
        None => Ok(None),
        Some(Slot::Points(name)) => Ok(load_tokens(secrets, &name)?.map(|t| (name, t))),
        Some(Slot::Pair(own)) => {
            let Some(open_id) = &own.open_id else { return Ok(Some((shop_tokens_name(shop_id), own))) };
            let name = authorization_tokens_name(app_key, open_id);
            match load_tokens(secrets, &name)? {
                Some(shared) if shared.access_token_expire_in >= own.access_token_expire_in => {
                    let slot = shop_tokens_name(shop_id);
                    secrets.set(&slot, &encode(&slot, &Pointer { authorization: name.clone() })?)?;
                    Ok(Some((name, shared)))
                }
                _ => Ok(Some((write_tokens(secrets, app_key, shop_id, &own)?, own))),
            }
        }
    }
}

/// Where a shop's token manager saves each new pair and reads back what another process saved: the
/// shop's slot, resolved to its authorization's pair.
#[derive(Debug)]
struct ShopTokenSink {
    secrets: Arc<dyn SecretStore>,
    app_key: String,
    shop_id: i64,
}

impl TokenSink for ShopTokenSink {
    fn save(&self, tokens: &TokenSet) -> Result<(), tiktok_shop::Error> {
        write_tokens(self.secrets.as_ref(), &self.app_key, self.shop_id, tokens).map(drop)
    }

    fn load(&self) -> Result<Option<TokenSet>, tiktok_shop::Error> {
        Ok(load_shop_tokens(self.secrets.as_ref(), &self.app_key, self.shop_id)?.map(|(_, t)| t))
    }
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
    /// One token manager per stored pair (by secret name): the shops of one authorization share it,
    /// so one refresh serves them all.
    managers: HashMap<String, Arc<TokenManager>>,
    /// Each cached shop client, with the name of the pair it uses.
    shops: HashMap<i64, (ShopClient, String)>,
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

    /// Stores a shop's app secret and token pair (replacing older ones) and forgets the cached clients
    /// using the pair it replaces. A pair that names its authorization (open_id) goes to the
    /// authorization's slot, shared with the other shops it covers.
    pub fn save_credentials(&self, shop: &Shop, app_secret: &Secret, tokens: &TokenSet) -> Result<(), EngineError> {
        self.secrets.set(&app_secret_name(&shop.app_key), app_secret).map_err(EngineError::Secrets)?;
        let name = write_tokens(self.secrets.as_ref(), &shop.app_key, shop.id, tokens).map_err(EngineError::Secrets)?;
        let mut cache = self.cache();
        cache.managers.remove(&name);
        cache.shops.retain(|id, (_, used)| *id != shop.id && *used != name);
        Ok(())
    }

    /// The shop's token pair and the secret name it lives under (see the module notes).
    pub fn stored_tokens(&self, shop: &Shop) -> Result<Option<(String, TokenSet)>, EngineError> {
        load_shop_tokens(self.secrets.as_ref(), &shop.app_key, shop.id).map_err(EngineError::Secrets)
    }

    /// Deletes a shop's token slot, and its authorization's pair when no shop in `remaining` (the
    /// shops still stored) uses it. The app secret stays: other shops of the app may use it.
    pub fn delete_credentials(&self, shop: &Shop, remaining: &[Shop]) -> Result<(), EngineError> {
        let slot = read_slot(self.secrets.as_ref(), shop.id);
        self.forget(shop);
        self.secrets.delete(&shop_tokens_name(shop.id)).map_err(EngineError::Secrets)?;
        if let Ok(Some(Slot::Points(name))) = slot {
            let shared = remaining.iter().filter(|o| o.id != shop.id).any(|other| {
                matches!(read_slot(self.secrets.as_ref(), other.id), Ok(Some(Slot::Points(n))) if n == name)
            });
            if !shared {
                self.cache().managers.remove(&name);
                self.secrets.delete(&name).map_err(EngineError::Secrets)?;
            }
        }
        Ok(())
    }

    /// Drops the cached client of `shop` (after its base URLs or credentials changed).
    pub fn forget(&self, shop: &Shop) {
        self.cache().shops.remove(&shop.id);
    }

    /// The client of `shop`, built from its stored secrets on first use. Shops of one authorization
    /// share one token manager.
    pub fn client(&self, shop: &Shop) -> Result<ShopClient, EngineError> {
        // One lock for the lookup and the insert: two token managers for one pair would each spend the
        // same refresh token, and TikTok rotates it, so the second would lock the shops out.
        let mut cache = self.cache();
        if let Some((c, _)) = cache.shops.get(&shop.id) {
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
        let (tokens_name, tokens) = self.stored_tokens(shop)?.ok_or_else(|| missing("token pair"))?;
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
        let manager = match cache.managers.get(&tokens_name) {
            Some(m) => m.clone(),
            None => {
                let sink = Arc::new(ShopTokenSink { secrets: self.secrets.clone(), app_key: shop.app_key.clone(), shop_id: shop.id });
                let m = client.token_manager(tokens, Some(sink));
                cache.managers.insert(tokens_name.clone(), m.clone());
                m
            }
        };
        let shop_client = client.shop(manager, shop.cipher.clone());
        cache.shops.insert(shop.id, (shop_client.clone(), tokens_name));
        Ok(shop_client)
    }
}

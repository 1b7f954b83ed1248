//! Connecting shops: add (or update) a shop with its secrets, list shops, remove a shop.
//!
//! Every change to a shop is in the audit trail with who made it, written here in the engine so each
//! face (CLI, desktop, web) gets it: `shop_add` ([`Console::add_shop`]), `shop_connect` (oauth.rs),
//! `shop_update` (settings.rs: handover, priority, pause/resume) and `shop_remove`.
//!
//! The database row holds no secret; the app secret and the token pair go to the secret store through
//! [`Connections::save_credentials`]. Removing a shop is "disconnect and forget": its unfinished jobs are
//! cancelled (so nothing keeps failing for a shop that is gone), its cached orders and everything hanging
//! off them are deleted with the row in one transaction (TikTok keeps the orders; adding the shop again
//! re-syncs them) which also gives back tracked stock reserved for its unshipped orders, and its secrets
//! are deleted.

use std::collections::HashSet;

use creatorflow_queue::{JobFilter, JobState, QueueError};
use serde::Serialize;
use serde_json::json;
use tiktok_shop::{AppCredentials, Client, ClientConfig, Secret, TokenSet};

use super::Console;
use super::jobs::check_actor;
use crate::connection::Connections;
use crate::error::EngineError;
use crate::store::{
    AuditAction, DEFAULT_CREATOR_ID, HandoverMethod, NewAuditEvent, NewShop, Shop, ShopPatch, ShopStatus, StoreError,
};

/// A shop to add, or to update when a shop of that name exists (new tokens, cipher, base URLs...).
#[derive(Debug, Clone)]
pub struct AddShop {
    /// Local name, unique per creator; the CLI and the console address the shop by it.
    pub name: String,
    pub app_key: String,
    pub app_secret: Secret,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Absolute expiry of the access token (Unix s) when known. `None` stores 0, so the first API call
    /// refreshes the pair: that validates the refresh token and learns the real expiries.
    pub access_token_expire_in: Option<i64>,
    pub refresh_token_expire_in: Option<i64>,
    pub shop_cipher: String,
    /// TikTok's shop id. `None`: looked up (with the region) through `GET /authorization/202309/shops`.
    pub shop_id: Option<String>,
    /// Used when `shop_id` is given (the lookup supplies it otherwise); empty when unknown.
    pub region: Option<String>,
    /// API host; `None` is TikTok's (`https://open-api.tiktokglobalshop.com`).
    pub api_base: Option<String>,
    /// Auth host; `None` is TikTok's (`https://auth.tiktok-shops.com`).
    pub auth_base: Option<String>,
    /// `None`: PICKUP for a new shop, unchanged on update.
    pub handover_method: Option<HandoverMethod>,
    /// `None`: 0 for a new shop, unchanged on update.
    pub priority: Option<i64>,
}

/// What [`Console::remove_shop`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedShop {
    pub shop: Shop,
    /// Cached orders deleted with the shop.
    pub orders_deleted: u64,
    /// Unfinished jobs of the shop that were cancelled.
    pub jobs_cancelled: Vec<i64>,
    /// Units of tracked stock that were reserved for its unshipped orders and are available again.
    pub units_released: i64,
}

/// A shop as [`Console::save_shop`] stored it, with the row it replaced (`None`: created).
pub(super) struct SavedShop {
    pub shop: Shop,
    pub previous: Option<Shop>,
}

/// The settings of a shop an audit event shows before and after a change (never a secret).
pub(super) fn shop_state(shop: &Shop) -> serde_json::Value {
    json!({
        "cipher": shop.cipher, "region": shop.region, "auth_base_url": shop.auth_base_url,
        "handover_method": shop.handover_method, "priority": shop.priority, "paused": shop.paused,
        "status": shop.status,
    })
}

/// The identity of a shop as the authorization (or the caller) gives it.
pub(super) struct ShopIdentity {
    pub tts_shop_id: String,
    pub cipher: String,
    pub region: String,
}

/// Settings a person chooses for a shop (the rest comes from TikTok).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ShopOptions {
    pub handover_method: Option<HandoverMethod>,
    pub priority: Option<i64>,
}

/// Where a shop's API lives, normalized (no trailing slash) so the unique (api base, shop id) pair holds.
pub(super) struct Bases {
    pub api: String,
    pub auth: String,
}

pub(super) fn bases(api: Option<&str>, auth: Option<&str>) -> Result<Bases, EngineError> {
    let norm = |s: &str| -> Result<String, EngineError> {
        let url = tiktok_shop::config::parse_base(s).map_err(EngineError::Api)?;
        Ok(url.as_str().trim_end_matches('/').to_owned())
    };
    Ok(Bases {
        api: norm(api.unwrap_or(tiktok_shop::config::DEFAULT_API_BASE))?,
        auth: norm(auth.unwrap_or(tiktok_shop::config::DEFAULT_AUTH_BASE))?,
    })
}

fn require(field: &'static str, value: &str, max: usize) -> Result<(), EngineError> {
    let n = value.chars().count();
    if n == 0 || n > max || value.trim() != value {
        return Err(EngineError::InvalidInput {
            field,
            value: value.chars().take(64).collect(),
            reason: format!("must be 1 to {max} characters without surrounding spaces"),
        });
    }
    Ok(())
}

fn require_secret(field: &'static str, value: &Secret) -> Result<(), EngineError> {
    if value.expose().trim().is_empty() {
        // Never echo the value, even an empty-looking one.
        return Err(EngineError::InvalidInput { field, value: String::new(), reason: "must not be empty".into() });
    }
    Ok(())
}

/// A client for one app on one pair of hosts, outside the per-shop cache (the shop may not exist yet).
pub(super) fn app_client(app_key: &str, app_secret: &Secret, b: &Bases) -> Result<Client, EngineError> {
    let config = ClientConfig::with_bases(&b.api, &b.auth).map_err(EngineError::Api)?;
    Client::new(config, AppCredentials::new(app_key, app_secret.clone())).map_err(EngineError::Api)
}

impl Console {
    /// Adds a shop, or updates the shop of that name (a shop name is bound to one TikTok shop and app).
    /// Without `shop_id` the shop's id and region are looked up with `authorized_shops`, matching the
    /// cipher. The secrets go to the secret store; the row holds none. `actor` is recorded in the audit
    /// trail (`shop_add`, with the settings before and after when the shop existed; never a secret).
    pub async fn add_shop(&self, req: AddShop, actor: &str) -> Result<Shop, EngineError> {
        check_actor(actor)?;
        require("shop name", &req.name, 256)?;
        require("app key", &req.app_key, 256)?;
        require("shop cipher", &req.shop_cipher, 512)?;
        require_secret("app secret", &req.app_secret)?;
        require_secret("access token", &req.access_token)?;
        require_secret("refresh token", &req.refresh_token)?;
        let b = bases(req.api_base.as_deref(), req.auth_base.as_deref())?;
        // Before any network call or row: a missing keyring must fail with nothing half done.
        let connections = self.connections()?;
        let tokens = TokenSet {
            access_token: req.access_token.clone(),
            access_token_expire_in: req.access_token_expire_in.unwrap_or(0),
            refresh_token: req.refresh_token.clone(),
            refresh_token_expire_in: req.refresh_token_expire_in.unwrap_or(0),
            open_id: None,
            seller_name: None,
            seller_base_region: None,
            user_type: None,
            granted_scopes: Vec::new(),
        };
        let (identity, tokens) = match &req.shop_id {
            Some(id) => {
                require("shop id", id, 64)?;
                let region = req.region.clone().unwrap_or_default();
                (ShopIdentity { tts_shop_id: id.clone(), cipher: req.shop_cipher.clone(), region }, tokens)
            }
            None => {
                let client = app_client(&req.app_key, &req.app_secret, &b)?;
                let tm = client.token_manager(tokens, None);
                let shops = client.authorized_shops(&tm).await.map_err(EngineError::Api)?;
                let Some(found) = shops.iter().find(|s| s.cipher == req.shop_cipher) else {
                    let known: Vec<&str> = shops.iter().map(|s| s.cipher.as_str()).collect();
                    return Err(EngineError::InvalidInput {
                        field: "shop cipher",
                        value: req.shop_cipher.clone(),
                        reason: format!(
                            "not among the shops this authorization covers (ciphers {known:?}); check --shop-cipher"
                        ),
                    });
                };
                let identity = ShopIdentity {
                    tts_shop_id: found.id.clone(),
                    cipher: found.cipher.clone(),
                    region: found.region.clone().unwrap_or_default(),
                };
                // The lookup may have refreshed the pair (unknown expiry): the old refresh token can be
                // spent by now, so the pair to keep is the manager's current one.
                (identity, tm.snapshot().await)
            }
        };
        let opts = ShopOptions { handover_method: req.handover_method, priority: req.priority };
        let saved = self
            .save_shop(&connections, &req.name, &req.app_key, &req.app_secret, &b, identity, &tokens, opts)
            .await?;
        let shop = &saved.shop;
        let mut details = json!({
            "shop": shop.name, "id": shop.id, "tts_shop_id": shop.tts_shop_id, "app_key": shop.app_key,
            "api_base_url": shop.api_base_url, "created": saved.previous.is_none(),
            "after": shop_state(shop),
        });
        if let Some(old) = &saved.previous {
            details["before"] = shop_state(old);
        }
        let ev = NewAuditEvent { actor: actor.to_owned(), action: AuditAction::ShopAdd, job_ids: vec![], reason: None, details: Some(details) };
        // After the row and the secrets (see `record_audit`).
        self.record_audit(&ev).await?;
        Ok(saved.shop)
    }

    /// Writes (creates or updates) the row, then the secrets. A new row whose secrets cannot be saved is
    /// deleted again, so no shop exists that can never be used. The caller writes the audit event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn save_shop(
        &self,
        connections: &Connections,
        name: &str,
        app_key: &str,
        app_secret: &Secret,
        b: &Bases,
        identity: ShopIdentity,
        tokens: &TokenSet,
        opts: ShopOptions,
    ) -> Result<SavedShop, EngineError> {
        let existing = self.shop_named(name).await?;
        let (shop, previous) = match existing {
            Some(old) => {
                if old.tts_shop_id != identity.tts_shop_id || old.app_key != app_key {
                    return Err(EngineError::ShopConflict {
                        name: name.to_owned(),
                        detail: format!(
                            "this name is TikTok shop {:?} of app {:?}; choose another --name, or remove it first",
                            old.tts_shop_id, old.app_key
                        ),
                    });
                }
                let patch = ShopPatch {
                    cipher: Some(identity.cipher),
                    region: Some(identity.region).filter(|r| !r.is_empty()),
                    api_base_url: Some(b.api.clone()),
                    auth_base_url: Some(b.auth.clone()),
                    handover_method: opts.handover_method,
                    priority: opts.priority,
                    // New credentials are a new authorization: a shop the pipeline marked deauthorized
                    // (105001) works again.
                    status: Some(ShopStatus::Active),
                    ..ShopPatch::default()
                };
                let shop = self.store.update_shop(old.id, &patch).await.map_err(|e| self.shop_conflict(name, e))?;
                (shop, Some(old))
            }
            None => {
                if let Some(other) = self.store.shop_by_remote(&b.api, &identity.tts_shop_id).await? {
                    return Err(EngineError::ShopConflict {
                        name: name.to_owned(),
                        detail: format!(
                            "TikTok shop {:?} is already added as {:?}; use --name {:?} to update it",
                            identity.tts_shop_id, other.name, other.name
                        ),
                    });
                }
                let new = NewShop {
                    creator_id: None,
                    name: name.to_owned(),
                    tts_shop_id: identity.tts_shop_id,
                    cipher: identity.cipher,
                    region: identity.region,
                    app_key: app_key.to_owned(),
                    api_base_url: b.api.clone(),
                    auth_base_url: b.auth.clone(),
                    handover_method: opts.handover_method.unwrap_or(HandoverMethod::Pickup),
                    priority: opts.priority.unwrap_or(0),
                };
                let shop = self.store.create_shop(&new).await.map_err(|e| self.shop_conflict(name, e))?;
                (shop, None)
            }
        };
        if let Err(e) = connections.save_credentials(&shop, app_secret, tokens) {
            if previous.is_none() {
                // Best effort: the error to report is the secret store's, not this clean-up's.
                if let Err(cleanup) = self.store.delete_shop(shop.id).await {
                    tracing::warn!(shop = %shop.name, error = %cleanup, "could not delete a shop whose secrets failed to save");
                }
            }
            return Err(e);
        }
        Ok(SavedShop { shop, previous })
    }

    /// The shop named `name`, if any; several shops of one name (made outside the console) are an error.
    pub(super) async fn shop_named(&self, name: &str) -> Result<Option<Shop>, EngineError> {
        let mut shops = self.store.shops_by_name(DEFAULT_CREATOR_ID, name).await?;
        if shops.len() > 1 {
            return Err(EngineError::ShopConflict {
                name: name.to_owned(),
                detail: format!("{} shops have this name; the console cannot tell them apart", shops.len()),
            });
        }
        Ok(shops.pop())
    }

    fn shop_conflict(&self, name: &str, e: StoreError) -> EngineError {
        match e {
            StoreError::DuplicateShop { tts_shop_id, api_base_url } => EngineError::ShopConflict {
                name: name.to_owned(),
                detail: format!("TikTok shop {tts_shop_id:?} at {api_base_url:?} is already added under another name"),
            },
            StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => EngineError::ShopConflict {
                name: name.to_owned(),
                detail: "a shop of this name was added at the same time; run the command again".into(),
            },
            other => other.into(),
        }
    }

    /// Every shop, highest priority first. Reads only the database (no secret store needed).
    pub async fn list_shops(&self) -> Result<Vec<Shop>, EngineError> {
        Ok(self.store.list_shops(DEFAULT_CREATOR_ID).await?)
    }

    /// Removes the shop named `name` (see the module docs for what goes with it). `actor` is recorded in
    /// the audit trail with the cancelled jobs.
    pub async fn remove_shop(&self, name: &str, actor: &str) -> Result<RemovedShop, EngineError> {
        let connections = self.connections()?;
        let shop = self
            .shop_named(name)
            .await?
            .ok_or_else(|| EngineError::ShopNotFound { name: name.to_owned() })?;
        // Paused first: a pipeline running in another process stops taking new work for the shop while
        // its jobs are cancelled.
        self.store.update_shop(shop.id, &ShopPatch { paused: Some(true), ..ShopPatch::default() }).await?;
        let reason = format!("shop {name:?} was removed by {actor}");
        let jobs_cancelled = self.cancel_shop_jobs(&shop, &reason).await?;
        let mut tx = self.store.begin().await?;
        let purged = self.store.purge_shop(&mut tx, shop.id).await?;
        self.store
            .append_audit(
                &mut tx,
                &NewAuditEvent {
                    actor: actor.to_owned(),
                    action: AuditAction::ShopRemove,
                    job_ids: jobs_cancelled.clone(),
                    reason: Some(reason),
                    details: Some(json!({
                        "shop": shop.name, "tts_shop_id": shop.tts_shop_id,
                        "api_base_url": shop.api_base_url, "orders_deleted": purged.orders,
                        "units_released": purged.units_released,
                    })),
                },
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let remaining = self.store.list_shops(DEFAULT_CREATOR_ID).await?;
        connections.delete_credentials(&shop, &remaining).map_err(|e| EngineError::Credentials {
            shop: shop.name.clone(),
            detail: format!("the shop was removed but its token pair could not be deleted from the secret store: {e}"),
        })?;
        if self.store.shops_with_app_key(&shop.app_key).await? == 0 {
            connections
                .secrets()
                .delete(&crate::connection::app_secret_name(&shop.app_key))
                .map_err(EngineError::Secrets)?;
        }
        Ok(RemovedShop { shop, orders_deleted: purged.orders, jobs_cancelled, units_released: purged.units_released })
    }

    /// Cancels every unfinished job of `shop`: jobs whose args carry `"shop_id": <local id>` or an
    /// `"order_id"` of one of its cached orders (the pipeline's args convention). Returns their ids.
    async fn cancel_shop_jobs(&self, shop: &Shop, reason: &str) -> Result<Vec<i64>, EngineError> {
        let orders: HashSet<i64> = self.store.order_ids_of_shop(shop.id).await?.into_iter().collect();
        let belongs = |args: &serde_json::Value| {
            args.get("shop_id").and_then(serde_json::Value::as_i64) == Some(shop.id)
                || args.get("order_id").and_then(serde_json::Value::as_i64).is_some_and(|o| orders.contains(&o))
        };
        let mut filter = JobFilter {
            states: vec![JobState::Available, JobState::Scheduled, JobState::Running, JobState::Retryable],
            limit: Some(1000),
            ..JobFilter::default()
        };
        let mut cancelled = Vec::new();
        loop {
            let page = self.queue.list(&filter).await.map_err(|e| self.db_error(e))?;
            let Some(last) = page.last() else { break };
            filter.after_id = Some(last.id);
            for job in page.iter().filter(|j| belongs(&j.args)) {
                match self.queue.cancel(job.id, reason).await {
                    Ok(_) => cancelled.push(job.id),
                    // Finished between the list and the cancel: nothing left to stop.
                    Err(QueueError::InvalidTransition { .. } | QueueError::NotFound(_)) => {}
                    Err(e) => return Err(EngineError::Job(e)),
                }
            }
        }
        Ok(cancelled)
    }
}

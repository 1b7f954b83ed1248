//! Webhook ingestion: verify the signature with the shop's app secret, dedupe on
//! `tts_notification_id`, and turn the push into durable work in one transaction — a `refresh` job per
//! order it names (order detail, batched, into the same upsert the sync uses), or the shop marked
//! deauthorized. Everything here is local, so a push is acknowledged well within TikTok's 3 s.
//!
//! The `refresh` job is also what the reconciliation pass enqueues for open orders.


use creatorflow_queue::{JobError, NewJob, Outcome};
use serde::{Deserialize, Serialize};
use tiktok_shop::models::webhook::{WebhookEvent, WebhookNotification};
use tiktok_shop::{AppCredentials, verify_webhook};

use super::{PIPELINE_QUEUE, Pipeline, engine_error, kinds, store_error};
use crate::connection::app_secret_name;
use crate::error::EngineError;
use crate::store::{DEFAULT_CREATOR_ID, Shop, ShopStatus, StoreError, WebhookReceipt};

/// Largest push body accepted (TikTok's are a few hundred bytes).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// Args of a `refresh` job: re-read one order from TikTok.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshJob {
    pub shop_id: i64,
    pub tts_order_id: String,
}

/// What became of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WebhookOutcome {
    Accepted { shop_id: i64, event_type: i64, jobs: usize },
    /// Seen before (TikTok retries until acknowledged): acknowledged, nothing done.
    Duplicate,
}

/// Why a push was refused. `Signature` and `UnknownShop` answer 401, the others 400.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook body of {0} bytes is larger than {MAX_WEBHOOK_BYTES}")]
    TooLarge(usize),
    #[error("webhook body is not a tiktok notification: {0}")]
    Payload(String),
    #[error("webhook names shop {0:?}, which is not connected here")]
    UnknownShop(String),
    #[error("webhook signature does not verify with the shop's app secret")]
    Signature,
    #[error("webhook has no tts_notification_id to dedupe on")]
    NoNotificationId,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl WebhookError {
    /// Whether TikTok should retry this push later (our side failed) rather than drop it.
    pub fn is_ours(&self) -> bool {
        matches!(self, WebhookError::Engine(_))
    }
}

stage_worker!(Refresh, kinds::REFRESH, RefreshJob, refresh);

impl Pipeline {
    /// A `refresh` job for one order (unique while unfinished: a burst of pushes makes one fetch).
    pub(crate) fn refresh_job(&self, shop: &Shop, tts_order_id: &str) -> Result<NewJob, EngineError> {
        let args = RefreshJob { shop_id: shop.id, tts_order_id: tts_order_id.to_owned() };
        Ok(NewJob::new(kinds::REFRESH, &args)
            .map_err(|e| EngineError::Database { database: "queue".into(), source: e })?
            .queue(PIPELINE_QUEUE)
            .priority(self.priority(kinds::REFRESH, shop.priority, None))
            .unique_key(format!("{}:{}:{tts_order_id}", kinds::REFRESH, shop.id)))
    }

    async fn refresh(&self, args: &RefreshJob) -> Result<Outcome, JobError> {
        let shop = match self.store().cached_shop(args.shop_id).await {
            Ok(s) => s,
            Err(StoreError::ShopNotFound(_)) => return Ok(Outcome::Cancel(format!("shop {} was removed", args.shop_id))),
            Err(e) => return Err(store_error(e)),
        };
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        let client = self.connections().client(&shop).map_err(engine_error)?;
        match self.refresh_batched(&shop, &client, &args.tts_order_id).await {
            Ok(Some(refreshed)) => refreshed.into_job_result().map(|_| Outcome::Complete),
            Ok(None) => Ok(Outcome::Cancel(format!("tiktok does not know order {}", args.tts_order_id))),
            Err(failure) => self.job_outcome(&shop, &failure).await,
        }
    }

    /// Verifies and records one push (raw body as received, the `Authorization` header's value).
    pub async fn receive_webhook(&self, raw_body: &[u8], authorization: Option<&str>) -> Result<WebhookOutcome, WebhookError> {
        if raw_body.len() > MAX_WEBHOOK_BYTES {
            return Err(WebhookError::TooLarge(raw_body.len()));
        }
        let unverified = WebhookNotification::parse(raw_body).map_err(|e| WebhookError::Payload(e.to_string()))?;
        let tts_shop_id = unverified.shop_id.clone().unwrap_or_default();
        let shops = self.store().list_shops(DEFAULT_CREATOR_ID).await.map_err(EngineError::from)?;
        let candidates: Vec<&Shop> = shops.iter().filter(|s| s.tts_shop_id == tts_shop_id).collect();
        if candidates.is_empty() {
            return Err(WebhookError::UnknownShop(crate::store::clip(&tts_shop_id)));
        }
        // The same TikTok shop may be connected through the sandbox and production: the signature
        // tells which app sent it.
        let mut verified = None;
        for shop in candidates {
            let Some(secret) = self.connections().secrets().get(&app_secret_name(&shop.app_key)).map_err(EngineError::Secrets)? else {
                continue;
            };
            let creds = AppCredentials::new(shop.app_key.clone(), secret);
            if let Ok(n) = verify_webhook(&creds, raw_body, authorization) {
                verified = Some((shop.clone(), n));
                break;
            }
        }
        let (shop, n) = verified.ok_or(WebhookError::Signature)?;
        let id = n.tts_notification_id.clone().filter(|s| !s.is_empty()).ok_or(WebhookError::NoNotificationId)?;
        self.metrics().incr("webhooks.received", 1);
        let payload = serde_json::from_slice(raw_body).map_err(|e| WebhookError::Payload(e.to_string()))?;
        let receipt = WebhookReceipt { tts_notification_id: id, tts_shop_id: tts_shop_id.clone(), r#type: n.event_type, payload };
        let mut tx = self.store().begin().await.map_err(EngineError::from)?;
        if !self.store().record_webhook(&mut tx, &receipt).await.map_err(EngineError::from)? {
            self.metrics().incr("webhooks.duplicate", 1);
            return Ok(WebhookOutcome::Duplicate);
        }
        let orders: Vec<String> = match n.event() {
            WebhookEvent::OrderStatusChange(e) => vec![e.order_id],
            WebhookEvent::RecipientAddressUpdate(e) => vec![e.order_id],
            WebhookEvent::CancellationStatusChange(e) => vec![e.order_id],
            WebhookEvent::ReturnStatusChange(e) => vec![e.order_id],
            WebhookEvent::PackageUpdate(e) => e.package_list.into_iter().flat_map(|p| p.order_id_list).collect(),
            WebhookEvent::SellerDeauthorization(_) => {
                tx.commit().await.map_err(|e| EngineError::Store(e.into()))?;
                if shop.status == ShopStatus::Active && self.store().mark_shop_deauthorized(shop.id).await.map_err(EngineError::from)? {
                    self.connections().forget(&shop);
                    tracing::error!(shop = %shop.name, "tiktok says the seller deauthorized the app: the shop's work is parked");
                }
                return Ok(WebhookOutcome::Accepted { shop_id: shop.id, event_type: n.event_type, jobs: 0 });
            }
            WebhookEvent::UpcomingAuthorizationExpiration(e) => {
                tracing::warn!(shop = %shop.name, expires = ?e.expiration_time, "the shop's authorization expires soon: re-authorize it");
                vec![]
            }
            _ => vec![],
        };
        let mut jobs = 0;
        for order in orders.iter().filter(|o| !o.is_empty() && o.len() <= 64) {
            let job = self.refresh_job(&shop, order)?;
            self.queue().insert_tx(&mut tx, job).await.map_err(|source| EngineError::Database { database: "queue".into(), source })?;
            jobs += 1;
        }
        tx.commit().await.map_err(|e| EngineError::Store(e.into()))?;
        self.queue().wake();
        Ok(WebhookOutcome::Accepted { shop_id: shop.id, event_type: n.event_type, jobs })
    }

    /// The reconciliation pass: a `refresh` job for every cached order of `shop` the pipeline still has
    /// work for, so a lost webhook or a missed sync window is repaired from TikTok's own state.
    pub async fn reconcile_shop(&self, shop: &Shop) -> Result<usize, EngineError> {
        let open = self.store().open_order_ids(shop.id).await?;
        let mut tx = self.store().begin().await?;
        for id in &open {
            let job = self.refresh_job(shop, id)?;
            self.queue().insert_tx(&mut tx, job).await.map_err(|source| EngineError::Database { database: "queue".into(), source })?;
        }
        tx.commit().await.map_err(|e| EngineError::Store(e.into()))?;
        self.queue().wake();
        Ok(open.len())
    }
}

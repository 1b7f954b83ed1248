//! Shop CRUD. Shops hold no secrets: tokens and the app secret live in the OS keyring.

use creatorflow_queue::DbTx;

use super::error::{Result, StoreError, clip};
use super::exec::{ReadConn, exec, fetch_all, fetch_opt, tx_ex};
use super::model::{NewShop, Shop, ShopPatch};
use super::{DEFAULT_CREATOR_ID, Store};

const SHOP_COLUMNS: &str = "id, creator_id, name, tts_shop_id, cipher, region, app_key, api_base_url, \
     auth_base_url, handover_method, priority, paused, status, created_at, updated_at";

fn check_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 256 {
        return Err(StoreError::InvalidInput {
            field: "shop name",
            value: clip(name),
        });
    }
    Ok(())
}

/// Is this a unique-constraint violation (either backend)?
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

impl Store {
    /// Add a shop; fails with [`StoreError::DuplicateShop`] if its TikTok id is already known for that API.
    pub async fn create_shop(&self, shop: &NewShop) -> Result<Shop> {
        check_name(&shop.name)?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let sql = format!(
            "INSERT INTO shops (creator_id, name, tts_shop_id, cipher, region, app_key, api_base_url, \
             auth_base_url, handover_method, priority, paused, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING {SHOP_COLUMNS}"
        );
        let row = fetch_opt!(
            tx_ex(&mut tx),
            Shop,
            &sql,
            shop.creator_id.unwrap_or(DEFAULT_CREATOR_ID),
            &shop.name,
            &shop.tts_shop_id,
            &shop.cipher,
            &shop.region,
            &shop.app_key,
            &shop.api_base_url,
            &shop.auth_base_url,
            shop.handover_method.as_str(),
            shop.priority,
            false,
            now,
            now,
        );
        let row = match row {
            Ok(Some(r)) => r,
            Ok(None) => return Err(StoreError::Database(sqlx::Error::RowNotFound)),
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::DuplicateShop {
                    tts_shop_id: clip(&shop.tts_shop_id),
                    api_base_url: clip(&shop.api_base_url),
                });
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        Ok(row)
    }

    pub async fn get_shop(&self, id: i64) -> Result<Shop> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE id = ?");
        fetch_opt!(c.ex(), Shop, &sql, id)?.ok_or(StoreError::ShopNotFound(id))
    }

    /// [`Store::get_shop`] for the pipeline's stages: a copy up to
    /// [`SHOP_CACHE_TTL`](super::shop_cache::SHOP_CACHE_TTL) old, never older than this store's last
    /// shop write.
    pub async fn cached_shop(&self, id: i64) -> Result<Shop> {
        let generation = match self.shop_cache.get(id) {
            Ok(shop) => return Ok(shop),
            Err(generation) => generation,
        };
        let shop = self.get_shop(id).await?;
        self.shop_cache.put(generation, &shop);
        Ok(shop)
    }

    /// Every shop of a creator, highest priority first.
    pub async fn list_shops(&self, creator_id: i64) -> Result<Vec<Shop>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!(
            "SELECT {SHOP_COLUMNS} FROM shops WHERE creator_id = ? ORDER BY priority DESC, id"
        );
        Ok(fetch_all!(c.ex(), Shop, &sql, creator_id)?)
    }

    /// Change some fields of a shop; returns the shop as stored afterwards.
    pub async fn update_shop(&self, id: i64, patch: &ShopPatch) -> Result<Shop> {
        let mut tx = self.begin().await?;
        let row = self.update_shop_tx(&mut tx, id, patch).await?;
        tx.commit().await?;
        self.shop_cache.forget();
        Ok(row)
    }

    /// [`Store::update_shop`] inside the caller's transaction, so a person's change and its audit event
    /// commit together.
    pub async fn update_shop_tx(&self, tx: &mut DbTx, id: i64, patch: &ShopPatch) -> Result<Shop> {
        self.check_tx(tx)?;
        if let Some(n) = &patch.name {
            check_name(n)?;
        }
        let sql = format!(
            "UPDATE shops SET name = COALESCE(?, name), cipher = COALESCE(?, cipher), \
             region = COALESCE(?, region), api_base_url = COALESCE(?, api_base_url), \
             auth_base_url = COALESCE(?, auth_base_url), handover_method = COALESCE(?, handover_method), \
             priority = COALESCE(?, priority), paused = COALESCE(?, paused), status = COALESCE(?, status), \
             updated_at = ? WHERE id = ? RETURNING {SHOP_COLUMNS}"
        );
        let row = fetch_opt!(
            tx_ex(tx),
            Shop,
            &sql,
            patch.name.as_deref(),
            patch.cipher.as_deref(),
            patch.region.as_deref(),
            patch.api_base_url.as_deref(),
            patch.auth_base_url.as_deref(),
            patch.handover_method.map(|h| h.as_str()),
            patch.priority,
            patch.paused,
            patch.status.map(|s| s.as_str()),
            self.now_ms(),
            id,
        );
        // The caller commits; a stage read racing the commit may keep the old row up to the cache's TTL.
        self.shop_cache.forget();
        match row {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(StoreError::ShopNotFound(id)),
            Err(e) if is_unique_violation(&e) => Err(StoreError::DuplicateShop {
                tts_shop_id: format!("shop {id}"),
                api_base_url: clip(patch.api_base_url.as_deref().unwrap_or_default()),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete a shop that has no cached orders (its sync cursors go with it).
    pub async fn delete_shop(&self, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        match exec!(tx_ex(&mut tx), "DELETE FROM shops WHERE id = ?", id) {
            Ok(0) => return Err(StoreError::ShopNotFound(id)),
            Ok(_) => {}
            Err(e) if is_fk_violation(&e) => return Err(StoreError::ShopInUse(id)),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        self.shop_cache.forget();
        Ok(())
    }

    /// Marks an active shop deauthorized. Returns true for the one caller that changed it (so exactly one
    /// job becomes the shop's triage item however many learn of it at once).
    pub async fn mark_shop_deauthorized(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = exec!(
            tx_ex(&mut tx),
            "UPDATE shops SET status = 'deauthorized', updated_at = ? WHERE id = ? AND status = 'active'",
            self.now_ms(),
            id
        )?;
        tx.commit().await?;
        self.shop_cache.forget();
        Ok(n == 1)
    }
}

//! A short-lived copy of shop rows for the pipeline's stages, which read their order's shop on every
//! job (a quarter of a stage's reads). Every shop write through this [`Store`](super::Store) forgets
//! the copies at once; a write by another process (PostgreSQL, headless workers) is seen within
//! [`SHOP_CACHE_TTL`], the same as a job that had just passed its pause check when the shop was paused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::model::Shop;

/// How long a cached shop row is trusted.
pub const SHOP_CACHE_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(super) struct ShopCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Bumped by every forget, so a read that started before a write cannot cache what it read.
    generation: u64,
    shops: HashMap<i64, (Instant, Shop)>,
}

impl ShopCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Every update is a whole-value assignment: a poisoned map is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh copy of shop `id`, or the generation to pass to [`ShopCache::put`] after reading it.
    pub(super) fn get(&self, id: i64) -> Result<Shop, u64> {
        let e = self.lock();
        match e.shops.get(&id) {
            Some((at, shop)) if at.elapsed() < SHOP_CACHE_TTL => Ok(shop.clone()),
            _ => Err(e.generation),
        }
    }

    /// Keeps `shop`, read when the cache was at `generation`, unless a write came in since.
    pub(super) fn put(&self, generation: u64, shop: &Shop) {
        let mut e = self.lock();
        if e.generation == generation {
            e.shops.insert(shop.id, (Instant::now(), shop.clone()));
        }
    }

    /// After any shop write: nothing cached before it is used again.
    pub(super) fn forget(&self) {
        let mut e = self.lock();
        e.generation += 1;
        e.shops.clear();
    }
}

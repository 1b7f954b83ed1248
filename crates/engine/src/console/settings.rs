//! Shops & settings: a shop's handover method, priority and pause switch (each change audited), where the
//! data lives, and "backup now" (a consistent copy of the SQLite database, taken while the pipeline runs).

use std::path::PathBuf;

use creatorflow_queue::Db;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Console;
use crate::error::EngineError;
use crate::store::{AuditAction, HandoverMethod, NewAuditEvent, Shop, ShopPatch};

/// Changes to one shop's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ShopSettings {
    /// The shop, by its local name.
    pub shop: String,
    #[ts(optional)]
    pub handover_method: Option<HandoverMethod>,
    /// 0 (normal) to 9 (first): a higher priority shop's orders are worked first.
    #[ts(optional)]
    pub priority: Option<i64>,
    /// A paused shop is neither synced nor shipped; its jobs wait.
    #[ts(optional)]
    pub paused: Option<bool>,
}

/// Where this console keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Settings {
    pub data_dir: String,
    /// The database in use, without any password.
    pub database: String,
    /// Whether "backup now" can copy it (SQLite; PostgreSQL is backed up with its own tools).
    pub can_backup: bool,
    pub backup_dir: String,
}

/// A finished backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Backup {
    pub path: String,
    pub bytes: i64,
    pub took_ms: i64,
}

impl Console {
    /// The shop's settings changed as asked, recorded in the audit trail with the old and new values.
    pub async fn update_shop_settings(&self, req: &ShopSettings, actor: &str) -> Result<Shop, EngineError> {
        if let Some(p) = req.priority
            && !(0..=9).contains(&p)
        {
            return Err(EngineError::InvalidInput { field: "priority", value: p.to_string(), reason: "must be 0 to 9".into() });
        }
        let shop = self.shop_named(&req.shop).await?.ok_or_else(|| EngineError::ShopNotFound { name: req.shop.clone() })?;
        let patch = ShopPatch {
            handover_method: req.handover_method,
            priority: req.priority,
            paused: req.paused,
            ..ShopPatch::default()
        };
        // The change and its audit event commit together: both happen, or neither.
        let mut tx = self.store.begin().await?;
        let updated = self.store.update_shop_tx(&mut tx, shop.id, &patch).await?;
        let details = serde_json::json!({
            "shop": shop.name,
            "before": {"handover_method": shop.handover_method, "priority": shop.priority, "paused": shop.paused},
            "after": {"handover_method": updated.handover_method, "priority": updated.priority, "paused": updated.paused},
        });
        let ev = NewAuditEvent { actor: actor.to_owned(), action: AuditAction::ShopUpdate, job_ids: vec![], reason: None, details: Some(details) };
        self.store.append_audit(&mut tx, &ev).await?;
        tx.commit().await.map_err(|source| self.db_error(source))?;
        Ok(updated)
    }

    fn backup_dir(&self) -> PathBuf {
        self.data_dir.join("backups")
    }

    pub fn settings(&self) -> Settings {
        Settings {
            data_dir: self.data_dir.display().to_string(),
            database: self.database.clone(),
            can_backup: matches!(self.store.db(), Db::Sqlite { .. }),
            backup_dir: self.backup_dir().display().to_string(),
        }
    }

    /// A consistent copy of the SQLite database in `DATA_DIR/backups/creatorflow-<UTC time>.db`
    /// (`VACUUM INTO`: a snapshot as of one moment, written while work goes on).
    pub async fn backup_now(&self, actor: &str) -> Result<Backup, EngineError> {
        let Db::Sqlite { reader, .. } = self.store.db() else {
            return Err(EngineError::InvalidInput {
                field: "database",
                value: self.database.clone(),
                reason: "backup now copies the local SQLite database; back up PostgreSQL with pg_dump".into(),
            });
        };
        let dir = self.backup_dir();
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::DataDir { path: dir.clone(), source })?;
        let started = std::time::Instant::now();
        let stamp = utc_stamp(self.store.clock().now_ms());
        let mut path = dir.join(format!("creatorflow-{stamp}.db"));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("creatorflow-{stamp}-{n}.db"));
        }
        let target = path.display().to_string();
        sqlx::query("VACUUM INTO ?")
            .bind(&target)
            .execute(reader)
            .await
            .map_err(|e| self.db_error(creatorflow_queue::QueueError::from(e)))?;
        let bytes = std::fs::metadata(&path).map(|m| m.len() as i64).unwrap_or(0);
        let took_ms = started.elapsed().as_millis() as i64;
        let mut tx = self.store.begin().await?;
        let ev = NewAuditEvent {
            actor: actor.to_owned(),
            action: AuditAction::Backup,
            job_ids: vec![],
            reason: None,
            details: Some(serde_json::json!({"path": target, "bytes": bytes})),
        };
        self.store.append_audit(&mut tx, &ev).await?;
        tx.commit().await.map_err(|source| self.db_error(source))?;
        Ok(Backup { path: target, bytes, took_ms })
    }
}

/// `20261201-184813` for a Unix-millisecond time (UTC): the export's ISO date, without its separators.
fn utc_stamp(ms: i64) -> String {
    let iso = super::orders_csv::iso_utc(ms.div_euclid(1000));
    iso.replace(['-', ':', 'Z'], "").replace('T', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamps() {
        assert_eq!(super::utc_stamp(0), "19700101-000000");
        assert_eq!(super::utc_stamp(1_796_150_893_000), "20261201-184813");
        assert_eq!(super::utc_stamp(951_782_400_000), "20000229-000000");
    }
}

//! The audit trail (migration 0004): who retried, discarded, connected or removed what, when and why. Written in the
//! caller's transaction so an action and its record can commit together; read newest first.

use creatorflow_queue::DbTx;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sea_query_sqlx::SqlxBinder;
use sqlx::types::Json;
use ts_rs::TS;

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{ReadConn, fetch_all, fetch_opt, tx_ex};
use super::orders::Id;

// One list (the `audit_actions!` call below) gives the variants, their stored names (serde's, so the
// TypeScript binding's, and `as_str`'s) and `AuditAction::ALL`: the names the audit log filters by
// cannot drift from the ones written.
macro_rules! audit_actions {
    ($( $(#[doc = $doc:expr])* $variant:ident => $name:literal, )*) => {
        /// What a person did: an audit event's action, stored by these names (scripts read them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        pub enum AuditAction {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant, )*
        }

        impl AuditAction {
            /// Every action, in the order of the list above.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant),*];

            /// The name stored in `audit_events.action`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }

            /// The action of a stored name; `None` for a name this version does not know.
            pub fn from_name(name: &str) -> Option<AuditAction> {
                match name {
                    $($name => Some(AuditAction::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

audit_actions! {
    /// One or more jobs were made available again (`jobs retry`, triage retry and edit-and-retry).
    JobRetry => "job_retry",
    /// A job was moved to the dead-letter state by a person (`jobs discard`, triage).
    JobDiscard => "job_discard",
    /// One or more jobs were cancelled by a person (triage).
    JobCancel => "job_cancel",
    /// A shop was added, or its credentials, cipher, hosts, handover or priority replaced, with its
    /// tokens (`shop add`; details: the shop, whether it was created, the settings before and after).
    ShopAdd => "shop_add",
    /// Shops were connected or re-authorized through TikTok's OAuth flow (`shop connect`, the Shops
    /// screen; details: the shops and the app key; never a token or the app secret).
    ShopConnect => "shop_connect",
    /// A shop's handover method, priority or pause switch changed (details: before and after).
    ShopUpdate => "shop_update",
    /// A shop was removed; its unfinished jobs were cancelled (`shop remove`).
    ShopRemove => "shop_remove",
    /// The local database was copied to a backup file (details: path and size).
    Backup => "backup",
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    pub actor: String,
    pub action: AuditAction,
    /// The jobs the action changed (may be empty, e.g. a shop removal with no unfinished jobs).
    pub job_ids: Vec<i64>,
    pub reason: Option<String>,
    pub details: Option<Value>,
}

/// An audit event as stored. `action` is a string so an event written by a newer version still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub job_count: i64,
    pub reason: Option<String>,
    #[sqlx(json(nullable))]
    pub details: Option<Value>,
}

const COLUMNS: &str = "e.id, e.at, e.actor, e.action, e.job_count, e.reason, e.details";

impl Store {
    /// Append an audit event (and its job ids) inside the caller's transaction; returns its id.
    pub async fn append_audit(&self, tx: &mut DbTx, ev: &NewAuditEvent) -> Result<i64> {
        self.check_tx(tx)?;
        let n = ev.actor.chars().count();
        if n == 0 || n > 256 {
            return Err(StoreError::InvalidInput { field: "actor", value: clip(&ev.actor) });
        }
        if ev.reason.as_ref().is_some_and(|r| r.chars().count() > 4096) {
            return Err(StoreError::InvalidInput {
                field: "reason (at most 4096 characters)",
                value: clip(ev.reason.as_deref().unwrap_or_default()),
            });
        }
        let row = fetch_opt!(
            tx_ex(tx),
            Id,
            "INSERT INTO audit_events (at, actor, action, job_count, reason, details) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            self.now_ms(),
            &ev.actor,
            ev.action.as_str(),
            ev.job_ids.len() as i64,
            ev.reason.as_deref(),
            ev.details.as_ref().map(Json),
        )?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        let mut ids = ev.job_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        // Multi-row inserts: a bulk action can touch tens of thousands of jobs, and each statement
        // costs a thread hop on SQLite.
        for chunk in ids.chunks(500) {
            let mut stmt = sea_query::Query::insert();
            stmt.into_table("audit_event_jobs").columns(["audit_id", "job_id"]);
            for job in chunk {
                stmt.values([row.id.into(), (*job).into()]).map_err(|e| StoreError::InvalidInput {
                    field: "audit job ids",
                    value: clip(&e.to_string()),
                })?;
            }
            match tx {
                DbTx::Sqlite(t) => {
                    let (sql, values) = stmt.build_sqlx(sea_query::SqliteQueryBuilder);
                    sqlx::query_with(sqlx::AssertSqlSafe(sql), values).execute(&mut **t).await?;
                }
                DbTx::Postgres(t) => {
                    let (sql, values) = stmt.build_sqlx(sea_query::PostgresQueryBuilder);
                    sqlx::query_with(sqlx::AssertSqlSafe(sql), values).execute(&mut **t).await?;
                }
            }
        }
        Ok(row.id)
    }

    /// Audit events that touched `job_id`, oldest first.
    pub async fn audit_for_job(&self, job_id: i64) -> Result<Vec<AuditEvent>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events e JOIN audit_event_jobs j ON j.audit_id = e.id \
             WHERE j.job_id = ? ORDER BY e.at, e.id"
        );
        Ok(fetch_all!(c.ex(), AuditEvent, &sql, job_id)?)
    }

    /// The newest `limit` audit events, newest first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let sql = format!("SELECT {COLUMNS} FROM audit_events e ORDER BY e.at DESC, e.id DESC LIMIT ?");
        Ok(fetch_all!(c.ex(), AuditEvent, &sql, i64::from(limit.clamp(1, 1000)))?)
    }

    /// The job ids of one audit event, ascending.
    pub async fn audit_job_ids(&self, audit_id: i64) -> Result<Vec<i64>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        let rows = fetch_all!(
            c.ex(),
            Id,
            "SELECT job_id AS id FROM audit_event_jobs WHERE audit_id = ? ORDER BY job_id",
            audit_id
        )?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::AuditAction;

    #[test]
    fn every_action_has_one_name_in_serde_as_str_and_from_name() {
        let mut seen = std::collections::HashSet::new();
        for &a in AuditAction::ALL {
            assert!(seen.insert(a.as_str()), "{a} listed twice");
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::json!(a.as_str()));
            assert_eq!(serde_json::from_value::<AuditAction>(serde_json::json!(a.as_str())).unwrap(), a);
            assert_eq!(AuditAction::from_name(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::from_name("shop_teleport"), None);
    }
}

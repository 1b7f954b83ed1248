//! `Console`: opens the database (local SQLite by default, PostgreSQL to scale out) and answers the
//! faces' questions.

use std::path::PathBuf;

use creatorflow_queue::{Db, Queue};
use serde::Serialize;

use crate::error::EngineError;

/// The product name every face shows.
pub const PRODUCT: &str = "CreatorFlow Console";

/// Where and how a `Console` keeps its data.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Directory for the local SQLite database and other per-user state.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `None` means `creatorflow.db` in `data_dir`.
    pub database_url: Option<String>,
}

/// The one API every face (desktop, web, CLI) calls. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Console {
    queue: Queue,
    /// The database in use, safe to show (no password).
    database: String,
}

/// What the console's home screen shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub product: String,
    pub version: String,
    pub database: String,
    pub queues: Vec<QueueCount>,
}

/// The number of jobs of one kind in one state of one queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueueCount {
    pub queue: String,
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// The OS data directory for CreatorFlow (e.g. `~/.local/share/creatorflow`), shared by the desktop app
/// and `creatorflow-cli` so both see the same local database.
pub fn default_data_dir() -> Result<PathBuf, EngineError> {
    dirs::data_dir().map(|d| d.join("creatorflow")).ok_or(EngineError::NoDataDir)
}

/// `url` with any password replaced by `***`, for display and error messages.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

impl Console {
    /// Opens (creating and migrating when needed) the configured database.
    pub async fn open(config: ConsoleConfig) -> Result<Console, EngineError> {
        let url = match config.database_url {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|source| EngineError::DataDir {
                    path: config.data_dir.clone(),
                    source,
                })?;
                format!("sqlite://{}", config.data_dir.join("creatorflow.db").display())
            }
        };
        let database = redact_database_url(&url);
        let db = Db::connect(&url)
            .await
            .map_err(|source| EngineError::Database { database: database.clone(), source })?;
        Ok(Console { queue: Queue::new(db), database })
    }

    /// The queue under the pipeline (for the CLI's benchmark and the pipeline's workers).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Product, version, database and job counts by queue, kind and state.
    pub async fn overview(&self) -> Result<Overview, EngineError> {
        let counts = self.queue.counts().await.map_err(|source| EngineError::Database {
            database: self.database.clone(),
            source,
        })?;
        let mut queues: Vec<QueueCount> = counts
            .rows
            .into_iter()
            .map(|r| QueueCount { queue: r.queue, kind: r.kind, state: r.state.as_str().to_owned(), count: r.count })
            .collect();
        queues.sort_by(|a, b| (&a.queue, &a.kind, &a.state).cmp(&(&b.queue, &b.kind, &b.state)));
        Ok(Overview {
            product: PRODUCT.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: self.database.clone(),
            queues,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(redact_database_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_database_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_database_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[tokio::test]
    async fn overview_counts_jobs_in_a_fresh_sqlite_database() {
        let dir = std::env::temp_dir().join(format!("cf-engine-test-{}", std::process::id()));
        let console = Console::open(ConsoleConfig { data_dir: dir.clone(), database_url: None }).await.unwrap();
        assert!(console.overview().await.unwrap().queues.is_empty());
        console.queue().insert(creatorflow_queue::NewJob::from_value("demo", serde_json::json!({}))).await.unwrap();
        let overview = console.overview().await.unwrap();
        assert_eq!(overview.product, PRODUCT);
        assert_eq!(
            overview.queues,
            vec![QueueCount { queue: "default".into(), kind: "demo".into(), state: "available".into(), count: 1 }]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

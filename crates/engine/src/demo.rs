//! The built-in demo shop: the TikTok Shop sandbox started in this process, connected as a shop with
//! in-memory credentials (the sandbox makes them up at every start), so a newcomer — or a test — sees
//! the whole pipeline work with nothing connected and nothing leaving loopback.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use creatorflow_queue::Db;
use tiktok_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tiktok_shop::{MemoryStore, Secret, SecretStore, TokenSet};

use crate::connection::{ClientTuning, Connections};
use crate::error::EngineError;
use crate::metrics::Metrics;
use crate::pipeline::{CarrierAdapter, DemoCarrier, Pipeline, PipelineConfig};
use crate::store::{HandoverMethod, NewShop, Shop, Store};

/// The name the demo shop is stored under.
pub const DEMO_SHOP_NAME: &str = "Demo shop";
/// The demo's directory under the data dir (its database and its worker slot locks).
pub const DEMO_DIR: &str = "demo";
/// The demo database's file name in [`DEMO_DIR`].
pub const DEMO_DATABASE_FILE: &str = "creatorflow-demo.db";

/// A fresh, empty demo database: `data_dir/demo/creatorflow-demo.db`, with any previous one (and its
/// WAL files) deleted first. The demo's orders live only as long as its in-process shop, so it gets a
/// database of its own, beside (never inside) the real one. Returns the handle and the file's path.
pub async fn fresh_database(data_dir: &Path) -> Result<(Db, PathBuf), EngineError> {
    let dir = data_dir.join(DEMO_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| EngineError::DataDir { path: dir.clone(), source })?;
    let path = dir.join(DEMO_DATABASE_FILE);
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.join(format!("{DEMO_DATABASE_FILE}{suffix}"));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(EngineError::DataDir { path: p, source }),
        }
    }
    let database = path.display().to_string();
    let db = Db::connect_sqlite(&path).await.map_err(|source| EngineError::Database { database, source })?;
    Ok((db, path))
}

/// The pipeline of the demo: the demo shop's connections and the demo carrier, which books tracking
/// numbers for seller-shipped orders (no person is there to enter them).
pub fn pipeline(store: Store, connections: Connections, metrics: Arc<Metrics>) -> Pipeline {
    let carrier: Arc<dyn CarrierAdapter> = Arc::new(DemoCarrier::default());
    Pipeline::new(store, connections, metrics, Some(carrier), PipelineConfig::default())
}

/// A running demo shop.
pub struct DemoShop {
    pub sandbox: SandboxHandle,
    pub shop: Shop,
    pub connections: Connections,
}

/// Starts the sandbox on a free loopback port and stores it as a shop of `store`'s database.
/// The database should be the demo's own: the sandbox's orders vanish when the process ends.
pub async fn start(store: &Store, config: SandboxConfig, tuning: ClientTuning) -> Result<DemoShop, EngineError> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sandbox = Sandbox::start(config, addr).await.map_err(|e| EngineError::Demo(e.to_string()))?;
    let cfg = sandbox.config().clone();
    let base = sandbox.base_url().to_owned();
    let shop = store
        .create_shop(&NewShop {
            creator_id: None,
            name: DEMO_SHOP_NAME.to_owned(),
            tts_shop_id: cfg.shop_id.clone(),
            cipher: cfg.shop_cipher.clone(),
            region: cfg.shop_region.clone(),
            app_key: cfg.app_key.clone(),
            api_base_url: base.clone(),
            auth_base_url: base,
            handover_method: HandoverMethod::DropOff,
            priority: 0,
        })
        .await?;
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let connections = Connections::with_tuning(secrets, tuning);
    let now_s = chrono_now_s();
    let tokens = TokenSet {
        access_token: Secret::new(cfg.access_token.clone()),
        access_token_expire_in: now_s + cfg.access_token_ttl_secs,
        refresh_token: Secret::new(cfg.refresh_token.clone()),
        refresh_token_expire_in: now_s + cfg.refresh_token_ttl_secs,
        open_id: Some(cfg.open_id.clone()),
        seller_name: Some(cfg.seller_name.clone()),
        seller_base_region: Some(cfg.shop_region.clone()),
        user_type: Some(0),
        granted_scopes: vec![],
    };
    connections.save_credentials(&shop, &Secret::new(cfg.app_secret.clone()), &tokens)?;
    Ok(DemoShop { sandbox, shop, connections })
}

fn chrono_now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

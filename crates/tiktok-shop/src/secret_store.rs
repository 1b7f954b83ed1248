//! Secret storage behind a small trait: the OS keyring by default, or — when chosen explicitly with
//! `CREATORFLOW_SECRET_STORE=file` — a 0600 JSON file in the data directory, with a warning at every
//! start. Token pairs are stored as one JSON secret per shop/account.

use crate::error::Error;
use crate::models::token::TokenSet;
use crate::secret::Secret;
use crate::tokens::TokenSink;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Environment variable that selects the store: `keyring` (default) or `file`.
pub const SECRET_STORE_ENV: &str = "CREATORFLOW_SECRET_STORE";
/// File name of the file store inside the data directory.
pub const SECRET_FILE_NAME: &str = "secrets.json";

pub trait SecretStore: Send + Sync + fmt::Debug {
    fn get(&self, name: &str) -> Result<Option<Secret>, Error>;
    fn set(&self, name: &str, value: &Secret) -> Result<(), Error>;
    /// Deleting an absent secret is not an error.
    fn delete(&self, name: &str) -> Result<(), Error>;
}

/// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

const PROBE_USER: &str = "__creatorflow_probe__";

fn keyring_error(entry: &str, e: keyring::Error) -> Error {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            Error::SecretServiceUnavailable {
                detail: format!("keyring entry {entry:?}: {inner}"),
            }
        }
        other => Error::Keyring {
            entry: entry.to_owned(),
            detail: other.to_string(),
        },
    }
}

impl KeyringStore {
    /// Opens the keyring for `service` and checks a keyring service is actually reachable, so a headless
    /// machine fails at start with the way out (`CREATORFLOW_SECRET_STORE=file`), not at first save.
    pub fn open(service: impl Into<String>) -> Result<Self, Error> {
        let store = Self {
            service: service.into(),
        };
        match store.entry(PROBE_USER)?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(store),
            Err(e) => Err(keyring_error(PROBE_USER, e)),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, Error> {
        keyring::Entry::new(&self.service, name).map_err(|e| keyring_error(name, e))
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, Error> {
        match self.entry(name)?.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(name, e)),
        }
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), Error> {
        self.entry(name)?
            .set_password(value.expose())
            .map_err(|e| keyring_error(name, e))
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(name, e)),
        }
    }
}

/// Secrets in a JSON file readable only by the owner (0600). Weaker than a keyring (any process of the
/// user can read it), which is why opening it always logs a warning.
pub struct FileStore {
    path: PathBuf,
    // Serializes read-modify-write cycles within this process.
    lock: Mutex<()>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens (creating if needed) `data_dir/secrets.json`, tightening its mode to 0600 if it was wider.
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(SECRET_FILE_NAME);
        let file_err = |detail: String| Error::SecretFile {
            path: path.clone(),
            detail,
        };
        std::fs::create_dir_all(data_dir)
            .map_err(|e| file_err(format!("cannot create data dir: {e}")))?;
        let store = Self {
            path: path.clone(),
            lock: Mutex::new(()),
        };
        if path.exists() {
            restrict_mode(&path).map_err(|e| file_err(format!("cannot set mode 0600: {e}")))?;
            store.read_map()?;
        } else {
            store.write_map(&BTreeMap::new())?;
        }
        tracing::warn!(
            path = %path.display(),
            "secrets are stored in a plain 0600 file ({SECRET_STORE_ENV}=file), not in the OS keyring"
        );
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_map(&self) -> Result<BTreeMap<String, String>, Error> {
        let bytes = std::fs::read(&self.path).map_err(|e| Error::SecretFile {
            path: self.path.clone(),
            detail: format!("cannot read: {e}"),
        })?;
        if bytes.is_empty() {
            return Ok(BTreeMap::new());
        }
        // Position only: serde's message could quote a secret value.
        serde_json::from_slice(&bytes).map_err(|e| Error::SecretFile {
            path: self.path.clone(),
            detail: format!(
                "not a json object of strings (line {}, column {})",
                e.line(),
                e.column()
            ),
        })
    }

    fn write_map(&self, map: &BTreeMap<String, String>) -> Result<(), Error> {
        let err = |detail: String| Error::SecretFile {
            path: self.path.clone(),
            detail,
        };
        let bytes =
            serde_json::to_vec_pretty(map).map_err(|e| err(format!("cannot encode: {e}")))?;
        // Write a sibling created 0600 from the start, then rename over: never a window with wider mode
        // and never a half-written file.
        let tmp = self.path.with_extension("json.tmp");
        write_private(&tmp, &bytes)
            .map_err(|e| err(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| err(format!("cannot replace: {e}")))
    }

    fn with_map<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, String>) -> (bool, R),
    ) -> Result<R, Error> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.read_map()?;
        let (changed, r) = f(&mut map);
        if changed {
            self.write_map(&map)?;
        }
        Ok(r)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing tmp file keeps its old mode; force it.
    restrict_mode(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(unix)]
fn restrict_mode(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_mode(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

impl SecretStore for FileStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, Error> {
        self.with_map(|m| (false, m.get(name).map(|v| Secret::new(v.clone()))))
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), Error> {
        self.with_map(|m| {
            m.insert(name.to_owned(), value.expose().to_owned());
            (true, ())
        })
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        self.with_map(|m| (m.remove(name).is_some(), ()))
    }
}

/// Secrets kept in this process's memory only, gone when it exits. For the built-in demo shop, whose
/// credentials the in-process sandbox makes up at every start, and for tests: never for a real shop.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, Secret>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The names stored (tests check what is left behind).
    pub fn list_names(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        // A panic while holding this lock cannot leave the map half-written (single insert/remove).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, Error> {
        Ok(self.map().get(name).cloned())
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), Error> {
        self.map().insert(name.to_owned(), value.clone());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        self.map().remove(name);
        Ok(())
    }
}

/// Opens the store chosen by `choice` (the value of `CREATORFLOW_SECRET_STORE`; `None` = keyring).
pub fn open_secret_store(
    choice: Option<&str>,
    data_dir: &Path,
    service: &str,
) -> Result<Arc<dyn SecretStore>, Error> {
    match choice.map(str::trim) {
        None | Some("") | Some("keyring") => Ok(Arc::new(KeyringStore::open(service)?)),
        Some("file") => Ok(Arc::new(FileStore::open(data_dir)?)),
        Some(other) => Err(Error::UnknownSecretStore {
            value: other.to_owned(),
        }),
    }
}

/// Like [`open_secret_store`], reading the choice from the environment.
pub fn open_secret_store_from_env(
    data_dir: &Path,
    service: &str,
) -> Result<Arc<dyn SecretStore>, Error> {
    let choice = std::env::var(SECRET_STORE_ENV).ok();
    open_secret_store(choice.as_deref(), data_dir, service)
}

/// Secret name under which a shop's (or creator's) token pair is kept.
pub fn token_secret_name(account_id: &str) -> String {
    format!("tokens/{account_id}")
}

/// Reads a stored token pair.
pub fn load_tokens(store: &dyn SecretStore, name: &str) -> Result<Option<TokenSet>, Error> {
    let Some(raw) = store.get(name)? else {
        return Ok(None);
    };
    serde_json::from_str(raw.expose())
        .map(Some)
        .map_err(|e| Error::StoredTokensCorrupt {
            key: name.to_owned(),
            detail: format!("line {}, column {}", e.line(), e.column()),
        })
}

/// Saves each new token pair under one secret name.
#[derive(Debug, Clone)]
pub struct StoreTokenSink {
    store: Arc<dyn SecretStore>,
    name: String,
}

impl StoreTokenSink {
    pub fn new(store: Arc<dyn SecretStore>, name: impl Into<String>) -> Self {
        Self {
            store,
            name: name.into(),
        }
    }
}

impl TokenSink for StoreTokenSink {
    fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        let json = serde_json::to_string(tokens).map_err(|e| Error::StoredTokensCorrupt {
            key: self.name.clone(),
            detail: format!("cannot encode: {e}"),
        })?;
        self.store.set(&self.name, &Secret::new(json))
    }

    fn load(&self) -> Result<Option<TokenSet>, Error> {
        load_tokens(self.store.as_ref(), &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: Secret::new("ACCESS-abc"),
            access_token_expire_in: 2000,
            refresh_token: Secret::new("REFRESH-xyz"),
            refresh_token_expire_in: 9000,
            open_id: Some("oid".into()),
            seller_name: None,
            seller_base_region: None,
            user_type: Some(0),
            granted_scopes: vec![],
        }
    }

    #[test]
    fn file_store_round_trip_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        assert_eq!(store.get("app_secret").unwrap(), None);
        store.set("app_secret", &Secret::new("s3cr3t")).unwrap();
        store.set("other", &Secret::new("v")).unwrap();
        // A second handle (as at the next start) sees the same data.
        let again = FileStore::open(dir.path()).unwrap();
        assert_eq!(again.get("app_secret").unwrap().unwrap().expose(), "s3cr3t");
        again.delete("app_secret").unwrap();
        again.delete("app_secret").unwrap();
        assert_eq!(store.get("app_secret").unwrap(), None);
        assert_eq!(store.get("other").unwrap().unwrap().expose(), "v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
            // A file loosened by hand is tightened at the next open.
            std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
            FileStore::open(dir.path()).unwrap();
            assert_eq!(
                std::fs::metadata(store.path())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o600
            );
        }
        assert!(!format!("{store:?}").contains("s3cr3t"));
    }

    #[test]
    fn token_sink_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(FileStore::open(dir.path()).unwrap());
        let name = token_secret_name("shop-1");
        assert!(load_tokens(store.as_ref(), &name).unwrap().is_none());
        StoreTokenSink::new(store.clone(), &name)
            .save(&tokens())
            .unwrap();
        assert_eq!(
            load_tokens(store.as_ref(), &name).unwrap().unwrap(),
            tokens()
        );
        store
            .set(&name, &Secret::new("{\"access_token\":\"LEAKME\""))
            .unwrap();
        let err = load_tokens(store.as_ref(), &name).unwrap_err();
        assert!(matches!(err, Error::StoredTokensCorrupt { .. }));
        assert!(!format!("{err} {err:?}").contains("LEAKME"));
    }

    #[test]
    fn choice_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_secret_store(Some("vault"), dir.path(), "svc").unwrap_err();
        assert!(err.to_string().contains("vault"));
        let f = open_secret_store(Some("file"), dir.path(), "svc").unwrap();
        f.set("k", &Secret::new("v")).unwrap();
        assert!(dir.path().join(SECRET_FILE_NAME).exists());
    }
}

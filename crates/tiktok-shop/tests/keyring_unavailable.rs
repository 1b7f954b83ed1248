//! Without a Secret Service the keyring store fails at open with a message that names the way out
//! (`CREATORFLOW_SECRET_STORE=file`). Its own test binary because it changes the process environment.

// Linux only: elsewhere the platform keyring needs no D-Bus and is always there.
#![cfg(target_os = "linux")]

use tiktok_shop::secret_store::open_secret_store;
use tiktok_shop::{Error, KeyringStore, Secret};

#[test]
fn no_secret_service_names_the_file_store() {
    // SAFETY: the only test in this binary; no other thread reads the environment concurrently.
    unsafe {
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/creatorflow-no-bus",
        );
    }
    let err = KeyringStore::open("creatorflow-test-unavailable").unwrap_err();
    assert!(
        matches!(err, Error::SecretServiceUnavailable { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("CREATORFLOW_SECRET_STORE=file"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        open_secret_store(None, dir.path(), "svc"),
        Err(Error::SecretServiceUnavailable { .. })
    ));
    let file = open_secret_store(Some("file"), dir.path(), "svc").unwrap();
    file.set("app_secret", &Secret::new("v")).unwrap();
    assert_eq!(file.get("app_secret").unwrap().unwrap().expose(), "v");
}

//! The keyring store against a REAL Secret Service (gnome-keyring under dbus-run-session). Ignored in a
//! plain `cargo test` because it needs that session: run `scripts/keyring-test.sh`.
//!
//! It fails if keyring silently used its in-memory mock: the value must be visible through a second,
//! independent `keyring::Entry` (mock entries do not share storage), the credential must be the Secret
//! Service kind, and, when `secret-tool` is installed, through libsecret itself.

#![cfg(target_os = "linux")]

use std::process::Command;
use std::sync::Arc;
use tiktok_shop::secret_store::{load_tokens, token_secret_name};
use tiktok_shop::{KeyringStore, Secret, SecretStore, StoreTokenSink, TokenSet, TokenSink};

fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
#[ignore = "needs a Secret Service session: run scripts/keyring-test.sh"]
fn keyring_store_hits_the_real_secret_service() {
    let service = format!("creatorflow-test-{}", std::process::id());
    let store = KeyringStore::open(&service)
        .expect("a secret service is running (see scripts/keyring-test.sh)");
    assert_eq!(store.get("app_secret").unwrap(), None);
    store
        .set("app_secret", &Secret::new("s3cr3t-value"))
        .unwrap();
    assert_eq!(
        store.get("app_secret").unwrap().unwrap().expose(),
        "s3cr3t-value"
    );

    // Independent handle: keyring's mock keeps each Entry's value to itself, so this fails under the mock.
    let entry = keyring::Entry::new(&service, "app_secret").unwrap();
    assert_eq!(entry.get_password().unwrap(), "s3cr3t-value");
    assert!(
        entry
            .get_credential()
            .downcast_ref::<keyring::secret_service::SsCredential>()
            .is_some(),
        "keyring is not using the Secret Service backend"
    );
    // And through libsecret, a different client library entirely.
    let require_tool = std::env::var("REQUIRE_SECRET_TOOL").is_ok();
    match secret_tool_lookup(&service, "app_secret") {
        Some(v) => assert_eq!(v.trim_end(), "s3cr3t-value"),
        None => assert!(
            !require_tool,
            "secret-tool is required (apt-get install libsecret-tools)"
        ),
    }

    // Token pairs through the sink.
    let tokens = TokenSet {
        access_token: Secret::new("AT"),
        access_token_expire_in: 10,
        refresh_token: Secret::new("RT"),
        refresh_token_expire_in: 20,
        open_id: Some("o".into()),
        seller_name: None,
        seller_base_region: None,
        user_type: None,
        granted_scopes: vec![],
    };
    let store: Arc<dyn SecretStore> = Arc::new(store);
    let name = token_secret_name("o");
    StoreTokenSink::new(store.clone(), &name)
        .save(&tokens)
        .unwrap();
    assert_eq!(load_tokens(store.as_ref(), &name).unwrap().unwrap(), tokens);
    // Overwrite keeps only the newest.
    let newer = TokenSet {
        refresh_token: Secret::new("RT2"),
        ..tokens
    };
    StoreTokenSink::new(store.clone(), &name)
        .save(&newer)
        .unwrap();
    assert_eq!(
        load_tokens(store.as_ref(), &name)
            .unwrap()
            .unwrap()
            .refresh_token
            .expose(),
        "RT2"
    );

    store.delete("app_secret").unwrap();
    store.delete("app_secret").unwrap();
    store.delete(&name).unwrap();
    assert_eq!(store.get("app_secret").unwrap(), None);
    assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)));
    if let Some(v) = secret_tool_lookup(&service, "app_secret") {
        assert_eq!(v, "");
    }
}

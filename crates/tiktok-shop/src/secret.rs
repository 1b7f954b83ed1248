//! `Secret`: a string that never prints. App secrets, access and refresh tokens travel in this type so a
//! stray `{:?}` in a log line or an error cannot leak them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret string. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call sites are the places that legitimately need it (signing, headers, storage).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The app's credentials from Partner Center. The key is public (it is sent in every query); the secret
/// signs requests and never leaves this process.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    pub app_key: String,
    pub app_secret: Secret,
}

impl AppCredentials {
    pub fn new(app_key: impl Into<String>, app_secret: impl Into<Secret>) -> Self {
        Self {
            app_key: app_key.into(),
            app_secret: app_secret.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2-very-secret");
        let creds = AppCredentials::new("key123", "hunter2-very-secret");
        let dbg = format!("{creds:?} {creds:#?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("key123"));
    }
}

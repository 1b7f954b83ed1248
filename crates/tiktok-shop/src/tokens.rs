//! `TokenManager`: one shop's access/refresh tokens with absolute expiries. Refreshes proactively
//! (configurable margin) and on 105002; a tokio mutex held across the refresh makes concurrent callers
//! share one refresh. The newest pair is persisted through a [`TokenSink`] before it is used.

use crate::auth::AuthClient;
use crate::clock::Clock;
use crate::error::Error;
use crate::models::token::TokenSet;
use crate::secret::Secret;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// Where the newest token pair goes (the keyring, a file). Called from a blocking thread.
pub trait TokenSink: Send + Sync + fmt::Debug {
    fn save(&self, tokens: &TokenSet) -> Result<(), Error>;

    /// The pair stored now, when the sink can read it back. Another process on this machine (the CLI
    /// beside the desktop app) may have refreshed meanwhile; TikTok rotates the refresh token, so the
    /// manager adopts a newer stored pair instead of spending its own, already dead, refresh token.
    fn load(&self) -> Result<Option<TokenSet>, Error> {
        Ok(None)
    }
}

struct State {
    tokens: TokenSet,
    /// Set when saving the newest pair failed; the save is retried on the next access.
    unsaved: bool,
}

pub struct TokenManager {
    state: Mutex<State>,
    auth: AuthClient,
    sink: Option<Arc<dyn TokenSink>>,
    clock: Arc<dyn Clock>,
    margin: Duration,
    refreshes: AtomicU64,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are Secrets already; the state itself is behind an async lock and not shown.
        f.debug_struct("TokenManager")
            .field("auth", &self.auth)
            .field("sink", &self.sink)
            .field("margin", &self.margin)
            .field("refreshes", &self.refreshes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub(crate) fn new(
        tokens: TokenSet,
        auth: AuthClient,
        sink: Option<Arc<dyn TokenSink>>,
        clock: Arc<dyn Clock>,
        margin: Duration,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                tokens,
                unsaved: false,
            }),
            auth,
            sink,
            clock,
            margin,
            refreshes: AtomicU64::new(0),
        }
    }

    /// How many refreshes this manager has done (for tests and the metrics panel).
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// A copy of the current pair.
    pub async fn snapshot(&self) -> TokenSet {
        self.state.lock().await.tokens.clone()
    }

    /// A usable access token, refreshed first if it expires within the margin.
    pub async fn access_token(&self) -> Result<Secret, Error> {
        let mut st = self.state.lock().await;
        if st.unsaved {
            self.persist(&mut st).await?;
        }
        if self.near_expiry(&st.tokens) {
            tracing::info!(open_id = ?st.tokens.open_id, "access token near expiry: refreshing proactively");
            self.refresh_locked(&mut st, false).await?;
        }
        Ok(st.tokens.access_token.clone())
    }

    /// Refreshes unless another caller already replaced `stale` (then its result is reused).
    pub async fn refresh_if_current(&self, stale: &Secret) -> Result<Secret, Error> {
        let mut st = self.state.lock().await;
        if st.tokens.access_token == *stale {
            self.refresh_locked(&mut st, false).await?;
        }
        Ok(st.tokens.access_token.clone())
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh_now(&self) -> Result<TokenSet, Error> {
        let mut st = self.state.lock().await;
        self.refresh_locked(&mut st, true).await?;
        Ok(st.tokens.clone())
    }

    /// Refreshes the pair, unless (without `force`) the sink already holds a newer one. A refresh that
    /// fails is forgiven when a newer pair turned up meanwhile (two processes refreshed at once).
    async fn refresh_locked(&self, st: &mut State, force: bool) -> Result<(), Error> {
        // An adopted pair that is itself about to lapse is refreshed (with its live refresh token).
        if self.adopt_stored(st).await && !force && !self.near_expiry(&st.tokens) {
            return Ok(());
        }
        let new = match self.auth.refresh(&st.tokens.refresh_token).await {
            Ok(new) => new,
            Err(e) if self.adopt_stored(st).await => {
                tracing::info!(error = %e, "another process refreshed the token pair first; using its pair");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        // Keep identity fields the refresh response may omit.
        let merged = TokenSet {
            open_id: new.open_id.or_else(|| st.tokens.open_id.clone()),
            seller_name: new.seller_name.or_else(|| st.tokens.seller_name.clone()),
            seller_base_region: new
                .seller_base_region
                .or_else(|| st.tokens.seller_base_region.clone()),
            user_type: new.user_type.or(st.tokens.user_type),
            granted_scopes: if new.granted_scopes.is_empty() {
                st.tokens.granted_scopes.clone()
            } else {
                new.granted_scopes
            },
            ..new
        };
        // Memory first: the old refresh token may already be spent, so the new one must not be lost even
        // if saving fails (the save is retried on the next access).
        st.tokens = merged;
        st.unsaved = true;
        self.persist(st).await
    }

    fn near_expiry(&self, tokens: &TokenSet) -> bool {
        self.clock.now_unix() >= tokens.access_token_expire_in - self.margin.as_secs() as i64
    }

    /// Takes the sink's pair when it is newer than ours: another refresh token (ours is then spent)
    /// and an access token that lasts at least as long. An unsaved pair of ours is the newest by
    /// definition; a sink that cannot be read changes nothing.
    async fn adopt_stored(&self, st: &mut State) -> bool {
        let Some(sink) = self.sink.clone() else { return false };
        if st.unsaved {
            return false;
        }
        let stored = match tokio::task::spawn_blocking(move || sink.load()).await {
            Ok(Ok(Some(t))) => t,
            Ok(Ok(None)) => return false,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the stored token pair back");
                return false;
            }
            Err(_) => return false,
        };
        if stored.refresh_token == st.tokens.refresh_token || stored.access_token_expire_in < st.tokens.access_token_expire_in {
            return false;
        }
        st.tokens = stored;
        true
    }

    async fn persist(&self, st: &mut State) -> Result<(), Error> {
        let Some(sink) = self.sink.clone() else {
            st.unsaved = false;
            return Ok(());
        };
        let tokens = st.tokens.clone();
        let saved = tokio::task::spawn_blocking(move || sink.save(&tokens)).await;
        match saved {
            Ok(Ok(())) => {
                st.unsaved = false;
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            // The blocking task panicked or was cancelled at shutdown; report it as a store failure.
            Err(join) => Err(Error::Keyring {
                entry: "tokens".into(),
                detail: format!("token save task failed: {join}"),
            }),
        }
    }
}

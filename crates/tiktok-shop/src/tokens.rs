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
        let deadline = st.tokens.access_token_expire_in - self.margin.as_secs() as i64;
        if self.clock.now_unix() >= deadline {
            tracing::info!(open_id = ?st.tokens.open_id, "access token near expiry: refreshing proactively");
            self.refresh_locked(&mut st).await?;
        }
        Ok(st.tokens.access_token.clone())
    }

    /// Refreshes unless another caller already replaced `stale` (then its result is reused).
    pub async fn refresh_if_current(&self, stale: &Secret) -> Result<Secret, Error> {
        let mut st = self.state.lock().await;
        if st.tokens.access_token == *stale {
            self.refresh_locked(&mut st).await?;
        }
        Ok(st.tokens.access_token.clone())
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh_now(&self) -> Result<TokenSet, Error> {
        let mut st = self.state.lock().await;
        self.refresh_locked(&mut st).await?;
        Ok(st.tokens.clone())
    }

    async fn refresh_locked(&self, st: &mut State) -> Result<(), Error> {
        let new = self.auth.refresh(&st.tokens.refresh_token).await?;
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

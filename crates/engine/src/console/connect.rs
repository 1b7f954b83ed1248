//! Connecting a shop from the console's Shops screen: the OAuth code flow of `oauth.rs` spread over
//! several calls. `begin_connect` opens the loopback listener and returns the link; a task of its own
//! waits for the redirect (or for a code the person pastes, e.g. when the browser runs on another machine
//! than `serve`), exchanges the code and stores the shops; the screen polls `connect_status` until the
//! session is connected, failed or cancelled.
//!
//! In demo mode the shops go into the real database (the one the console opened before the demo took
//! over), never into the throw-away demo database, and the session says a restart is needed to leave
//! the demo and work them. The `shop_connect` audit event goes to both databases: the real one keeps
//! it with the shops, the demo one is the audit log the console shows until the restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tiktok_shop::Secret;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use ts_rs::TS;

use super::jobs::check_actor;
use super::{CommandError, Console};
use crate::lock;
use super::oauth::{AuthorizationRequest, PendingAuthorization, random_state};
use crate::error::EngineError;
use crate::store::{HandoverMethod, Shop};

/// How long a session waits for the seller to authorize.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long a finished session's outcome stays readable.
const KEEP_FINISHED: Duration = Duration::from_secs(10 * 60);
/// Most sessions waiting at once (each holds a listening socket).
const MAX_WAITING: usize = 4;

/// What the Shops screen's connect form sends. Hosts and the authorization page default to TikTok's.
#[derive(Clone, Deserialize, TS)]
pub struct ConnectRequest {
    pub app_key: String,
    pub app_secret: String,
    #[ts(optional)]
    pub api_base: Option<String>,
    #[ts(optional)]
    pub auth_base: Option<String>,
    #[ts(optional)]
    pub authorize_url: Option<String>,
    #[ts(optional)]
    pub handover_method: Option<HandoverMethod>,
    #[ts(optional)]
    pub priority: Option<i64>,
}

impl std::fmt::Debug for ConnectRequest {
    // The app secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest").field("app_key", &self.app_key).finish_non_exhaustive()
    }
}

/// Where a connect session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectState {
    /// Waiting for the seller to authorize (the redirect, or a pasted code).
    Waiting,
    /// Exchanging the code and storing the shops.
    Completing,
    Connected,
    Failed,
    Cancelled,
}

/// A connect session as the screen shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectSession {
    pub id: String,
    pub state: ConnectState,
    /// The link the seller opens to authorize the app.
    pub url: String,
    /// Where the authorization page redirects to: this machine's loopback listener.
    pub redirect_uri: Option<String>,
    /// The shops stored, once connected.
    pub shops: Vec<Shop>,
    pub error: Option<CommandError>,
    /// The console shows the demo shop: restart it to work the connected shops.
    pub restart_required: bool,
    /// Time left to authorize while waiting.
    pub expires_in_ms: i64,
}

/// A code someone pasted, with where to send the outcome.
struct Paste {
    text: String,
    reply: oneshot::Sender<Result<(), EngineError>>,
}

enum Command {
    Paste(Paste),
    /// Answered once the session is marked cancelled.
    Cancel(oneshot::Sender<()>),
}

struct Entry {
    session: Mutex<ConnectSession>,
    commands: mpsc::Sender<Command>,
    deadline: Instant,
    finished_at: Mutex<Option<Instant>>,
}

impl Entry {
    fn snapshot(&self) -> ConnectSession {
        let mut s = lock(&self.session).clone();
        s.expires_in_ms = match s.state {
            ConnectState::Waiting => self.deadline.saturating_duration_since(Instant::now()).as_millis() as i64,
            _ => 0,
        };
        s
    }

    fn update(&self, f: impl FnOnce(&mut ConnectSession)) {
        let mut s = lock(&self.session);
        f(&mut s);
        if matches!(s.state, ConnectState::Connected | ConnectState::Failed | ConnectState::Cancelled) {
            *lock(&self.finished_at) = Some(Instant::now());
        }
    }
}

/// The console's connect sessions, shared by clones.
#[derive(Default)]
pub(crate) struct ConnectSessions {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl std::fmt::Debug for ConnectSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSessions").field("sessions", &lock(&self.entries).len()).finish()
    }
}

impl ConnectSessions {
    /// The session, after dropping the ones finished long ago.
    fn get(&self, id: &str) -> Result<Arc<Entry>, EngineError> {
        let mut entries = lock(&self.entries);
        entries.retain(|_, e| lock(&e.finished_at).is_none_or(|t| t.elapsed() < KEEP_FINISHED));
        entries.get(id).cloned().ok_or_else(|| EngineError::InvalidInput {
            field: "connect session",
            value: id.chars().take(64).collect(),
            reason: "no such session (it finished more than 10 minutes ago, or the console restarted); start again".into(),
        })
    }
}

impl Console {
    /// Starts connecting a shop: validates the request, opens the loopback listener and returns the
    /// session with the link to open. The rest happens in the background; poll [`Console::connect_status`].
    /// `actor` is who asked: the audit trail names them once the shops are stored.
    pub async fn begin_connect(&self, req: ConnectRequest, actor: &str) -> Result<ConnectSession, EngineError> {
        check_actor(actor)?;
        if let Some(p) = req.priority
            && !(0..=9).contains(&p)
        {
            return Err(EngineError::InvalidInput { field: "priority", value: p.to_string(), reason: "must be 0 to 9".into() });
        }
        let waiting = lock(&self.connects.entries)
            .values()
            .filter(|e| lock(&e.session).state == ConnectState::Waiting)
            .count();
        if waiting >= MAX_WAITING {
            return Err(EngineError::InvalidInput {
                field: "connect session",
                value: waiting.to_string(),
                reason: format!("{MAX_WAITING} authorizations are already waiting; finish or cancel one first"),
            });
        }
        let blank = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let home = self.home();
        let pending = home
            .begin_authorization(AuthorizationRequest {
                app_key: req.app_key.trim().to_owned(),
                app_secret: Secret::new(req.app_secret.trim().to_owned()),
                api_base: blank(req.api_base),
                auth_base: blank(req.auth_base),
                authorize_url: blank(req.authorize_url),
                listen: true,
                handover_method: req.handover_method,
                priority: req.priority,
            })
            .await?;
        // Not the OAuth state: that is the CSRF secret and stays inside the flow.
        let id = random_state()?;
        let (tx, rx) = mpsc::channel(4);
        let entry = Arc::new(Entry {
            session: Mutex::new(ConnectSession {
                id: id.clone(),
                state: ConnectState::Waiting,
                url: pending.url().to_owned(),
                redirect_uri: pending.redirect_uri().map(str::to_owned),
                shops: vec![],
                error: None,
                restart_required: self.is_demo(),
                expires_in_ms: 0,
            }),
            commands: tx,
            deadline: Instant::now() + CONNECT_TIMEOUT,
            finished_at: Mutex::new(None),
        });
        lock(&self.connects.entries).insert(id, entry.clone());
        // In demo mode the console shows the demo database: the connect's audit event goes there too.
        let shown = self.is_demo().then(|| self.clone());
        tokio::spawn(drive(home, shown, pending, actor.to_owned(), rx, entry.clone()));
        Ok(entry.snapshot())
    }

    /// Where the session is now.
    pub fn connect_status(&self, id: &str) -> Result<ConnectSession, EngineError> {
        Ok(self.connects.get(id)?.snapshot())
    }

    /// Completes the session with a pasted code (or the whole redirect URL, whose state is checked).
    /// Returns once the shops are stored or the code was refused; a malformed paste leaves the
    /// session waiting.
    pub async fn connect_with_code(&self, id: &str, pasted: &str) -> Result<ConnectSession, EngineError> {
        let entry = self.connects.get(id)?;
        let (reply, answer) = oneshot::channel();
        let not_waiting = || EngineError::InvalidInput {
            field: "connect session",
            value: id.chars().take(64).collect(),
            reason: "is not waiting for a code any more".into(),
        };
        entry.commands.send(Command::Paste(Paste { text: pasted.to_owned(), reply })).await.map_err(|_| not_waiting())?;
        answer.await.map_err(|_| not_waiting())??;
        Ok(entry.snapshot())
    }

    /// Stops waiting (the listener closes); a session already finished is returned as it is.
    pub async fn cancel_connect(&self, id: &str) -> Result<ConnectSession, EngineError> {
        let entry = self.connects.get(id)?;
        let (done, cancelled) = oneshot::channel();
        // A finished driver has dropped its receiver (and the reply): nothing to cancel.
        if entry.commands.send(Command::Cancel(done)).await.is_ok() {
            let _ = cancelled.await;
        }
        Ok(entry.snapshot())
    }
}

/// The session's task: waits for the redirect or a valid paste, then exchanges the code and stores
/// the shops (and the audit event naming `actor`) through `home`; the event is also written to
/// `shown`, the demo console the person is looking at, if any.
async fn drive(home: Console, shown: Option<Console>, mut pending: PendingAuthorization, actor: String, mut commands: mpsc::Receiver<Command>, entry: Arc<Entry>) {
    let fail = |error: EngineError| {
        entry.update(|s| {
            s.state = ConnectState::Failed;
            s.error = Some(error.into());
        })
    };
    let (code, reply) = loop {
        let remaining = entry.deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            got = tokio::time::timeout(remaining, pending.wait_for_code(remaining + Duration::from_secs(1))) => match got {
                Ok(Ok(code)) => break (code, None),
                Ok(Err(e)) => return fail(e),
                Err(_) => {
                    return fail(EngineError::Authorization {
                        detail: format!("nobody authorized the app within {} minutes; start again", CONNECT_TIMEOUT.as_secs() / 60),
                    })
                }
            },
            command = commands.recv() => match command {
                Some(Command::Paste(p)) => match pending.code_from_pasted(&p.text) {
                    Ok(code) => break (code, Some(p.reply)),
                    // A typo must not end the session: say why and keep waiting.
                    Err(e) => {
                        let _ = p.reply.send(Err(e));
                    }
                },
                Some(Command::Cancel(done)) => {
                    entry.update(|s| s.state = ConnectState::Cancelled);
                    let _ = done.send(());
                    return;
                }
                None => return entry.update(|s| s.state = ConnectState::Cancelled),
            },
        }
    };
    // Nothing is listening any more; later commands find the session finished.
    drop(commands);
    entry.update(|s| s.state = ConnectState::Completing);
    match home.complete_authorization_shown(pending, &code, &actor, shown.as_ref()).await {
        Ok(shops) => {
            tracing::info!(shops = shops.len(), "connected through the console");
            entry.update(|s| {
                s.state = ConnectState::Connected;
                s.shops = shops;
            });
        }
        Err(e) => fail(e),
    }
    // The outcome is in the session either way; the paste's caller reads it from there.
    if let Some(r) = reply {
        let _ = r.send(Ok(()));
    }
}

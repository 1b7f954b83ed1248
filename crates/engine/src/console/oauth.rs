//! Connecting shops with the OAuth code flow: build the authorization link, receive the redirect on a
//! loopback listener (127.0.0.1, random port, `state` checked, single use, timeout) or take a pasted
//! code, exchange the code, list the authorized shops and store each with its secrets.
//!
//! TikTok's authorization page is not in the API notes this project builds on, so its URL is a parameter;
//! [`DEFAULT_AUTHORIZE_URL`] is the commonly published one and unverified here. The link carries
//! `app_key`, `state` and `redirect_uri` (the local sandbox's `/sandbox/oauth/authorize` reads those).
//! TikTok only redirects to URLs registered for the app in Partner Center: with a real shop, register
//! the loopback URL or paste the code from the registered page instead.

use std::time::Duration;

use tiktok_shop::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Console;
use super::jobs::check_actor;
use super::shops::{ShopIdentity, ShopOptions, app_client, bases};
use crate::error::EngineError;
use crate::store::{AuditAction, HandoverMethod, NewAuditEvent, Shop};

/// TikTok Shop's seller authorization page (unverified: not in the API notes; override it).
pub const DEFAULT_AUTHORIZE_URL: &str = "https://services.tiktokshop.com/open/authorize";

/// The path the loopback listener answers on.
const CALLBACK_PATH: &str = "/callback";
/// Largest redirect request read (a browser's GET with cookies fits easily).
const MAX_REQUEST: usize = 16 * 1024;
/// How long one connection may take to send its request (a stalled one must not block the flow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What to authorize.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub app_key: String,
    pub app_secret: Secret,
    /// `None`: TikTok's hosts.
    pub api_base: Option<String>,
    pub auth_base: Option<String>,
    /// `None`: [`DEFAULT_AUTHORIZE_URL`].
    pub authorize_url: Option<String>,
    /// Listen for the redirect on 127.0.0.1 (random port). Without it the code must be pasted.
    pub listen: bool,
    /// Handover method and priority for every shop stored (None: PICKUP, 0; unchanged on update).
    pub handover_method: Option<HandoverMethod>,
    pub priority: Option<i64>,
}

/// An authorization in progress: the link to open, and the listener waiting for its redirect.
#[derive(Debug)]
pub struct PendingAuthorization {
    url: String,
    redirect_uri: Option<String>,
    state: String,
    listener: Option<TcpListener>,
    req: AuthorizationRequest,
}

/// What came back on the redirect.
#[derive(Debug, PartialEq, Eq)]
enum Redirect {
    Code(String),
    Denied(String),
    /// Not our callback, or a wrong `state`: answered with an error page, and the wait goes on.
    Ignored(&'static str),
}

fn auth_error(detail: impl Into<String>) -> EngineError {
    EngineError::Authorization { detail: detail.into() }
}

/// 128 bits from the OS's CSPRNG, hex: the `state` must not be guessable (it is the CSRF check).
pub(super) fn random_state() -> Result<String, EngineError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| auth_error(format!("no randomness for the state: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Parses the request target of a redirect (`/callback?code=..&state=..`) against the expected state.
fn parse_redirect(target: &str, state: &str) -> Redirect {
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Redirect::Ignored("not a valid request target");
    };
    if url.path() != CALLBACK_PATH {
        return Redirect::Ignored("not the authorization callback");
    }
    let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    // Constant-time would not matter here: the state is single use and the listener closes after it.
    if get("state").as_deref() != Some(state) {
        return Redirect::Ignored("the state does not match this authorization");
    }
    if let Some(err) = get("error") {
        return Redirect::Denied(err);
    }
    match get("code") {
        Some(code) if !code.is_empty() => Redirect::Code(code),
        _ => Redirect::Ignored("no code in the redirect"),
    }
}

impl PendingAuthorization {
    /// The link the seller opens in a browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the authorization page redirects to (None when the code is to be pasted).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// Waits for the redirect on the loopback listener and returns its code; the listener is closed
    /// afterwards (single use). Requests with a wrong state or path get an error page and are ignored.
    /// Cancel safe: dropping the wait (e.g. because a person pasted the code meanwhile) keeps the
    /// listener for the next wait.
    pub async fn wait_for_code(&mut self, timeout: Duration) -> Result<String, EngineError> {
        let result = self.wait_on_listener(timeout).await;
        // A code or a refusal ends the authorization; a timeout leaves nothing worth listening for either.
        self.listener = None;
        result
    }

    async fn wait_on_listener(&self, timeout: Duration) -> Result<String, EngineError> {
        let listener = self
            .listener
            .as_ref()
            .ok_or_else(|| auth_error("no redirect listener (it was not started or was already used); paste the code"))?;
        let wait = async {
            loop {
                let (stream, _) = listener
                    .accept()
                    .await
                    .map_err(|e| auth_error(format!("the redirect listener failed: {e}")))?;
                match tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &self.state)).await {
                    Ok(Ok(Redirect::Code(code))) => return Ok(code),
                    Ok(Ok(Redirect::Denied(e))) => {
                        return Err(auth_error(format!("the seller did not authorize the app ({e})")));
                    }
                    Ok(Ok(Redirect::Ignored(why))) => tracing::warn!(why, "ignored a request on the redirect listener"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "a redirect connection failed"),
                    Err(_) => tracing::warn!("a redirect connection sent no request in time"),
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| {
            auth_error(format!(
                "no redirect within {} s; run the command again, or paste the code with --code",
                timeout.as_secs()
            ))
        })?
    }

    /// The code in what a person pasted: the code itself, or the whole redirect URL (then its state
    /// is checked too).
    pub fn code_from_pasted(&self, pasted: &str) -> Result<String, EngineError> {
        let pasted = pasted.trim();
        if pasted.starts_with("http://") || pasted.starts_with("https://") {
            let url = url::Url::parse(pasted).map_err(|_| auth_error("the pasted redirect url does not parse"))?;
            let target = format!("{CALLBACK_PATH}?{}", url.query().unwrap_or_default());
            return match parse_redirect(&target, &self.state) {
                Redirect::Code(c) => Ok(c),
                Redirect::Denied(e) => Err(auth_error(format!("the seller did not authorize the app ({e})"))),
                Redirect::Ignored(why) => Err(auth_error(format!("the pasted redirect url: {why}"))),
            };
        }
        if pasted.is_empty() || pasted.len() > 2048 || pasted.chars().any(char::is_whitespace) {
            return Err(auth_error("the pasted code is empty or malformed; paste the code parameter of the redirect"));
        }
        Ok(pasted.to_owned())
    }
}

/// Reads one HTTP request, answers it, and says what it carried.
async fn answer(mut stream: TcpStream, state: &str) -> std::io::Result<Redirect> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    let redirect = match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => parse_redirect(target, state),
        _ => Redirect::Ignored("not a GET request"),
    };
    let (status, body) = match &redirect {
        Redirect::Code(_) => ("200 OK", "CreatorFlow received the authorization. You can close this tab."),
        Redirect::Denied(_) => ("200 OK", "The authorization was refused. You can close this tab."),
        Redirect::Ignored(why) => ("400 Bad Request", *why),
    };
    let html = format!("<!doctype html><html><body><p>{body}</p></body></html>");
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(redirect)
}

impl Console {
    /// Starts an authorization: the link to open and (with `listen`) a loopback listener for the redirect.
    pub async fn begin_authorization(&self, req: AuthorizationRequest) -> Result<PendingAuthorization, EngineError> {
        if req.app_key.trim().is_empty() || req.app_secret.expose().trim().is_empty() {
            return Err(auth_error("an app key and an app secret are needed"));
        }
        // Validate the hosts now, not after the seller has clicked through.
        bases(req.api_base.as_deref(), req.auth_base.as_deref())?;
        let base = req.authorize_url.as_deref().unwrap_or(DEFAULT_AUTHORIZE_URL);
        let mut url = url::Url::parse(base).map_err(|e| EngineError::InvalidInput {
            field: "authorize url",
            value: base.chars().take(64).collect(),
            reason: e.to_string(),
        })?;
        let state = random_state()?;
        let (listener, redirect_uri) = if req.listen {
            let l = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| auth_error(format!("cannot listen on 127.0.0.1: {e}")))?;
            let port = l.local_addr().map_err(|e| auth_error(format!("listener address: {e}")))?.port();
            (Some(l), Some(format!("http://127.0.0.1:{port}{CALLBACK_PATH}")))
        } else {
            (None, None)
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("app_key", &req.app_key).append_pair("state", &state);
            if let Some(r) = &redirect_uri {
                q.append_pair("redirect_uri", r);
            }
        }
        Ok(PendingAuthorization { url: url.into(), redirect_uri, state, listener, req })
    }

    /// Exchanges `code` for tokens, lists the shops the authorization covers and stores each (named
    /// after its TikTok name; `"{name} ({id})"` when another shop has that name) with its secrets, and
    /// records who connected them in the audit trail (`shop_connect`).
    pub async fn complete_authorization(
        &self,
        pending: PendingAuthorization,
        code: &str,
        actor: &str,
    ) -> Result<Vec<Shop>, EngineError> {
        self.complete_authorization_shown(pending, code, actor, None).await
    }

    /// [`Console::complete_authorization`] on this (the real) database while the person looks at
    /// `shown`'s: in demo mode the console shows the demo database, whose audit log would otherwise
    /// never show the connect. The event goes to both: here it stays with the shops, which the console
    /// shows after the restart; there it is what the person sees now (the demo database is replaced at
    /// every start, so nothing is listed twice).
    pub(super) async fn complete_authorization_shown(
        &self,
        pending: PendingAuthorization,
        code: &str,
        actor: &str,
        shown: Option<&Console>,
    ) -> Result<Vec<Shop>, EngineError> {
        // Before the code is spent: a code works once.
        check_actor(actor)?;
        let req = pending.req;
        let b = bases(req.api_base.as_deref(), req.auth_base.as_deref())?;
        let connections = self.connections()?;
        let client = app_client(&req.app_key, &req.app_secret, &b)?;
        let tokens = client.exchange_auth_code(code).await.map_err(EngineError::Api)?;
        let tm = client.token_manager(tokens, None);
        let authorized = client.authorized_shops(&tm).await.map_err(EngineError::Api)?;
        if authorized.is_empty() {
            return Err(auth_error("the authorization covers no shop"));
        }
        let tokens = tm.snapshot().await;
        let opts = ShopOptions { handover_method: req.handover_method, priority: req.priority };
        let mut stored = Vec::with_capacity(authorized.len());
        let mut audited = Vec::with_capacity(authorized.len());
        for s in authorized {
            let tiktok_name = s.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| s.id.clone());
            let known = self.store.shop_by_remote(&b.api, &s.id).await?;
            let reauthorized = known.is_some();
            let name = match known {
                // Re-authorizing keeps the local name a person may have chosen.
                Some(k) => k.name,
                None => match self.shop_named(&tiktok_name).await {
                    Ok(Some(_)) | Err(EngineError::ShopConflict { .. }) => format!("{tiktok_name} ({})", s.id),
                    Ok(None) => tiktok_name,
                    Err(e) => return Err(e),
                },
            };
            let identity = ShopIdentity {
                tts_shop_id: s.id.clone(),
                cipher: s.cipher.clone(),
                region: s.region.clone().unwrap_or_default(),
            };
            let shop = self.save_shop(&connections, &name, &req.app_key, &req.app_secret, &b, identity, &tokens, opts).await?.shop;
            audited.push(serde_json::json!({
                "id": shop.id,
                "name": shop.name,
                "tts_shop_id": shop.tts_shop_id,
                "reauthorized": reauthorized,
            }));
            stored.push(shop);
        }
        // After the shops: their tokens go to the secret store, which no database transaction covers.
        // An audit write that fails fails the call, so nobody is told "connected" without the record.
        let ev = NewAuditEvent {
            actor: actor.to_owned(),
            action: AuditAction::ShopConnect,
            job_ids: vec![],
            reason: None,
            details: Some(serde_json::json!({"shops": audited, "app_key": req.app_key, "api_base": b.api})),
        };
        self.record_audit(&ev).await?;
        if let Some(shown) = shown {
            let mut copy = ev;
            if let Some(d) = copy.details.as_mut() {
                d["stored_in"] = serde_json::Value::String(self.database.clone());
            }
            // The record that counts is the real database's, written above: a failure here must not
            // report the connect as failed when its shops are stored.
            if let Err(e) = shown.record_audit(&copy).await {
                tracing::warn!(error = %e, "the connect is audited in the real database but not in the demo's");
            }
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_checked_against_the_state() {
        assert_eq!(parse_redirect("/callback?code=abc&state=s1", "s1"), Redirect::Code("abc".into()));
        assert_eq!(parse_redirect("/callback?error=auth_denied&state=s1", "s1"), Redirect::Denied("auth_denied".into()));
        assert!(matches!(parse_redirect("/callback?code=abc&state=s2", "s1"), Redirect::Ignored(_)));
        assert!(matches!(parse_redirect("/callback?code=abc", "s1"), Redirect::Ignored(_)));
        assert!(matches!(parse_redirect("/favicon.ico", "s1"), Redirect::Ignored(_)));
        assert!(matches!(parse_redirect("/callback?state=s1", "s1"), Redirect::Ignored(_)));
    }

    #[test]
    fn states_are_random_and_long() {
        let a = random_state().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_state().unwrap());
    }
}

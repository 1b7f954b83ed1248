//! Signed webhook pushes with TikTok's retry schedule (2 min, 30 min, 3 h, 12 h, then dropped),
//! compressed in time by `webhook_time_compression`. Targets must be loopback: the sandbox never sends
//! anything off this machine.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use serde_json::json;

use crate::error::SandboxError;
use crate::sign::sign_webhook;
use crate::state::{AppState, WebhookStats, lock};

/// (type number, event_type name) as TikTok numbers them.
pub const EVENT_TYPES: [(u32, &str); 7] = [
    (1, "ORDER_STATUS_CHANGE"),
    (3, "RECIPIENT_ADDRESS_UPDATE"),
    (4, "PACKAGE_UPDATE"),
    (6, "SELLER_DEAUTHORIZATION"),
    (7, "UPCOMING_AUTHORIZATION_EXPIRATION"),
    (11, "CANCELLATION_STATUS_CHANGE"),
    (12, "RETURN_STATUS_CHANGE"),
];

/// Delays before retries 1..4, in real TikTok seconds.
pub const RETRY_SCHEDULE_SECS: [i64; 4] = [120, 1800, 3 * 3600, 12 * 3600];

/// Receivers must answer within this time or the attempt counts as failed.
const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Accepts `http://` URLs whose host is `localhost` or a loopback IP.
pub fn check_loopback_url(url: &str) -> Result<(), SandboxError> {
    let bad = || SandboxError::WebhookUrlNotLoopback(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let ok = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if ok { Ok(()) } else { Err(bad()) }
}

struct Delivery {
    url: String,
    body: Vec<u8>,
    attempts: u32,
    due_ms: i64,
}

pub(crate) struct WebhookState {
    /// event_type name -> address, from `PUT /event/202309/webhooks`.
    pub subscriptions: BTreeMap<String, String>,
    default_url: Option<String>,
    queue: Vec<Delivery>,
    stats: WebhookStats,
    seq: u64,
}

impl WebhookState {
    pub fn new(default_url: Option<String>) -> Self {
        Self {
            subscriptions: BTreeMap::new(),
            default_url,
            queue: Vec::new(),
            stats: WebhookStats::default(),
            seq: 0,
        }
    }

    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            pending: self.queue.len() as u64,
            ..self.stats.clone()
        }
    }

    fn url_for(&self, kind: u32) -> Option<String> {
        let name = EVENT_TYPES
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)?;
        self.subscriptions
            .get(name)
            .cloned()
            .or_else(|| self.default_url.clone())
    }
}

/// Queues the shop's new notices, then delivers every push that is due and waits for the answers.
pub(crate) async fn pump(state: &Arc<AppState>) {
    let notices = state.shop_now().take_outbox();
    let now_ms = state.now_ms();
    let due: Vec<Delivery> = {
        let mut w = lock(&state.webhooks);
        for n in notices {
            let Some(url) = w.url_for(n.kind) else {
                continue;
            };
            w.seq += 1;
            let body = json!({
                "type": n.kind,
                "tts_notification_id": format!("{}{:010}", state.cfg.seed % 10_000, w.seq),
                "shop_id": state.cfg.shop_id,
                "timestamp": now_ms.div_euclid(1000),
                "data": n.data,
            });
            let body = serde_json::to_vec(&body).unwrap_or_default();
            w.stats.queued += 1;
            w.queue.push(Delivery {
                url,
                body,
                attempts: 0,
                due_ms: now_ms,
            });
        }
        let (due, later): (Vec<Delivery>, Vec<Delivery>) =
            w.queue.drain(..).partition(|d| d.due_ms <= now_ms);
        w.queue = later;
        due
    };
    if due.is_empty() {
        return;
    }
    let sends = due.into_iter().map(|d| async move {
        let sign = sign_webhook(&state.cfg.app_key, &state.cfg.app_secret, &d.body);
        let res = state
            .http
            .post(&d.url)
            .header(header::AUTHORIZATION, sign)
            .header(header::CONTENT_TYPE, "application/json")
            .timeout(ACK_TIMEOUT)
            .body(d.body.clone())
            .send()
            .await;
        let acked = matches!(&res, Ok(r) if r.status().as_u16() == 200);
        if let Err(e) = &res {
            tracing::debug!(url = %d.url, error = %e, "webhook push failed");
        }
        (d, acked)
    });
    let results = futures::future::join_all(sends).await;
    let now_ms = state.now_ms();
    let compression = state.cfg.webhook_time_compression;
    let mut w = lock(&state.webhooks);
    for (mut d, acked) in results {
        d.attempts += 1;
        w.stats.attempts += 1;
        if acked {
            w.stats.acked += 1;
            continue;
        }
        w.stats.failed_attempts += 1;
        match RETRY_SCHEDULE_SECS.get((d.attempts as usize).saturating_sub(1)) {
            Some(delay) => {
                d.due_ms = now_ms + ((*delay as f64) * 1000.0 / compression) as i64;
                w.queue.push(d);
            }
            None => w.stats.dropped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_targets() {
        for ok in [
            "http://127.0.0.1:9000/hook",
            "http://localhost/x",
            "http://[::1]:80/",
            "http://127.1.2.3",
        ] {
            assert!(check_loopback_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1/hook",
            "http://10.0.0.1/hook",
            "http://example.com/",
            "http://127.0.0.1.evil.com/",
            "ftp://localhost/",
        ] {
            assert!(check_loopback_url(bad).is_err(), "{bad}");
        }
    }
}

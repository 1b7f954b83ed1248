//! Webhook intake: verify the `Authorization` signature in constant time, then parse the notification.

use crate::error::Error;
use crate::models::webhook::WebhookNotification;
use crate::secret::AppCredentials;
use crate::signing::verify_webhook_signature;

/// Verifies `authorization` (the header value) over `app_key + raw_body`, then parses the body.
/// Reply 401 on `Err(Error::WebhookSignature)`, 200 with an empty body otherwise.
pub fn verify_webhook(
    creds: &AppCredentials,
    raw_body: &[u8],
    authorization: Option<&str>,
) -> Result<WebhookNotification, Error> {
    let header = authorization.ok_or(Error::WebhookSignature)?;
    if !verify_webhook_signature(&creds.app_key, creds.app_secret.expose(), raw_body, header) {
        return Err(Error::WebhookSignature);
    }
    WebhookNotification::parse(raw_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::webhook::WebhookEvent;

    #[test]
    fn verifies_then_parses() {
        let creds = AppCredentials::new("fake_app_key", "fake_app_secret");
        let body = br#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
        let sig = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27";
        let n = verify_webhook(&creds, body, Some(sig)).unwrap();
        assert!(matches!(n.event(), WebhookEvent::OrderStatusChange(_)));
        assert!(matches!(
            verify_webhook(&creds, body, None),
            Err(Error::WebhookSignature)
        ));
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert!(matches!(
            verify_webhook(&creds, &tampered, Some(sig)),
            Err(Error::WebhookSignature)
        ));
        let wrong = AppCredentials::new("other_key", "fake_app_secret");
        assert!(matches!(
            verify_webhook(&wrong, body, Some(sig)),
            Err(Error::WebhookSignature)
        ));
    }
}

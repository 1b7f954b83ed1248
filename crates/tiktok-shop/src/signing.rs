//! Request signing (HMAC-SHA256) exactly as TikTok Shop specifies it for API version 202309+:
//! `hex(HMAC(secret, secret + path + sorted(key+value...) + body + secret))`, excluding `sign` and
//! `access_token` from the parameters. Also the webhook signature `hex(HMAC(secret, app_key + body))`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The canonical string before HMAC: `secret + path + k1v1k2v2... + body + secret`.
/// `body` is `None` for GET and for multipart bodies, which are not signed.
pub fn string_to_sign(
    app_secret: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut params: Vec<&(&str, &str)> = query
        .iter()
        .filter(|(k, _)| *k != "sign" && *k != "access_token")
        .collect();
    // Byte order of the keys, as the reference implementations sort.
    params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let body = body.unwrap_or_default();
    let cap = 2 * app_secret.len()
        + path.len()
        + body.len()
        + params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let mut out = Vec::with_capacity(cap);
    out.extend_from_slice(app_secret.as_bytes());
    out.extend_from_slice(path.as_bytes());
    for (k, v) in params {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out.extend_from_slice(body);
    out.extend_from_slice(app_secret.as_bytes());
    out
}

/// The `sign` query parameter for a request.
pub fn sign(app_secret: &str, path: &str, query: &[(&str, &str)], body: Option<&[u8]>) -> String {
    let wrapped = string_to_sign(app_secret, path, query, body);
    hex::encode(hmac_sha256(app_secret.as_bytes(), &[&wrapped]))
}

/// The expected `Authorization` header of a webhook push: `hex(HMAC(secret, app_key + raw_body))`.
pub fn webhook_signature(app_key: &str, app_secret: &str, raw_body: &[u8]) -> String {
    hex::encode(hmac_sha256(
        app_secret.as_bytes(),
        &[app_key.as_bytes(), raw_body],
    ))
}

/// Constant-time check of a webhook signature header (hex, case-insensitive) against the raw body.
pub fn verify_webhook_signature(
    app_key: &str,
    app_secret: &str,
    raw_body: &[u8],
    header: &str,
) -> bool {
    let Ok(given) = hex::decode(header.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(app_key.as_bytes());
    mac.update(raw_body);
    // verify_slice compares in constant time (subtle under the hood).
    mac.verify_slice(&given).is_ok()
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps the data path panic-free.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published vectors: see shared/tiktok-shop-api.md ("Test vectors").
    #[test]
    fn v1_authorized_shops() {
        let q = [("app_key", "29a39d"), ("timestamp", "1623812664")];
        let wrapped = string_to_sign("e59af819cc", "/authorization/202309/shops", &q, None);
        assert_eq!(
            String::from_utf8(wrapped).unwrap(),
            "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
        );
        assert_eq!(
            sign("e59af819cc", "/authorization/202309/shops", &q, None),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn v2_get_webhooks_with_cipher_unsorted_input() {
        // Deliberately out of order: signing must sort.
        let q = [
            ("timestamp", "1696909648"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("app_key", "68xu9ks5p4i8"),
        ];
        assert_eq!(
            sign("e59af819cc", "/event/202309/webhooks", &q, None),
            "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
        );
    }

    #[test]
    fn v3_put_webhooks_signs_the_body() {
        let q = [
            ("app_key", "68xu9ks5p4i8"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("timestamp", "1696909648"),
        ];
        let body = br#"{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}"#;
        assert_eq!(
            sign("e59af819cc", "/event/202309/webhooks", &q, Some(body)),
            "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"
        );
    }

    #[test]
    fn v4_minimal_and_excluded_params() {
        let expected = "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f";
        assert_eq!(
            sign("app_secret", "/test-api", &[("foo", "bar")], None),
            expected
        );
        // `sign` and `access_token` never take part in the signature.
        let q = [("foo", "bar"), ("sign", "zzz"), ("access_token", "tok")];
        assert_eq!(sign("app_secret", "/test-api", &q, None), expected);
        // ...but any other parameter does.
        assert_ne!(
            sign("app_secret", "/test-api", &[("foo", "baz")], None),
            expected
        );
    }

    #[test]
    fn webhook_vector_and_constant_time_verify() {
        let body = br#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
        let expected = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27";
        assert_eq!(
            webhook_signature("fake_app_key", "fake_app_secret", body),
            expected
        );
        assert!(verify_webhook_signature(
            "fake_app_key",
            "fake_app_secret",
            body,
            expected
        ));
        assert!(verify_webhook_signature(
            "fake_app_key",
            "fake_app_secret",
            body,
            &expected.to_uppercase()
        ));
        assert!(!verify_webhook_signature(
            "fake_app_key",
            "other_secret",
            body,
            expected
        ));
        assert!(!verify_webhook_signature(
            "fake_app_key",
            "fake_app_secret",
            &body[1..],
            expected
        ));
        assert!(!verify_webhook_signature(
            "fake_app_key",
            "fake_app_secret",
            body,
            "not-hex"
        ));
        assert!(!verify_webhook_signature(
            "fake_app_key",
            "fake_app_secret",
            body,
            &expected[..62]
        ));
    }
}

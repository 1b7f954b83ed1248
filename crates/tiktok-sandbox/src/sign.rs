//! TikTok Shop request and webhook signatures, implemented from the published spec (not shared with the
//! client crate, so a misreading there cannot hide here).
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The string TikTok signs before wrapping: path, then sorted `{key}{value}` pairs (without `sign` and
/// `access_token`), then the body bytes unless the body is multipart.
pub fn string_to_sign(path: &str, params: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut pairs: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "sign" && k != "access_token")
        .collect();
    // Byte order, as the spec says; `str` ordering is byte-wise.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(path.len() + body.len() + 64);
    out.extend_from_slice(path.as_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

fn mac_for(secret: &str, path: &str, params: &[(String, String)], body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; an empty key is still a valid key.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable_key(),
    };
    mac.update(secret.as_bytes());
    mac.update(&string_to_sign(path, params, body));
    mac.update(secret.as_bytes());
    mac
}

#[cold]
fn unreachable_key() -> HmacSha256 {
    // HMAC-SHA256 takes any key length (long keys are hashed); reaching this is impossible, so fall back
    // to an empty-key MAC that never verifies a real signature rather than panicking.
    <HmacSha256 as KeyInit>::new(&Default::default())
}

/// Lower-case hex signature of a request.
pub fn sign_request(secret: &str, path: &str, params: &[(String, String)], body: &[u8]) -> String {
    hex::encode(mac_for(secret, path, params, body).finalize().into_bytes())
}

/// Constant-time check of a request signature given as hex.
pub fn verify_request(
    secret: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
    sign_hex: &str,
) -> bool {
    // The spec says lower-case hex; an upper-case sign is a client bug, so it does not verify.
    if !sign_hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return false;
    }
    let Ok(given) = hex::decode(sign_hex) else {
        return false;
    };
    mac_for(secret, path, params, body)
        .verify_slice(&given)
        .is_ok()
}

/// Webhook `Authorization` header: hex HMAC-SHA256(key = app_secret, msg = app_key + raw body).
pub fn sign_webhook(app_key: &str, app_secret: &str, body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(app_secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable_key(),
    };
    mac.update(app_key.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn v1_wrapped_string_and_sign() {
        let params = p(&[("timestamp", "1623812664"), ("app_key", "29a39d")]);
        let s = string_to_sign("/authorization/202309/shops", &params, b"");
        assert_eq!(
            format!("e59af819cc{}e59af819cc", String::from_utf8_lossy(&s)),
            "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
        );
        assert_eq!(
            sign_request("e59af819cc", "/authorization/202309/shops", &params, b""),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn v2_get_with_cipher() {
        let params = p(&[
            ("app_key", "68xu9ks5p4i8"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("timestamp", "1696909648"),
        ]);
        assert_eq!(
            sign_request("e59af819cc", "/event/202309/webhooks", &params, b""),
            "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
        );
    }

    #[test]
    fn v3_put_with_body() {
        let params = p(&[
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("timestamp", "1696909648"),
            ("app_key", "68xu9ks5p4i8"),
        ]);
        let body = br#"{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}"#;
        let sign = "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7";
        assert_eq!(
            sign_request("e59af819cc", "/event/202309/webhooks", &params, body),
            sign
        );
        assert!(verify_request(
            "e59af819cc",
            "/event/202309/webhooks",
            &params,
            body,
            sign
        ));
        // One byte of body changed must fail.
        assert!(!verify_request(
            "e59af819cc",
            "/event/202309/webhooks",
            &params,
            &body[1..],
            sign
        ));
    }

    #[test]
    fn v4_sign_and_access_token_are_not_signed() {
        let base = p(&[("foo", "bar")]);
        let expected = "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f";
        assert_eq!(
            sign_request("app_secret", "/test-api", &base, b""),
            expected
        );
        let with_extra = p(&[("foo", "bar"), ("sign", "x"), ("access_token", "y")]);
        assert_eq!(
            sign_request("app_secret", "/test-api", &with_extra, b""),
            expected
        );
        assert!(verify_request(
            "app_secret",
            "/test-api",
            &with_extra,
            b"",
            expected
        ));
        assert!(!verify_request(
            "app_secret",
            "/test-api",
            &base,
            b"",
            "zz-not-hex"
        ));
        assert!(!verify_request(
            "app_secret",
            "/test-api",
            &base,
            b"",
            &expected[..62]
        ));
    }

    #[test]
    fn webhook_vector() {
        let body = br#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
        assert_eq!(
            sign_webhook("fake_app_key", "fake_app_secret", body),
            "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27"
        );
    }
}

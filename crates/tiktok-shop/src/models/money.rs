//! Money arrives as decimal strings (`"12.90"`); it is parsed into an exact `Decimal`, never `f64`.
//! An empty string means "not set" (TikTok sends `""` for absent amounts).

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer};
use std::str::FromStr;

/// `deserialize_with` for `Option<Decimal>` from a string; `""`, absent and `null` give `None`.
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let s: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => Decimal::from_str(v)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("invalid decimal amount {v:?}: {e}"))),
    }
}

/// `serialize_with` counterpart: writes the decimal back as a string, as TikTok does.
pub fn serialize_opt<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Serialize};
    use std::str::FromStr;

    #[derive(Deserialize, Serialize)]
    struct P {
        #[serde(
            default,
            deserialize_with = "super::deserialize_opt",
            serialize_with = "super::serialize_opt"
        )]
        amount: Option<Decimal>,
    }

    #[test]
    fn exact_decimal_strings() {
        let p: P = serde_json::from_str(r#"{"amount":"0.10"}"#).unwrap();
        let q: P = serde_json::from_str(r#"{"amount":"0.20"}"#).unwrap();
        // 0.1 + 0.2 is exactly 0.3 here, unlike f64.
        assert_eq!(
            p.amount.unwrap() + q.amount.unwrap(),
            Decimal::from_str("0.30").unwrap()
        );
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"amount":"0.10"}"#);
        let e: P = serde_json::from_str(r#"{"amount":""}"#).unwrap();
        assert!(e.amount.is_none());
        let n: P = serde_json::from_str(r#"{}"#).unwrap();
        assert!(n.amount.is_none());
        let err = serde_json::from_str::<P>(r#"{"amount":"12,5"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("12,5"), "{err}");
    }
}

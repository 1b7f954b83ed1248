//! Token get/refresh responses of the auth host. `*_expire_in` are ABSOLUTE Unix timestamps.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// An access/refresh token pair with absolute expiries, plus who granted it. Debug hides the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Unix seconds at which the access token stops working.
    pub access_token_expire_in: i64,
    pub refresh_token: Secret,
    /// Unix seconds at which the refresh token stops working (re-authorization needed after it).
    pub refresh_token_expire_in: i64,
    #[serde(default)]
    pub open_id: Option<String>,
    #[serde(default)]
    pub seller_name: Option<String>,
    #[serde(default)]
    pub seller_base_region: Option<String>,
    /// 0 seller, 1 creator, 3 partner.
    #[serde(default)]
    pub user_type: Option<i64>,
    #[serde(default)]
    pub granted_scopes: Vec<String>,
}

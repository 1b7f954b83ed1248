//! Authorized shops (`GET /authorization/202309/shops`): the cipher each shop-scoped call needs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizedShop {
    /// `shop_cipher` for shop-scoped calls. Not a secret: it identifies, it does not authorize.
    pub cipher: String,
    #[serde(default)]
    pub code: Option<String>,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub seller_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShopsResponse {
    #[serde(default)]
    pub shops: Vec<AuthorizedShop>,
}

//! Error codes the sandbox answers with. The first group is published (tiktok-shop-api.md); the page is
//! silent on the second group, so those are the sandbox's documented choices, kept in TikTok's numbering
//! blocks (21011xxx fulfillment, 36004xxx auth host) so a client branches on them the same way.
pub const SUCCESS: i64 = 0;
pub const TOO_MANY_REQUESTS: i64 = 36009002;
pub const INTERNAL_ERROR: i64 = 36009003;
/// Catch-all: bad timestamp, app_key, header, cipher, and (sandbox choice) malformed parameters.
pub const INVALID_REQUEST: i64 = 36009004;
pub const GATEWAY_TIMEOUT: i64 = 36009007;
pub const TOKEN_INVALID: i64 = 105001;
pub const TOKEN_EXPIRED: i64 = 105002;
pub const INVALID_SIGN: i64 = 106001;
pub const MISSING_SHOP_CIPHER: i64 = 106013;
pub const ORDER_ON_HOLD: i64 = 21011044;
pub const TRACKING_UPDATE_REFUSED: i64 = 21011049;
pub const REFRESH_TOKEN_EXPIRED: i64 = 36004001;
pub const NO_AUTH_RECORD: i64 = 36004005;

// Sandbox choices (not published):
pub const PACKAGE_NOT_FOUND: i64 = 21011001;
pub const PACKAGE_ALREADY_SHIPPED: i64 = 21011005;
pub const LABEL_NOT_AVAILABLE: i64 = 21011006;
pub const ORDER_UNPAID: i64 = 21011012;
pub const ORDER_CANCELLED: i64 = 21011013;
pub const SHIPPING_TYPE_MISMATCH: i64 = 21011014;
pub const ORDER_NOT_FOUND: i64 = 21001001;
pub const AUTH_CODE_INVALID: i64 = 36004003;

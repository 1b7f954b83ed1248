//! The store's one error type: specific variants, lower-case messages that name the offending value
//! (clipped, so a hostile megabyte string never ends up in a log line).

use creatorflow_queue::QueueError;

/// Everything the local cache can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement failed in the database driver.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Beginning or committing a transaction through the queue's `Db` failed.
    #[error("transaction error: {0}")]
    Transaction(#[from] QueueError),
    /// No shop with this local id.
    #[error("shop {0} not found")]
    ShopNotFound(i64),
    /// A shop with this TikTok shop id already exists for this API base URL.
    #[error("shop {tts_shop_id:?} already exists for {api_base_url:?}")]
    DuplicateShop {
        tts_shop_id: String,
        api_base_url: String,
    },
    /// The shop still has orders in the cache, so it cannot be deleted (deauthorize or pause it instead).
    #[error("shop {0} still has cached orders: pause or deauthorize it instead of deleting")]
    ShopInUse(i64),
    /// No order with this local id.
    #[error("order {0} not found")]
    OrderNotFound(i64),
    /// No package with this local id.
    #[error("package {0} not found")]
    PackageNotFound(i64),
    /// A tracked SKU has fewer units available than requested.
    #[error("out of stock: seller sku {sku:?} has {available} available, {requested} requested")]
    OutOfStock {
        sku: String,
        requested: i64,
        available: i64,
    },
    /// A release asked to give back more units than are reserved.
    #[error("cannot release {requested} of seller sku {sku:?}: only {reserved} reserved")]
    ReleaseExceedsReserved {
        sku: String,
        requested: i64,
        reserved: i64,
    },
    /// A money amount that is not an exact decimal string like `12.50`.
    #[error("invalid decimal amount {0:?}")]
    InvalidAmount(String),
    /// A caller passed a value the store cannot keep.
    #[error("invalid {field}: {value:?}")]
    InvalidInput { field: &'static str, value: String },
    /// A row holds a value outside the set this code knows (the CHECK constraints should prevent it).
    #[error("unknown {column} value {value:?} in the database")]
    UnknownValue { column: &'static str, value: String },
    /// A transaction of the other backend was passed in.
    #[error("transaction backend mismatch: store is {store}, transaction is {tx}")]
    BackendMismatch {
        store: &'static str,
        tx: &'static str,
    },
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// At most 64 characters of a value, for error messages.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

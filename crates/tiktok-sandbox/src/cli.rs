//! The `sandbox` subcommand: clap arguments the CLI flattens, and the run loop.
use std::net::{Ipv4Addr, SocketAddr};

use crate::{Sandbox, SandboxConfig, SandboxError};

/// `creatorflow-cli sandbox --port P [...]`. Credentials not given are generated from the seed and
/// printed, so a user can paste them into the app.
#[derive(Debug, Clone, clap::Args)]
#[command(about = "Run the local TikTok Shop sandbox")]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 18080)]
    pub port: u16,
    #[arg(long)]
    pub app_key: Option<String>,
    #[arg(long)]
    pub app_secret: Option<String>,
    #[arg(long)]
    pub shop_cipher: Option<String>,
    #[arg(long)]
    pub access_token: Option<String>,
    #[arg(long)]
    pub refresh_token: Option<String>,
    /// Orders present at start.
    #[arg(long, default_value_t = 120)]
    pub orders: usize,
    /// New orders per minute (0 = none).
    #[arg(long, default_value_t = 6.0)]
    pub orders_per_minute: f64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    pub token_ttl_secs: i64,
    /// Refresh token lifetime in seconds.
    #[arg(long, default_value_t = 365 * 24 * 3600)]
    pub refresh_token_ttl_secs: i64,
    /// Chance an arrival is a burst of --burst-size orders.
    #[arg(long, default_value_t = 0.1)]
    pub burst_probability: f64,
    #[arg(long, default_value_t = 20)]
    pub burst_size: usize,
    /// Chance a paid order is cancelled by the buyer before it ships.
    #[arg(long, default_value_t = 0.05)]
    pub cancel_probability: f64,
    /// Seconds an ON_HOLD order stays held.
    #[arg(long, default_value_t = 3600)]
    pub on_hold_secs: i64,
    /// An UNPAID order pays or lapses within this many seconds.
    #[arg(long, default_value_t = 30 * 60)]
    pub unpaid_resolve_secs: i64,
    /// A buyer cancellation (or address edit) lands within this many seconds after payment.
    #[arg(long, default_value_t = 2 * 3600)]
    pub cancel_window_secs: i64,
    /// Share of orders TikTok ships (TIKTOK shipping); the rest are SELLER shipped.
    #[arg(long, default_value_t = 0.7)]
    pub tiktok_shipping_share: f64,
    /// Loopback URL to push signed webhooks to.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// TikTok's webhook retry delays are divided by this.
    #[arg(long, default_value_t = 60.0)]
    pub webhook_time_compression: f64,
    /// Requests per second per API per (app, shop).
    #[arg(long, default_value_t = 50)]
    pub qps: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fault settings as JSON (same shape as `PUT /sandbox/admin/faults`).
    #[arg(long)]
    pub faults: Option<String>,
}

/// Turns the arguments into a config; also reports which credentials were generated.
pub fn config_from(args: &SandboxArgs) -> Result<(SandboxConfig, bool), SandboxError> {
    let mut c = SandboxConfig::with_seed(args.seed);
    let mut generated = false;
    let mut set = |slot: &mut String, v: &Option<String>| match v {
        Some(v) => *slot = v.clone(),
        None => generated = true,
    };
    set(&mut c.app_key, &args.app_key);
    set(&mut c.app_secret, &args.app_secret);
    set(&mut c.shop_cipher, &args.shop_cipher);
    set(&mut c.access_token, &args.access_token);
    set(&mut c.refresh_token, &args.refresh_token);
    c.initial_orders = args.orders;
    c.orders_per_minute = args.orders_per_minute;
    c.access_token_ttl_secs = args.token_ttl_secs;
    c.refresh_token_ttl_secs = args.refresh_token_ttl_secs;
    c.burst_probability = args.burst_probability;
    c.burst_size = args.burst_size;
    c.cancel_probability = args.cancel_probability;
    c.webhook_time_compression = args.webhook_time_compression;
    c.on_hold_secs = args.on_hold_secs;
    c.unpaid_resolve_secs = args.unpaid_resolve_secs;
    c.cancel_window_secs = args.cancel_window_secs;
    c.tiktok_shipping_share = args.tiktok_shipping_share;
    c.webhook_url = args.webhook_url.clone();
    c.rate_limit_qps = args.qps;
    if let Some(f) = &args.faults {
        c.faults = serde_json::from_str(f).map_err(|e| SandboxError::InvalidFault {
            field: "--faults".to_owned(),
            value: e.to_string(),
            expected: "json like PUT /sandbox/admin/faults",
        })?;
    }
    Ok((c, generated))
}

/// Runs until Ctrl-C. Prints the base URL, and the credentials when any were generated (the user
/// needs them; they are sandbox-only values).
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let (config, generated) = config_from(&args)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let handle = Sandbox::start(config, addr).await?;
    let c = handle.config();
    println!("tiktok sandbox listening on {}", handle.base_url());
    println!("  api base url:  {}", handle.base_url());
    println!("  auth base url: {}", handle.base_url());
    println!(
        "  admin:         {}/sandbox/admin/stats (loopback only)",
        handle.base_url()
    );
    if generated {
        println!("accepted credentials (sandbox only):");
        println!("  app_key       {}", c.app_key);
        println!("  app_secret    {}", c.app_secret);
        println!("  shop_cipher   {}", c.shop_cipher);
        println!("  access_token  {}", c.access_token);
        println!("  refresh_token {}", c.refresh_token);
    }
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn given_credentials_are_used_and_missing_ones_generated() {
        let cli = Cli::parse_from([
            "x",
            "--port",
            "1",
            "--app-key",
            "k1",
            "--faults",
            r#"{"default":{"error_rate":0.5}}"#,
        ]);
        let (c, generated) = config_from(&cli.args).expect("config");
        assert_eq!(c.app_key, "k1");
        assert!(generated, "secret etc. were generated");
        assert_eq!(c.faults.default.error_rate, 0.5);
        let defaults = SandboxConfig::with_seed(42);
        assert_eq!(
            (c.unpaid_resolve_secs, c.cancel_window_secs, c.tiktok_shipping_share),
            (defaults.unpaid_resolve_secs, defaults.cancel_window_secs, defaults.tiktok_shipping_share),
            "the flags keep the library's defaults"
        );
        let short = Cli::parse_from([
            "x",
            "--unpaid-resolve-secs",
            "3",
            "--cancel-window-secs",
            "4",
            "--tiktok-shipping-share",
            "1",
        ]);
        let (c, _) = config_from(&short.args).expect("config");
        assert_eq!((c.unpaid_resolve_secs, c.cancel_window_secs, c.tiktok_shipping_share), (3, 4, 1.0));
        let all = Cli::parse_from([
            "x",
            "--app-key",
            "k",
            "--app-secret",
            "s",
            "--shop-cipher",
            "c",
            "--access-token",
            "a",
            "--refresh-token",
            "r",
        ]);
        let (c, generated) = config_from(&all.args).expect("config");
        assert!(!generated);
        assert_eq!(
            (c.app_secret.as_str(), c.refresh_token.as_str()),
            ("s", "r")
        );
        let bad = Cli::parse_from(["x", "--faults", "{nope"]);
        assert!(config_from(&bad.args).is_err());
    }
}

//! `creatorflow-cli shop add|connect|list|remove`: connecting shops. Secrets come from the environment or
//! a prompt and go to the secret store; nothing here prints one.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use creatorflow_engine::store::{HandoverMethod, Shop};
use creatorflow_engine::{AddShop, AuthorizationRequest, Console};

use crate::prompt;
use crate::text::{cell, print_json};

#[derive(Subcommand, Debug)]
pub enum ShopCommand {
    /// Add a shop from its credentials (or update the shop of that name). Secrets are read from
    /// TIKTOK_APP_SECRET, TIKTOK_ACCESS_TOKEN and TIKTOK_REFRESH_TOKEN, or prompted for.
    Add(AddArgs),
    /// Connect shops with TikTok's OAuth code flow: prints the authorization link and waits for the
    /// redirect on 127.0.0.1 (or takes the code with --code, or pasted on the terminal).
    Connect(ConnectArgs),
    /// List the shops (never prints a secret).
    List {
        /// Print one JSON document (an array of shops).
        #[arg(long)]
        json: bool,
    },
    /// Remove a shop: its unfinished jobs are cancelled, its cached orders deleted, its secrets deleted.
    Remove {
        /// The shop's local name (see `shop list`).
        name: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Handover {
    Pickup,
    DropOff,
}

impl From<Handover> for HandoverMethod {
    fn from(h: Handover) -> Self {
        match h {
            Handover::Pickup => HandoverMethod::Pickup,
            Handover::DropOff => HandoverMethod::DropOff,
        }
    }
}

fn non_empty(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() { Err("must not be empty".into()) } else { Ok(t.to_owned()) }
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Local name of the shop (how the CLI and the console address it).
    #[arg(long, value_parser = non_empty)]
    name: String,
    /// The app key from TikTok Partner Center.
    #[arg(long, value_parser = non_empty)]
    app_key: String,
    /// The shop's cipher (`shop_cipher` of GET /authorization/202309/shops).
    #[arg(long, value_parser = non_empty)]
    shop_cipher: String,
    /// TikTok's shop id; looked up with the cipher (one API call) when not given.
    #[arg(long, value_parser = non_empty)]
    shop_id: Option<String>,
    /// API host (default: https://open-api.tiktokglobalshop.com; the sandbox: http://127.0.0.1:PORT).
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Auth host (default: https://auth.tiktok-shops.com; the sandbox: the same URL as --api-base).
    #[arg(long, value_name = "URL")]
    auth_base: Option<String>,
    /// How parcels reach the carrier (default PICKUP for a new shop; unchanged on update).
    #[arg(long, value_enum)]
    handover: Option<Handover>,
    /// Higher runs first (default 0 for a new shop; unchanged on update).
    #[arg(long, allow_hyphen_values = true)]
    priority: Option<i64>,
    /// Print one JSON document (the shop as stored).
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// The app key from TikTok Partner Center (the app secret comes from TIKTOK_APP_SECRET or a prompt).
    #[arg(long, value_parser = non_empty)]
    app_key: String,
    /// API host (default: TikTok's; the sandbox: http://127.0.0.1:PORT).
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Auth host (default: TikTok's; the sandbox: the same URL as --api-base).
    #[arg(long, value_name = "URL")]
    auth_base: Option<String>,
    /// TikTok's authorization page (default: https://services.tiktokshop.com/open/authorize, unverified;
    /// the sandbox's is http://127.0.0.1:PORT/sandbox/oauth/authorize).
    #[arg(long, value_name = "URL")]
    authorize_url: Option<String>,
    /// The authorization code (or the whole redirect URL), when the authorization already happened.
    #[arg(long)]
    code: Option<String>,
    /// How long to wait for the redirect.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout_secs: u64,
    /// Handover method of the shops stored (default PICKUP for a new shop; unchanged on update).
    #[arg(long, value_enum)]
    handover: Option<Handover>,
    /// Priority of the shops stored (default 0 for a new shop; unchanged on update).
    #[arg(long, allow_hyphen_values = true)]
    priority: Option<i64>,
    /// Print one JSON document (the shops stored) instead of lines.
    #[arg(long)]
    json: bool,
}

pub async fn run(console: &Console, cmd: &ShopCommand, actor: &str) -> anyhow::Result<()> {
    match cmd {
        ShopCommand::Add(a) => add(console, a, actor).await,
        ShopCommand::Connect(a) => connect(console, a, actor).await,
        ShopCommand::List { json } => list(console, *json).await,
        ShopCommand::Remove { name, json } => remove(console, name, actor, *json).await,
    }
}

async fn add(console: &Console, a: &AddArgs, actor: &str) -> anyhow::Result<()> {
    // Open the secret store before prompting: no point typing secrets that cannot be kept.
    console.connections()?;
    let req = AddShop {
        name: a.name.clone(),
        app_key: a.app_key.clone(),
        app_secret: prompt::secret("TIKTOK_APP_SECRET", "app secret")?,
        access_token: prompt::secret("TIKTOK_ACCESS_TOKEN", "access token")?,
        refresh_token: prompt::secret("TIKTOK_REFRESH_TOKEN", "refresh token")?,
        access_token_expire_in: None,
        refresh_token_expire_in: None,
        shop_cipher: a.shop_cipher.clone(),
        shop_id: a.shop_id.clone(),
        region: None,
        api_base: a.api_base.clone(),
        auth_base: a.auth_base.clone(),
        handover_method: a.handover.map(Into::into),
        priority: a.priority,
    };
    let shop = console.add_shop(req, actor).await?;
    if a.json {
        return print_json(&shop);
    }
    println!("saved shop {} (TikTok shop {}, region {})", shop.name, shop.tts_shop_id, region(&shop));
    Ok(())
}

fn region(shop: &Shop) -> &str {
    if shop.region.is_empty() { "unknown" } else { &shop.region }
}

async fn connect(console: &Console, a: &ConnectArgs, actor: &str) -> anyhow::Result<()> {
    console.connections()?;
    let req = AuthorizationRequest {
        app_key: a.app_key.clone(),
        app_secret: prompt::secret("TIKTOK_APP_SECRET", "app secret")?,
        api_base: a.api_base.clone(),
        auth_base: a.auth_base.clone(),
        authorize_url: a.authorize_url.clone(),
        listen: a.code.is_none(),
        handover_method: a.handover.map(Into::into),
        priority: a.priority,
    };
    let mut pending = console.begin_authorization(req).await?;
    let code = match &a.code {
        Some(c) => pending.code_from_pasted(c)?,
        None => {
            // The link and the wait go to stderr so `--json` keeps stdout one document.
            eprintln!("Open this link in a browser and authorize the app:\n\n  {}\n", pending.url());
            if let Some(r) = pending.redirect_uri() {
                eprintln!("Waiting up to {} s for the redirect to {r}", a.timeout_secs);
            }
            let timeout = Duration::from_secs(a.timeout_secs);
            if std::io::stdin().is_terminal() {
                eprintln!("(or paste the code, or the whole redirect URL, and press Enter)");
                let pasted = pasted_line();
                tokio::select! {
                    code = pending.wait_for_code(timeout) => code?,
                    line = pasted => pending.code_from_pasted(&line.context("reading the pasted code")?)?,
                }
            } else {
                pending.wait_for_code(timeout).await?
            }
        }
    };
    let shops = console.complete_authorization(pending, &code, actor).await?;
    if a.json {
        return print_json(&shops);
    }
    for s in &shops {
        println!("connected shop {} (TikTok shop {}, region {})", s.name, s.tts_shop_id, region(s));
    }
    Ok(())
}

/// One line from the terminal, read on a plain thread (a blocked stdin read must not keep the runtime
/// from shutting down when the redirect wins).
async fn pasted_line() -> anyhow::Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let r = std::io::stdin().read_line(&mut line).map(|_| line);
        let _ = tx.send(r);
    });
    Ok(rx.await.context("the terminal reader stopped")??)
}

async fn list(console: &Console, json: bool) -> anyhow::Result<()> {
    let shops = console.list_shops().await?;
    if json {
        return print_json(&shops);
    }
    if shops.is_empty() {
        println!("no shops yet: `creatorflow-cli shop add` or `shop connect` adds one");
        return Ok(());
    }
    println!(
        "{:<24} {:<20} {:<6} {:<9} {:>8} {:<13} API",
        "NAME", "SHOP ID", "REGION", "HANDOVER", "PRIORITY", "STATUS"
    );
    for s in &shops {
        let status = if s.paused { format!("{} paused", s.status) } else { s.status.to_string() };
        println!(
            "{:<24} {:<20} {:<6} {:<9} {:>8} {:<13} {}",
            cell(&s.name, 24),
            cell(&s.tts_shop_id, 20),
            cell(region(s), 6),
            s.handover_method,
            s.priority,
            status,
            s.api_base_url
        );
    }
    Ok(())
}

async fn remove(console: &Console, name: &str, actor: &str, json: bool) -> anyhow::Result<()> {
    let removed = console.remove_shop(name, actor).await?;
    if json {
        return print_json(&removed);
    }
    println!(
        "removed shop {}: {} cached orders deleted, {} unfinished jobs cancelled, {} reserved stock units released",
        removed.shop.name,
        removed.orders_deleted,
        removed.jobs_cancelled.len(),
        removed.units_released
    );
    Ok(())
}

//! `creatorflow-cli`: the headless face of CreatorFlow (no webkit is linked).
//!
//! Each subcommand parses its arguments, calls the engine, and prints; the work lives in the engine.

mod bench;
mod jobs;
mod orders;
mod pipeline;
mod prompt;
mod serve;
mod shop;
mod text;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use creatorflow_engine::{Console, ConsoleConfig, default_data_dir};

/// mimalloc instead of glibc's malloc: the pipeline allocates on every statement hand-off between
/// tokio and sqlx's SQLite threads, and glibc's arenas spent ~17 % of a bench run's CPU there
/// (BENCHMARKS.md, the pipeline section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "creatorflow-cli", version, about = "CreatorFlow Console, headless")]
struct Cli {
    /// Directory of the local database (default: the OS data dir, e.g. ~/.local/share/creatorflow).
    #[arg(long, global = true, env = "CREATORFLOW_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL instead of the data dir's SQLite file: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "CREATORFLOW_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    /// Who is acting, for the audit trail of job retries/discards and shop adds, connects and removals (default: the OS user).
    #[arg(long, global = true, env = "CREATORFLOW_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the database in use and job counts by queue, kind and state.
    Status {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sync every connected shop and work the order pipeline (validate, ship, label, confirm).
    Run(pipeline::RunArgs),
    /// One sync pass: fetch orders changed since the last sync into the local cache.
    Sync(pipeline::SyncArgs),
    /// The built-in demo: the sandbox shop in-process plus the pipeline, in a database of its own.
    Demo(pipeline::DemoArgs),
    /// The web console (HTTP + live stream + TikTok webhook receiver) on an address.
    Serve(serve::ServeArgs),
    /// Run the local TikTok Shop sandbox (a strict simulator of the Partner API) on loopback.
    Sandbox(tiktok_sandbox::cli::SandboxArgs),
    /// Connect, list and remove TikTok shops.
    #[command(subcommand)]
    Shop(shop::ShopCommand),
    /// Review cached orders (offline).
    #[command(subcommand)]
    Orders(orders::OrdersCommand),
    /// Triage jobs: list, show, retry, discard (recorded in the audit trail).
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Measure performance (figures go to BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

impl Cli {
    fn console_config(&self) -> anyhow::Result<ConsoleConfig> {
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir()?,
        };
        Ok(ConsoleConfig { data_dir, database_url: self.database.clone() })
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on bad arguments and prints why.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CREATORFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `: `-separated, skipping a cause whose text the message already holds
/// (several engine errors print their source inline).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Status { json } => status(&cli, *json).await,
        Command::Bench(cmd) => bench::run(cmd, cli.database.as_deref()).await,
        Command::Serve(args) => serve::serve(cli.console_config()?, args).await,
        Command::Sandbox(args) => Ok(tiktok_sandbox::cli::run(args.clone()).await?),
        Command::Run(args) => pipeline::run(&open(&cli).await?, args).await,
        Command::Sync(args) => pipeline::sync(&open(&cli).await?, args).await,
        Command::Demo(args) => pipeline::demo(cli.console_config()?, args).await,
        Command::Shop(cmd) => shop::run(&open(&cli).await?, cmd, &prompt::actor(cli.actor.as_deref())).await,
        Command::Orders(cmd) => orders::run(&open(&cli).await?, cmd, &prompt::actor(cli.actor.as_deref())).await,
        Command::Jobs(cmd) => jobs::run(&open(&cli).await?, cmd, &prompt::actor(cli.actor.as_deref())).await,
    }
}

async fn open(cli: &Cli) -> anyhow::Result<Console> {
    Ok(Console::open(cli.console_config()?).await?)
}

async fn status(cli: &Cli, json: bool) -> anyhow::Result<()> {
    let console = Console::open(cli.console_config()?).await?;
    let overview = console.overview().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&overview).context("encoding the overview")?);
        return Ok(());
    }
    println!("{} {}", overview.product, overview.version);
    println!("database: {}", overview.database);
    if overview.queues.is_empty() {
        println!("no jobs yet");
        return Ok(());
    }
    println!("{:<16} {:<24} {:<10} {:>10}", "QUEUE", "KIND", "STATE", "JOBS");
    for row in &overview.queues {
        println!("{:<16} {:<24} {:<10} {:>10}", row.queue, row.kind, row.state, row.count);
    }
    Ok(())
}

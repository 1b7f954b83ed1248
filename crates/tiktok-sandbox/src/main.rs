//! Standalone `tiktok-sandbox` binary: the same arguments `creatorflow-cli sandbox` flattens.
use clap::Parser;

#[derive(Parser)]
#[command(name = "tiktok-sandbox", about = "Run the local TikTok Shop sandbox")]
struct Cli {
    #[command(flatten)]
    args: tiktok_sandbox::cli::SandboxArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match tiktok_sandbox::cli::run(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tiktok-sandbox: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

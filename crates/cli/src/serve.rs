//! `serve`: the web console (crates/web) on an address, until Ctrl-C. Loopback by default; any other
//! address only with an access token. Like the desktop app it runs the pipeline in this process (the
//! built-in demo shop when no shop is connected) unless `--read-only`.

use std::net::SocketAddr;

use clap::Args;
use std::time::Duration;

use creatorflow_engine::{Console, ConsoleConfig, ServiceOptions};
use creatorflow_web::{Server, WEBHOOK_PATH};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --token.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// Access token (16+ URL-safe characters) every request must present; required off loopback.
    #[arg(long, env = "CREATORFLOW_WEB_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Only show the database: no pipeline in this process (e.g. beside headless `run` workers on
    /// PostgreSQL), and no demo shop.
    #[arg(long)]
    pub read_only: bool,
}

pub async fn serve(config: ConsoleConfig, args: &ServeArgs) -> anyhow::Result<()> {
    // The access rule first: an address refused without a token fails before any pipeline starts.
    creatorflow_web::Access::new(args.addr, args.token.clone())?;
    let console = if args.read_only {
        Console::open(config).await?
    } else {
        Console::launch(config, ServiceOptions { demo_when_no_shop: true, ..ServiceOptions::default() }).await?
    };
    if console.is_demo() {
        println!("serve: no shop is connected, so the built-in demo shop runs (its orders are simulated)");
    }
    let server = match Server::bind(console.clone(), args.addr, args.token.clone()).await {
        Ok(server) => server,
        Err(e) => {
            console.shutdown(Duration::from_secs(5)).await.ok();
            return Err(e.into());
        }
    };
    let addr = server.local_addr();
    println!("serve: CreatorFlow Console at {}", server.url());
    println!("serve: TikTok webhooks at http://{addr}{WEBHOOK_PATH} (put it behind your HTTPS endpoint)");
    // On Ctrl-C the pipeline stops first, which also ends every live stream: the server's graceful
    // shutdown waits for open requests, and an open dashboard's event stream never ends on its own.
    let stopping = console.clone();
    server
        .run(async move {
            let _ = tokio::signal::ctrl_c().await;
            if let Err(e) = stopping.shutdown(Duration::from_secs(10)).await {
                eprintln!("serve: the pipeline did not stop cleanly: {e}");
            }
        })
        .await?;
    eprintln!("serve: stopped");
    Ok(())
}

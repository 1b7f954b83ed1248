//! `serve`: the web console (crates/web) on an address, until Ctrl-C. Loopback by default; any other
//! address only with an access token.

use std::net::SocketAddr;

use clap::Args;
use creatorflow_engine::Console;
use creatorflow_web::{Server, WEBHOOK_PATH};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --token.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// Access token (16+ URL-safe characters) every request must present; required off loopback.
    #[arg(long, env = "CREATORFLOW_WEB_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub async fn serve(console: Console, args: &ServeArgs) -> anyhow::Result<()> {
    let server = Server::bind(console, args.addr, args.token.clone()).await?;
    let addr = server.local_addr();
    println!("serve: CreatorFlow Console at {}", server.url());
    println!("serve: TikTok webhooks at http://{addr}{WEBHOOK_PATH} (put it behind your HTTPS endpoint)");
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    eprintln!("serve: stopped");
    Ok(())
}

//! `creatorflow-cli bench ...`: the benchmarks whose figures BENCHMARKS.md records.

mod orders;
mod pipeline;
mod queue;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Throughput and pickup latency of the durable job queue.
    Queue(queue::QueueBench),
    /// The order pipeline end to end against the in-process sandbox (unthrottled, Black Friday, viral).
    Pipeline(pipeline::PipelineBench),
    /// Order review at scale: lookup by TikTok id, search as you type and deep keyset pages over N
    /// seeded orders (default 1,000,000); `--database` names the database (default: a temp SQLite file).
    Orders(orders::OrdersBench),
}

pub async fn run(cmd: &BenchCommand, database: Option<&str>) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Queue(args) => queue::run(args, database).await,
        BenchCommand::Pipeline(args) => pipeline::run(args).await,
        BenchCommand::Orders(args) => orders::run(args, database).await,
    }
}

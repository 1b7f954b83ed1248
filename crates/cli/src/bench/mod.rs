//! `creatorflow-cli bench ...`: the benchmarks whose figures BENCHMARKS.md records.

mod orders;
mod live;
mod pipeline;
mod queue;
mod triage;

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
    /// Failed-job triage at scale: group list, filtered job pages, detail, bulk preview and retry.
    Triage(triage::TriageBench),
    /// The live dashboard's cost: one `live_snapshot` build, and the CPU of idle dashboards streaming.
    Live(live::LiveBench),
}

pub async fn run(cmd: &BenchCommand, database: Option<&str>) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Queue(args) => queue::run(args, database).await,
        BenchCommand::Pipeline(args) => pipeline::run(args).await,
        BenchCommand::Orders(args) => orders::run(args, database).await,
        BenchCommand::Triage(args) => triage::run(args, database).await,
        BenchCommand::Live(args) => live::run(args).await,
    }
}

//! `creatorflow-cli bench ...`: the benchmarks whose figures BENCHMARKS.md records.

mod queue;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Throughput and pickup latency of the durable job queue.
    Queue(queue::QueueBench),
}

pub async fn run(cmd: &BenchCommand, database: Option<&str>) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Queue(args) => queue::run(args, database).await,
    }
}

//! `creatorflow-cli jobs list|show|retry|discard`: job triage for support staff. Every retry and discard
//! is recorded in the audit trail with the actor (`--actor`, default the OS user).

use clap::{ArgGroup, Args, Subcommand};
use creatorflow_engine::{Console, JobDetail, JobQuery};
use creatorflow_queue::{Job, JobState};

use crate::text::{cell, print_json, utc_ms};

fn state(s: &str) -> Result<JobState, String> {
    s.trim().to_ascii_lowercase().parse().map_err(|_| {
        let all: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown job state; use one of {}", all.join(", "))
    })
}

fn reason(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("say why the job is discarded".into())
    } else if t.chars().count() > 4096 {
        Err("at most 4096 characters".into())
    } else {
        Ok(t.to_owned())
    }
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// List jobs, ascending by id.
    List {
        /// Only jobs in this state (available, scheduled, running, retryable, completed, cancelled,
        /// discarded); repeat for several.
        #[arg(long = "state", value_name = "S", value_parser = state)]
        states: Vec<JobState>,
        /// Only jobs of this kind.
        #[arg(long, value_name = "K")]
        kind: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: u64,
        /// Jobs with an id above this one (the next page).
        #[arg(long, value_name = "ID")]
        after: Option<i64>,
        /// Print one JSON document (an array of jobs).
        #[arg(long)]
        json: bool,
    },
    /// Show one job: args, original args, every attempt with its error, and its audit history.
    Show {
        id: i64,
        /// Print one JSON document: {"job", "attempts", "audit"}.
        #[arg(long)]
        json: bool,
    },
    /// Run a job again now, or every failed job: all retryable jobs and all discarded ones except those
    /// a person discarded (retry those by id). Cancelled and completed jobs only by id.
    Retry(RetryArgs),
    /// Move an unfinished job to the dead-letter state `discarded`, with a reason.
    Discard {
        id: i64,
        /// Why (recorded on the job and in the audit trail).
        #[arg(long, value_parser = reason)]
        reason: String,
        /// Print one JSON document (the job).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "all_failed"])))]
pub struct RetryArgs {
    /// The job to retry.
    id: Option<i64>,
    /// Retry every failed job (see above).
    #[arg(long)]
    all_failed: bool,
    /// With --all-failed: only jobs of this kind.
    #[arg(long, value_name = "K", requires = "all_failed")]
    kind: Option<String>,
    /// Print one JSON document (the job; with --all-failed {"retried", "skipped", "audit_id"}).
    #[arg(long)]
    json: bool,
}

pub async fn run(console: &Console, cmd: &JobsCommand, actor: &str) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::List { states, kind, limit, after, json } => {
            let q = JobQuery {
                states: states.clone(),
                kind: kind.clone(),
                queue: None,
                after_id: *after,
                limit: Some(*limit),
            };
            let jobs = console.list_jobs(&q).await?;
            if *json {
                return print_json(&jobs);
            }
            print_list(&jobs);
            Ok(())
        }
        JobsCommand::Show { id, json } => {
            let d = console.show_job(*id).await?;
            if *json {
                return print_json(&d);
            }
            print_detail(&d)
        }
        JobsCommand::Retry(a) => {
            if let Some(id) = a.id {
                let job = console.retry_job(id, actor).await?;
                if a.json {
                    return print_json(&job);
                }
                println!("job {} is {} (attempt {} of {})", job.id, job.state, job.attempt, job.max_attempts);
                return Ok(());
            }
            let report = console.retry_all_failed(a.kind.as_deref(), actor).await?;
            if a.json {
                return print_json(&report);
            }
            println!("retried {} failed jobs", report.retried.len());
            for s in &report.skipped {
                println!("skipped job {}: {}", s.id, s.error);
            }
            Ok(())
        }
        JobsCommand::Discard { id, reason, json } => {
            let job = console.discard_job(*id, reason, actor).await?;
            if *json {
                return print_json(&job);
            }
            println!("job {} is {}: {}", job.id, job.state, reason);
            Ok(())
        }
    }
}

fn print_list(jobs: &[Job]) {
    if jobs.is_empty() {
        println!("no jobs match");
        return;
    }
    println!(
        "{:>8} {:<10} {:<20} {:<12} {:>7} {:<20} LAST ERROR",
        "ID", "STATE", "KIND", "QUEUE", "ATTEMPT", "SCHEDULED"
    );
    for j in jobs {
        let err = match (&j.last_error_kind, &j.last_error_message) {
            (Some(k), Some(m)) => format!("{k}: {m}"),
            (Some(k), None) => k.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => String::new(),
        };
        println!(
            "{:>8} {:<10} {:<20} {:<12} {:>7} {:<20} {}",
            j.id,
            j.state,
            cell(&j.kind, 20),
            cell(&j.queue, 12),
            format!("{}/{}", j.attempt, j.max_attempts),
            utc_ms(j.scheduled_at),
            cell(&err, 80)
        );
    }
    if let Some(last) = jobs.last() {
        println!("(next page: --after {})", last.id);
    }
}

fn print_detail(d: &JobDetail) -> anyhow::Result<()> {
    let j = &d.job;
    println!("job {} ({} on queue {})", j.id, j.kind, j.queue);
    println!("  state:         {}", j.state);
    println!("  attempt:       {} of {}", j.attempt, j.max_attempts);
    println!("  priority:      {}", j.priority);
    println!("  created:       {}", utc_ms(j.created_at));
    println!("  scheduled:     {}", utc_ms(j.scheduled_at));
    println!("  attempted:     {}", j.attempted_at.map_or_else(|| "-".to_owned(), utc_ms));
    println!("  finalized:     {}", j.finalized_at.map_or_else(|| "-".to_owned(), utc_ms));
    println!("  unique key:    {}", j.unique_key.as_deref().unwrap_or("-"));
    println!("  snoozes:       {}", j.snoozes);
    if let Some(k) = &j.last_error_kind {
        println!("  last error:    {k}: {}", j.last_error_message.as_deref().unwrap_or(""));
    }
    println!("args:\n{}", indent(&serde_json::to_string_pretty(&j.args)?));
    if let Some(orig) = &j.original_args {
        println!("original args:\n{}", indent(&serde_json::to_string_pretty(orig)?));
    }
    println!("attempts that did not complete ({}):", d.attempts.len());
    for a in &d.attempts {
        println!(
            "  #{:<3} {}  {:<11} {}: {}{}",
            a.attempt,
            utc_ms(a.finished_at),
            a.outcome,
            a.error_kind.as_deref().unwrap_or("-"),
            a.message.as_deref().unwrap_or(""),
            if a.retryable { "" } else { " (not retryable)" }
        );
    }
    println!("audit ({}):", d.audit.len());
    for e in &d.audit {
        println!(
            "  {}  {:<12} by {}{}",
            utc_ms(e.at),
            e.action,
            e.actor,
            e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
        );
    }
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

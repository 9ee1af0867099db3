//! `drover-bench`: Drover's benchmarks.
//!
//! Each subcommand measures one thing and a baseline in the same run, and
//! ends with one line:
//!
//! ```text
//! RESULT <name> <metric>=<value><unit> baseline=<value><unit> ratio=<value>
//! ```
//!
//! Plugin binaries are looked up next to this executable (build them in the
//! same profile: `cargo build --release --workspace --bins`).

mod jobspec_parse;
mod plugin_rpc;
mod raw_exec_start;
mod scheduler;
mod server_register;
mod stats;
mod submit_to_running;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "drover-bench",
    about = "Drover benchmarks; each prints a RESULT line with a same-run baseline"
)]
struct Cli {
    /// Directory holding the plugin binaries (default: next to drover-bench).
    #[arg(long, global = true, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Round trip of a cheap RPC to a plugin over its unix socket;
    /// baseline: a unix-socket echo round trip.
    PluginRpc {
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
    },
    /// StartTask of /bin/true through raw_exec until its exit is observed;
    /// baseline: spawn + wait of /bin/true.
    RawExecStart {
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Parse + canonicalize + validate a ~200-line HCL2 job file on one thread;
    /// baseline: serde_json of the same job's API JSON.
    JobspecParse {
        /// Seconds to run each side.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Placements/s of the pure scheduler on one core (one job x 10,000 on 5,000
    /// nodes, then 1,000 jobs x 10); baseline: the same placements on a single node.
    Scheduler {
        #[arg(long, default_value_t = 5000)]
        nodes: usize,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 1000)]
        jobs: usize,
        #[arg(long, default_value_t = 10)]
        per_job: usize,
    },
    /// A real `drover agent -dev`: raw_exec jobs registered one after another, each
    /// timed from registration until the API reports it running; baseline: spawning
    /// the same command. Also prints the idle agent's and plugin's RSS.
    SubmitToRunning {
        #[arg(long, default_value_t = 200)]
        jobs: usize,
    },
    /// Job registrations through one server on a tempdir until the plan is committed
    /// through Raft on disk: jobs/s and p99 register→placed; baseline: fsync latency.
    ServerRegister {
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        #[arg(long, default_value_t = 5000)]
        jobs: usize,
        /// Concurrent registering clients. Latency is queueing once the server is
        /// saturated (Little's law: 256 clients at 1,100 jobs/s wait ~230 ms on
        /// average), so the default is a load that saturates the server without
        /// building a queue; raise it to see the latency curve.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Scheduler workers (default: the number of cores).
        #[arg(long)]
        schedulers: Option<usize>,
    },
}

/// Where the plugin binary `name` is.
pub(crate) fn plugin_path(dir: Option<&PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    let dir = match dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .context("cannot find this executable")?
            .parent()
            .map(PathBuf::from)
            .context("this executable has no directory")?,
    };
    let path = dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} not found: build the plugins in the same profile (cargo build --release --workspace --bins) or pass --plugin-dir",
        path.display()
    );
    Ok(path)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::JobspecParse { seconds } = cli.command {
        return jobspec_parse::run(seconds);
    }
    if let Command::Scheduler {
        nodes,
        count,
        jobs,
        per_job,
    } = cli.command
    {
        return scheduler::run_bench(nodes, count, jobs, per_job);
    }
    // Server logs only on request: they would cost time in the measured path.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::PluginRpc { iterations } => {
                plugin_rpc::run(cli.plugin_dir.as_ref(), iterations).await
            }
            Command::RawExecStart { iterations } => {
                raw_exec_start::run(cli.plugin_dir.as_ref(), iterations).await
            }
            Command::SubmitToRunning { jobs } => {
                let drover = plugin_path(cli.plugin_dir.as_ref(), "drover")?;
                submit_to_running::run(drover, jobs).await
            }
            Command::ServerRegister {
                nodes,
                jobs,
                clients,
                schedulers,
            } => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                server_register::run(nodes, jobs, clients, schedulers.unwrap_or(cores)).await
            }
            Command::JobspecParse { .. } | Command::Scheduler { .. } => Ok(()),
        }
    })
}

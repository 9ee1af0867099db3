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

mod plugin_rpc;
mod raw_exec_start;
mod stats;

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
        }
    })
}

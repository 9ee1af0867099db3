//! Subcommands, one file each (`agent` in four: flags and config, the running agent,
//! the client-only agent, its log).

/// The value of an `Ok`, or return `Ok(code)` from the command on `Err(code)`: commands
/// answer errors with an exit code, after printing them (see [`fail`]).
macro_rules! or_exit {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(code),
        }
    };
}

mod agent;
mod agent_client_only;
mod agent_log;
mod agent_run;
mod alloc_exec;
mod alloc_exec_term;
mod alloc_logs;
mod alloc_restart;
mod alloc_signal;
pub(crate) mod alloc_status;
mod alloc_stop;
mod config_validate;
pub(crate) mod eval_status;
mod job_inspect;
pub(crate) mod job_plan;
mod job_run;
mod job_source;
pub(crate) mod job_status;
mod job_stop;
mod job_validate;
pub(crate) mod node_status;
pub(crate) mod operator_raft_list_peers;
mod plugin_conformance;
mod plugin_info;
pub(crate) mod server_members;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Drover: a workload orchestrator that speaks Nomad's job files, agent
/// configuration and /v1 API, with task drivers as plugin processes.
#[derive(Debug, Parser)]
#[command(name = "drover", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent (server; the client is not built yet). `-dev` for a local one.
    Agent(agent::Args),
    /// Inspect and check plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Check agent configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run, inspect and stop jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Show evaluations.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Inspect and act on allocations: status, exec, logs, restart, signal, stop.
    #[command(subcommand)]
    Alloc(AllocCommand),
    /// Show client nodes.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Show the servers.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Cluster operations.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// List jobs, or show the job, node or evaluation an ID names.
    Status(status::Args),
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Show an evaluation and why its placements failed.
    Status(eval_status::Args),
}

#[derive(Debug, Subcommand)]
enum AllocCommand {
    /// Show an allocation and its tasks' states and recent events.
    Status(alloc_status::Args),
    /// Run a command inside a running task, connected to this terminal.
    Exec(alloc_exec::Args),
    /// Print a task's stdout or stderr (-f to follow, -tail/-n/-c for the end).
    Logs(alloc_logs::Args),
    /// Restart a task, or every task, of an allocation in place.
    Restart(alloc_restart::Args),
    /// Send a signal to a task, or every task, of an allocation.
    Signal(alloc_signal::Args),
    /// Stop an allocation (the scheduler replaces it) and monitor the evaluation.
    Stop(alloc_stop::Args),
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// List nodes, or show one node.
    Status(node_status::StatusArgs),
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// List the servers and the leader.
    Members(server_members::Args),
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Raft operations.
    #[command(subcommand)]
    Raft(RaftCommand),
}

#[derive(Debug, Subcommand)]
enum RaftCommand {
    /// List the raft peers.
    ListPeers(operator_raft_list_peers::Args),
}

#[derive(Debug, Subcommand)]
enum JobCommand {
    /// Validate a job file (HCL2 or JSON); exit 1 with every error located.
    Validate(job_validate::Args),
    /// Print a job file as canonical Nomad API JSON ({"Job": {...}}).
    Inspect(job_inspect::Args),
    /// Register a job and monitor its evaluation (exit 2 on placement failures).
    Run(job_run::Args),
    /// Dry-run a job: diff and scheduler annotations (exit 1 when it changes allocations).
    Plan(job_plan::Args),
    /// List jobs, or show one job's summary and allocations.
    Status(job_status::Args),
    /// Stop (or -purge) a job and monitor the evaluation.
    Stop(job_stop::Args),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate agent configuration files or directories; exit 1 with every error.
    Validate(config_validate::Args),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Launch a plugin and show its identity, capabilities, health and schemas.
    Info(plugin_info::Args),
    /// Run the conformance suite against a driver plugin binary.
    Conformance(plugin_conformance::Args),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // The agent installs its own logging (log_level, log_json, log_file).
    if !matches!(cli.command, Command::Agent(_)) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("DROVER_LOG")
                    .unwrap_or_else(|_| "error".into()),
            )
            .with_writer(std::io::stderr)
            .try_init();
    }
    match cli.command {
        Command::Agent(a) => agent::run(a).await,
        Command::Plugin(PluginCommand::Info(a)) => plugin_info::run(a).await,
        Command::Plugin(PluginCommand::Conformance(a)) => plugin_conformance::run(a).await,
        Command::Config(ConfigCommand::Validate(a)) => config_validate::run(a).await,
        Command::Job(JobCommand::Validate(a)) => job_validate::run(a),
        Command::Job(JobCommand::Inspect(a)) => job_inspect::run(a),
        Command::Job(JobCommand::Run(a)) => job_run::run(a).await,
        Command::Job(JobCommand::Plan(a)) => job_plan::run(a).await,
        Command::Job(JobCommand::Status(a)) => job_status::run(a).await,
        Command::Job(JobCommand::Stop(a)) => job_stop::run(a).await,
        Command::Eval(EvalCommand::Status(a)) => eval_status::run(a).await,
        Command::Alloc(AllocCommand::Status(a)) => alloc_status::run(a).await,
        Command::Alloc(AllocCommand::Exec(a)) => alloc_exec::run(a).await,
        Command::Alloc(AllocCommand::Logs(a)) => alloc_logs::run(a).await,
        Command::Alloc(AllocCommand::Restart(a)) => alloc_restart::run(a).await,
        Command::Alloc(AllocCommand::Signal(a)) => alloc_signal::run(a).await,
        Command::Alloc(AllocCommand::Stop(a)) => alloc_stop::run(a).await,
        Command::Node(NodeCommand::Status(a)) => node_status::run_status(a).await,
        Command::Server(ServerCommand::Members(a)) => server_members::run(a).await,
        Command::Operator(OperatorCommand::Raft(RaftCommand::ListPeers(a))) => {
            operator_raft_list_peers::run(a).await
        }
        Command::Status(a) => status::run(a).await,
    }
}

/// Read a plugin config file (HCL, the body of `config { ... }`) into JSON.
pub(crate) fn read_plugin_config(
    path: Option<&std::path::Path>,
) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let Some(path) = path else {
        return Ok(serde_json::json!({}));
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    drover_plugin_sdk::testing::config_from_hcl(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The HTTP API client for `api`, or the exit code after Nomad's "Error initializing
/// client" message.
pub(crate) fn api_client(api: &crate::api::ApiArgs) -> Result<crate::api::Client, ExitCode> {
    api.client()
        .map_err(|e| fail(format!("Error initializing client: {e}")))
}

/// Print `msg` on stderr and give exit code 1, as Nomad's commands do on error.
pub(crate) fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::FAILURE
}

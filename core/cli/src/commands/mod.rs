//! Subcommands, one file each.

mod plugin_conformance;
mod plugin_info;

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
    /// Inspect and check plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Launch a plugin and show its identity, capabilities, health and schemas.
    Info(plugin_info::Args),
    /// Run the conformance suite against a driver plugin binary.
    Conformance(plugin_conformance::Args),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DROVER_LOG")
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    match cli.command {
        Command::Plugin(PluginCommand::Info(a)) => plugin_info::run(a).await,
        Command::Plugin(PluginCommand::Conformance(a)) => plugin_conformance::run(a).await,
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

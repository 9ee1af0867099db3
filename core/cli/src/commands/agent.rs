//! `drover agent`: load the agent configuration (`-config` files and directories,
//! then the command-line flags, on top of `-dev`'s defaults), start the server with
//! Raft on `bind_addr:ports.serf` (4648), serve the `/v1` API on
//! `bind_addr:ports.http` (4646) over it, and shut both down gracefully on SIGINT or
//! SIGTERM (a second signal exits at once).
//!
//! The client (node registration, running tasks) is not built yet: with the client
//! block enabled the agent says so once and runs the server only; jobs are accepted
//! and scheduled, and stay queued until a node exists.
//!
//! Ports: the test suite and anyone who needs free ports write a config file with
//! `ports { http = N  serf = M }`; the banner prints the addresses actually bound.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use drover_agent::AgentConfig;
use drover_agent::http::{ClientApi, HttpOptions, router_with, serve};
use drover_agent::{AgentInfo, ServerBackend};
use drover_hcl::{Format, Source};
use serde_json::{Map, Value, json};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::agent_log;

/// Nomad's `nomad agent` flags (reference §1.10), the subset Drover uses.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// A configuration file or directory (`*.hcl`, `*.json`); repeatable, later wins.
    #[arg(long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    /// Development mode: server and client in one process, loopback addresses, a
    /// temporary data dir removed on exit.
    #[arg(long)]
    dev: bool,
    /// The data directory (absolute).
    #[arg(long = "data-dir", value_name = "PATH")]
    data_dir: Option<String>,
    /// The address to bind every listener to.
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// TRACE, DEBUG, INFO, WARN, ERROR or OFF.
    #[arg(long = "log-level", value_name = "LEVEL")]
    log_level: Option<String>,
    /// Enable the server.
    #[arg(long)]
    server: bool,
    /// Enable the client (not available in this build yet).
    #[arg(long)]
    client: bool,
    /// How many servers to wait for before bootstrapping.
    #[arg(long = "bootstrap-expect", value_name = "N")]
    bootstrap_expect: Option<u32>,
    /// The region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The datacenter.
    #[arg(long, value_name = "DC")]
    dc: Option<String>,
    /// The node name.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
}

impl Args {
    /// The flags as one more configuration source, merged last (flags win).
    fn as_source(&self) -> Option<Source> {
        let mut top = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                top.insert(k.to_owned(), v);
            }
        };
        put("data_dir", self.data_dir.clone().map(Value::from));
        put("bind_addr", self.bind.clone().map(Value::from));
        put("log_level", self.log_level.clone().map(Value::from));
        put("region", self.region.clone().map(Value::from));
        put("datacenter", self.dc.clone().map(Value::from));
        put("name", self.node.clone().map(Value::from));
        let mut server = Map::new();
        if self.server {
            server.insert("enabled".into(), true.into());
        }
        if let Some(n) = self.bootstrap_expect {
            server.insert("bootstrap_expect".into(), n.into());
        }
        if !server.is_empty() {
            top.insert("server".into(), Value::Object(server));
        }
        if self.client {
            top.insert("client".into(), json!({"enabled": true}));
        }
        (!top.is_empty()).then(|| {
            Source::with_format(
                "command-line flags",
                Value::Object(top).to_string(),
                Format::Json,
            )
        })
    }
}

/// Loads and validates the configuration; the diagnostics name file, line and key.
fn load(a: &Args) -> Result<AgentConfig, String> {
    let files = drover_agent::config::config_files(&a.config).map_err(|d| d.to_string())?;
    let mut sources = Vec::new();
    for f in &files {
        sources.push(Source::read(f).map_err(|d| d.to_string())?);
    }
    sources.extend(a.as_source());
    drover_agent::config::load_sources(&sources, a.dev).map_err(|d| d.to_string())
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = match load(&a) {
        Ok(c) => c,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            eprintln!("==> Error loading the agent configuration");
            return Ok(ExitCode::FAILURE);
        }
    };
    if !config.server.enabled && !config.client.enabled {
        eprintln!(
            "==> Neither the server nor the client is enabled: nothing to run. Enable \
             one (`server {{ enabled = true }}` / `client {{ enabled = true }}`, -server, \
             -client) or use -dev."
        );
        return Ok(ExitCode::FAILURE);
    }
    if !config.server.enabled && config.client.servers.is_empty() {
        eprintln!(
            "==> client.servers is empty: a client-only agent needs the servers' RPC \
             addresses (e.g. servers = [\"10.0.0.1:4647\"]); server_join is not \
             supported yet"
        );
        return Ok(ExitCode::FAILURE);
    }
    if config.server.enabled && config.server.bootstrap_expect != 1 {
        eprintln!(
            "==> server.bootstrap_expect = {}: joining several servers is not built yet; \
             set bootstrap_expect = 1 (or -bootstrap-expect=1) to run a single server",
            config.server.bootstrap_expect
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "==> Starting Drover agent{}...",
        if config.dev_mode { " in dev mode" } else { "" }
    );
    let gate = agent_log::init(&config.log)?;
    for block in &config.ignored_blocks {
        tracing::warn!(block = %block, "configuration block accepted but not used by drover");
    }
    if config.server.enabled {
        super::agent_run::run(config, gate).await
    } else {
        super::agent_client_only::run(config, gate).await
    }
}

/// The HTTP listener and the backend, once the server runs.
pub(super) async fn serve_http(
    addr: &str,
    backend: ServerBackend,
    client: Option<Arc<dyn ClientApi>>,
    stop: CancellationToken,
) -> anyhow::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let listener = drover_server::listen(addr)
        .await
        .with_context(|| format!("bind the HTTP API to {addr}"))?;
    let bound = listener.local_addr().context("HTTP listener address")?;
    let opts = HttpOptions {
        client: client.clone(),
        ..HttpOptions::default()
    };
    let backend: Arc<dyn drover_agent::http::Backend> = Arc::new(backend);
    // Client routes for allocations on other nodes go to those nodes' agents.
    let router = drover_agent::forward::client_routes_layer(
        router_with(backend.clone(), opts),
        backend,
        client,
        bound.to_string(),
    );
    let task = tokio::spawn(serve(listener, router, stop));
    Ok((bound, task))
}

/// Resolves at the first SIGINT or SIGTERM, with its name.
pub(super) async fn first_signal() -> anyhow::Result<&'static str> {
    let mut int = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
    Ok(tokio::select! {
        _ = int.recv() => "interrupt",
        _ = term.recv() => "terminated",
    })
}

/// The agent info the API reports.
pub(super) fn agent_info(config: &AgentConfig, http: Option<String>) -> AgentInfo {
    AgentInfo {
        bootstrap_expect: config.server.bootstrap_expect,
        client_enabled: config.client.enabled,
        http_addr: http,
        client_node_id: Default::default(),
    }
}

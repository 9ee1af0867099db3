//! The running agent: data dir (a temporary one in `-dev`, removed on exit), the
//! server, the HTTP API over it, the startup banner, and the graceful shutdown (stop
//! HTTP so blocking queries answer, then the server, awaiting both).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use drover_agent::AgentConfig;
use drover_agent::http::ClientApi;
use drover_agent::{ClientSlot, ServerBackend};
use drover_client::Client;
use drover_client::grpc::GrpcServers;
use drover_server::{HeartbeatConfig, Server, ServerConfig};
use tokio_util::sync::CancellationToken;

use super::agent::{agent_info, first_signal, serve_http};
use super::agent_log::Gate;

/// How long each part may take to stop before the agent gives up on it.
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// `host:port`, bracketing IPv6 hosts.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// An advertise address, with `port` added when it has none.
fn with_port(addr: &str, port: u16) -> String {
    let has_port = addr
        .rsplit_once(':')
        .is_some_and(|(h, p)| p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')));
    if has_port {
        addr.to_owned()
    } else {
        host_port(addr, port)
    }
}

/// Where others reach a listener bound to `bind` on `port` when no advertise address
/// is configured: the bind address itself, or, bound to every interface, this host's
/// address (Nomad advertises its private IP then). `None` keeps the bound address.
fn default_advertise(bind: &str, port: u16) -> Option<String> {
    let ip: std::net::IpAddr = bind.trim_matches(['[', ']']).parse().ok()?;
    if !ip.is_unspecified() {
        return None;
    }
    let host = drover_client::fingerprint::host::host_address()?;
    Some(std::net::SocketAddr::new(host, port).to_string())
}

/// Where the HTTP API binds: `addresses.http`, else `bind_addr`, on `ports.http`.
pub(super) fn http_bind(c: &AgentConfig) -> String {
    host_port(
        c.addresses.http.as_deref().unwrap_or(&c.bind_addr),
        c.ports.http,
    )
}

/// A cluster listener's bind address (`addr`, else `bind_addr`, on `port`) and its
/// advertise address (`advertise` with `port` added, else [`default_advertise`]).
fn listener_addrs(
    c: &AgentConfig,
    addr: Option<&str>,
    advertise: Option<&str>,
    port: u16,
) -> (String, Option<String>) {
    let bind = addr.unwrap_or(&c.bind_addr);
    let adv = advertise
        .map(|a| with_port(a, port))
        .or_else(|| default_advertise(bind, port));
    (host_port(bind, port), adv)
}

/// The HTTP address clients forward API requests to: `advertise.http`, else the bound
/// address, or this host's address when bound to every interface.
pub(super) fn http_advertise(c: &AgentConfig, bound: std::net::SocketAddr) -> String {
    if let Some(a) = c.advertise.http.as_deref() {
        return with_port(a, bound.port());
    }
    default_advertise(&bound.ip().to_string(), bound.port()).unwrap_or_else(|| bound.to_string())
}

/// The server's settings from the agent's.
fn server_config(c: &AgentConfig, data_dir: PathBuf) -> ServerConfig {
    let mut s = ServerConfig::new(data_dir);
    s.node_name = c.name.clone();
    s.region = c.region.clone();
    s.datacenter = c.datacenter.clone();
    (s.raft_bind, s.raft_advertise) = listener_addrs(
        c,
        c.addresses.serf.as_deref(),
        c.advertise.serf.as_deref(),
        c.ports.serf,
    );
    (s.rpc_bind, s.rpc_advertise) = listener_addrs(
        c,
        c.addresses.rpc.as_deref(),
        c.advertise.rpc.as_deref(),
        c.ports.rpc,
    );
    if let Some(n) = c.server.num_schedulers {
        s.num_schedulers = (n as usize).max(1);
    }
    let enabled: Vec<String> = c
        .server
        .enabled_schedulers
        .iter()
        .filter(|t| !t.starts_with('_'))
        .cloned()
        .collect();
    if !enabled.is_empty() {
        s.enabled_schedulers = enabled;
    }
    s.heartbeat = HeartbeatConfig {
        min_ttl: c.server.min_heartbeat_ttl,
        max_per_second: c.server.max_heartbeats_per_second,
        grace: c.server.heartbeat_grace,
        failover_ttl: c.server.failover_heartbeat_ttl,
    };
    if let Some(n) = c.server.raft_snapshot_threshold {
        s.snapshot_threshold = n.max(1);
    }
    s
}

/// The addresses the banner shows.
struct Addrs<'a> {
    http: &'a str,
    rpc: &'a str,
    raft: &'a str,
}

fn banner(
    c: &AgentConfig,
    a: &Addrs<'_>,
    bind: &Addrs<'_>,
    node_id: &str,
    data_dir: &str,
    temporary: bool,
) -> String {
    let Addrs { http, rpc, raft } = a;
    let rows = [
        (
            "Advertise Addrs",
            format!("HTTP: {http}; RPC: {rpc}; Serf: {raft}"),
        ),
        (
            "Bind Addrs",
            format!(
                "HTTP: [{}]; RPC: {}; Serf: {}",
                bind.http, bind.rpc, bind.raft
            ),
        ),
        ("Client", c.client.enabled.to_string()),
        (
            "Data Dir",
            format!("{data_dir}{}", if temporary { " (temporary)" } else { "" }),
        ),
        ("Log Level", format!("{:?}", c.log.level).to_uppercase()),
        ("Node Id", node_id.to_owned()),
        ("Region", format!("{} (DC: {})", c.region, c.datacenter)),
        (
            "Server",
            format!("true (bootstrap: {})", c.server.bootstrap_expect == 1),
        ),
        ("Version", env!("CARGO_PKG_VERSION").to_owned()),
    ];
    render_banner(&rows)
}

/// Nomad's startup banner: the configuration rows, then the "started" line.
pub(super) fn render_banner(rows: &[(&str, String)]) -> String {
    let mut out = String::from("==> Drover agent configuration:\n\n");
    for (k, v) in rows {
        out.push_str(&format!("{k:>22}: {v}\n"));
    }
    out.push_str("\n==> Drover agent started! Log data will stream in below:\n");
    out
}

/// The agent's data dir: `data_dir`, or a temporary one (removed when the guard drops)
/// named `<prefix>XXXX` for agents started without one (dev mode).
pub(super) fn data_dir(
    config: &AgentConfig,
    prefix: &str,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    Ok(match &config.data_dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .context("create a temporary data dir")?;
            (t.path().to_path_buf(), Some(t))
        }
    })
}

/// Starts the client, talking to `servers` over the cluster RPC.
pub(super) async fn start_client(
    config: &AgentConfig,
    data_dir: &Path,
    http_addr: &str,
    servers: Vec<String>,
) -> anyhow::Result<Client> {
    let exe = std::env::current_exe().context("locate the drover executable")?;
    let cfg = drover_agent::client_config(config, data_dir, http_addr, &exe);
    if !cfg.drivers.iter().any(|d| d.name == "raw_exec") {
        tracing::warn!(
            dirs = ?exe.parent(),
            "no driver plugins found next to the drover executable or in plugin_dir; \
             build them with `cargo build --bins`"
        );
    }
    let rpc = GrpcServers::new(servers).map_err(|e| anyhow::anyhow!("client.servers: {e}"))?;
    Client::start(cfg, Arc::new(rpc))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn run(config: AgentConfig, gate: Gate) -> anyhow::Result<ExitCode> {
    let (data_dir, temp) = data_dir(&config, "drover-dev-")?;
    if config.server.data_dir.is_some() {
        tracing::warn!(
            "server.data_dir is not supported yet: the server keeps its state in {}",
            data_dir.join("server").display()
        );
    }
    let server_stop = CancellationToken::new();
    let server_cfg = server_config(&config, data_dir.clone());
    let (rpc_bind, raft_bind) = (server_cfg.rpc_bind.clone(), server_cfg.raft_bind.clone());
    let (server, server_done) = match Server::start(server_cfg, server_stop.clone()).await {
        Ok(s) => s,
        Err(e) => {
            gate.open();
            eprintln!("==> Error starting the server: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let http_bind = http_bind(&config);
    let http_stop = CancellationToken::new();
    let info = agent_info(&config, None);
    let node_id_slot = info.client_node_id.clone();
    let backend = ServerBackend::new(server.clone(), info);
    let client_slot = ClientSlot::new();
    let client_api: Option<Arc<dyn ClientApi>> = config
        .client
        .enabled
        .then(|| Arc::new(client_slot.clone()) as Arc<dyn ClientApi>);
    let (http_addr, http_task) =
        match serve_http(&http_bind, backend, client_api, http_stop.clone()).await {
            Ok(ok) => ok,
            Err(e) => {
                gate.open();
                eprintln!("==> Error starting the agent: {e:#}");
                server_stop.cancel();
                let _ = tokio::time::timeout(STOP_TIMEOUT, server_done).await;
                return Ok(ExitCode::FAILURE);
            }
        };
    let http_advertised = http_advertise(&config, http_addr);
    server.set_http_addr(http_advertised.clone());
    let client = if config.client.enabled {
        // Like Nomad, a client in an agent that also runs a server talks to that server
        // first (the seed config lists the machine's own public address in `servers`);
        // the configured servers are the fallback.
        let mut servers = vec![server.rpc_addr().to_owned()];
        servers.extend(config.client.servers.iter().cloned());
        match start_client(&config, &data_dir, &http_advertised, servers).await {
            Ok(c) => {
                client_slot.set(c.clone());
                let _ = node_id_slot.set(c.node_id().to_owned());
                Some(c)
            }
            Err(e) => {
                gate.open();
                eprintln!("==> Error starting the client: {e:#}");
                http_stop.cancel();
                server_stop.cancel();
                let _ = tokio::time::timeout(STOP_TIMEOUT, http_task).await;
                let _ = tokio::time::timeout(STOP_TIMEOUT, server_done).await;
                return Ok(ExitCode::FAILURE);
            }
        }
    } else {
        None
    };
    print!(
        "{}",
        banner(
            &config,
            &Addrs {
                http: &http_advertised,
                rpc: server.rpc_addr(),
                raft: server.raft_addr(),
            },
            &Addrs {
                http: &http_addr.to_string(),
                rpc: &rpc_bind,
                raft: &raft_bind,
            },
            client.as_ref().map_or("", |c| c.node_id()),
            &data_dir.display().to_string(),
            temp.is_some()
        )
    );
    gate.open();
    tracing::info!(http = %http_addr, raft = %server.raft_addr(), "agent started");

    let sig = first_signal().await?;
    println!("==> Caught signal: {sig}");
    println!("==> Gracefully shutting down agent...");
    tokio::spawn(async {
        if first_signal().await.is_ok() {
            eprintln!("==> Second signal received: exiting now");
            std::process::exit(1);
        }
    });
    let mut clean = true;
    if let Some(c) = &client {
        c.shutdown().await;
    }
    http_stop.cancel();
    match tokio::time::timeout(STOP_TIMEOUT, http_task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "HTTP API stopped with an error");
            clean = false;
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "HTTP API task failed");
            clean = false;
        }
        Err(_) => {
            tracing::error!("HTTP API did not stop within {STOP_TIMEOUT:?}");
            clean = false;
        }
    }
    server_stop.cancel();
    match tokio::time::timeout(STOP_TIMEOUT, server_done).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "server task failed");
            clean = false;
        }
        Err(_) => {
            tracing::error!("server did not stop within {STOP_TIMEOUT:?}");
            clean = false;
        }
    }
    drop(server);
    if let Some(t) = temp {
        let path = t.path().display().to_string();
        if let Err(e) = t.close() {
            tracing::warn!(error = %e, "could not remove the dev data dir {path}");
        }
    }
    tracing::info!("agent stopped");
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(host_port("127.0.0.1", 4646), "127.0.0.1:4646");
        assert_eq!(host_port("::1", 4646), "[::1]:4646");
        assert_eq!(with_port("10.0.0.1", 4648), "10.0.0.1:4648");
        assert_eq!(with_port("10.0.0.1:5000", 4648), "10.0.0.1:5000");
        assert_eq!(with_port("[::1]:5000", 4648), "[::1]:5000");
    }

    #[test]
    fn an_agent_bound_to_every_interface_advertises_this_hosts_address() {
        assert_eq!(default_advertise("127.0.0.1", 4647), None);
        assert_eq!(default_advertise("10.1.41.221", 4647), None);
        let Some(host) = drover_client::fingerprint::host::host_address() else {
            eprintln!("skipped: this machine has no non-loopback address");
            return;
        };
        let want = std::net::SocketAddr::new(host, 4647).to_string();
        assert_eq!(default_advertise("0.0.0.0", 4647), Some(want.clone()));
        assert_eq!(default_advertise("[::]", 4647), Some(want));
        let mut c = AgentConfig::dev();
        c.bind_addr = "0.0.0.0".into();
        let s = server_config(&c, PathBuf::from("/tmp/x"));
        assert_eq!(s.rpc_bind, "0.0.0.0:4647");
        assert_eq!(
            s.rpc_advertise,
            Some(std::net::SocketAddr::new(host, 4647).to_string())
        );
        c.advertise.rpc = Some("10.9.9.9".into());
        let s = server_config(&c, PathBuf::from("/tmp/x"));
        assert_eq!(s.rpc_advertise.as_deref(), Some("10.9.9.9:4647"));
    }

    #[test]
    fn dev_maps_to_a_single_loopback_server() {
        let c = AgentConfig::dev();
        let s = server_config(&c, PathBuf::from("/tmp/x"));
        assert_eq!(s.raft_bind, "127.0.0.1:4648");
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        assert!(s.validate().is_ok());
        let b = banner(
            &c,
            &Addrs {
                http: "127.0.0.1:4646",
                rpc: "127.0.0.1:4647",
                raft: "127.0.0.1:4648",
            },
            &Addrs {
                http: "127.0.0.1:4646",
                rpc: "127.0.0.1:4647",
                raft: "127.0.0.1:4648",
            },
            "9d5741c1-3899-498a-98dd-eb3c05665863",
            "/tmp/x",
            true,
        );
        assert!(b.starts_with("==> Drover agent configuration:\n\n"), "{b}");
        assert!(
            b.contains("\n                Region: global (DC: dc1)\n"),
            "{b}"
        );
        assert!(b.contains("                Client: true\n"), "{b}");
        assert!(b.contains("RPC: 127.0.0.1:4647"), "{b}");
        assert!(b.ends_with("==> Drover agent started! Log data will stream in below:\n"));
    }
}

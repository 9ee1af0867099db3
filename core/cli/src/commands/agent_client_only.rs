//! A client-only agent: the client, talking to `client.servers` over the cluster RPC,
//! and the HTTP API of its own routes (`drover_agent::client_agent_router`).

use std::process::ExitCode;
use std::sync::Arc;

use drover_agent::http::{ClientApi, serve};
use drover_agent::{AgentConfig, ClientAgentInfo, ClientSlot, client_agent_router};
use tokio_util::sync::CancellationToken;

use super::agent::first_signal;
use super::agent_log::Gate;
use super::agent_run::{
    STOP_TIMEOUT, data_dir, http_advertise, http_bind, render_banner, start_client,
};

pub async fn run(config: AgentConfig, gate: Gate) -> anyhow::Result<ExitCode> {
    let (data_dir, temp) = data_dir(&config, "drover-client-")?;
    let bind = http_bind(&config);
    let listener = match drover_server::listen(&bind).await {
        Ok(l) => l,
        Err(e) => {
            gate.open();
            eprintln!("==> Error starting the agent: bind the HTTP API to {bind}: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let bound = listener.local_addr()?;
    // What the servers record as the node's HTTP address (they forward its
    // allocations' client routes there).
    let http_addr = http_advertise(&config, bound);
    let slot = ClientSlot::new();
    let info = ClientAgentInfo {
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        node_name: config.name.clone(),
        servers: config.client.servers.clone(),
        http_addr: Some(http_addr.clone()),
        node_id: Default::default(),
    };
    let node_id = info.node_id.clone();
    let router = client_agent_router(info, Arc::new(slot.clone()) as Arc<dyn ClientApi>);
    let http_stop = CancellationToken::new();
    let http_task = tokio::spawn(serve(listener, router, http_stop.clone()));
    let client = match start_client(
        &config,
        &data_dir,
        &http_addr,
        config.client.servers.clone(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            gate.open();
            eprintln!("==> Error starting the client: {e:#}");
            http_stop.cancel();
            let _ = tokio::time::timeout(STOP_TIMEOUT, http_task).await;
            return Ok(ExitCode::FAILURE);
        }
    };
    slot.set(client.clone());
    let _ = node_id.set(client.node_id().to_owned());
    let rows = [
        ("Advertise Addrs", format!("HTTP: {http_addr}")),
        ("Bind Addrs", format!("HTTP: [{bound}]")),
        ("Client", "true".to_owned()),
        (
            "Data Dir",
            format!(
                "{}{}",
                data_dir.display(),
                if temp.is_some() { " (temporary)" } else { "" }
            ),
        ),
        ("Node Id", client.node_id().to_owned()),
        (
            "Region",
            format!("{} (DC: {})", config.region, config.datacenter),
        ),
        ("Server", "false".to_owned()),
        ("Servers", config.client.servers.join(", ")),
        ("Version", env!("CARGO_PKG_VERSION").to_owned()),
    ];
    print!("{}", render_banner(&rows));
    gate.open();
    tracing::info!(http = %http_addr, servers = ?config.client.servers, "client agent started");

    let sig = first_signal().await?;
    println!("==> Caught signal: {sig}");
    println!("==> Gracefully shutting down agent...");
    client.shutdown().await;
    http_stop.cancel();
    let clean = matches!(
        tokio::time::timeout(STOP_TIMEOUT, http_task).await,
        Ok(Ok(Ok(())))
    );
    if let Some(t) = temp {
        let _ = t.close();
    }
    tracing::info!("agent stopped");
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

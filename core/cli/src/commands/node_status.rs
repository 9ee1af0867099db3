//! `drover node status [-verbose] [-short] [-self | NODE]`: the node list, or one
//! node's details, events and allocations (Nomad's `command/node_status.go`);
//! `-self` is the node of the agent's own client.

use super::api_client;
use std::process::ExitCode;

use drover_types::{AllocListStub, Allocation, Node};

use super::fail;
use crate::api::{ApiArgs, Client};
use crate::format::allocs::{alloc_table, status_str};
use crate::format::{Clock, format_kv, format_list, id_length, limit};
use drover_types::api::NodeListStub;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub(super) api: ApiArgs,
    /// Full IDs, addresses and versions.
    #[arg(long)]
    pub(super) verbose: bool,
    /// Only the node's header block.
    #[arg(long)]
    pub(super) short: bool,
    /// Node ID or unique prefix; without it, list all nodes.
    #[arg(value_name = "NODE")]
    pub(super) node: Option<String>,
}

/// `node status` with `-self` (kept apart from [`Args`], which `status` builds too).
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub(super) args: Args,
    /// Show the node of the agent at -address (its client must be running).
    #[arg(long = "self", conflicts_with = "node")]
    pub(super) self_: bool,
}

/// `node status`: `-self`, one node, or the list.
pub async fn run_status(s: StatusArgs) -> anyhow::Result<ExitCode> {
    if !s.self_ {
        return run(s.args).await;
    }
    let a = s.args;
    let client = or_exit!(api_client(&a.api));
    Ok(match self_node_id(&client).await {
        Ok(id) => match show(&client, &id, &a).await {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Err(e) => fail(e),
    })
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let len = id_length(a.verbose);
    let Some(prefix) = a.node.as_deref() else {
        return Ok(match client.nodes(None).await {
            Ok(nodes) if nodes.is_empty() => {
                println!("No nodes registered");
                ExitCode::SUCCESS
            }
            Ok(nodes) => {
                println!("{}", node_list(&nodes, a.verbose, len));
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("Error querying node status: {e}")),
        });
    };
    let id = or_exit!(resolve(&client, prefix, a.verbose).await.map_err(fail));
    Ok(match show(&client, &id, &a).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    })
}

/// The node ID of the agent's own client: `/v1/agent/self`'s `stats.client.node_id`
/// (Nomad's `getLocalNodeID`).
pub(super) async fn self_node_id(client: &Client) -> Result<String, String> {
    let info = client
        .agent_self()
        .await
        .map_err(|e| format!("Error determining the local node ID: {e}"))?;
    match info
        .pointer("/stats/client/node_id")
        .and_then(|v| v.as_str())
    {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(
            "Error determining the local node ID: the agent runs no client (its \
             /v1/agent/self has no stats.client.node_id); use -self against a client \
             agent, or give a node ID"
                .to_string(),
        ),
    }
}

/// The one node a prefix names.
pub(super) async fn resolve(
    client: &Client,
    prefix: &str,
    verbose: bool,
) -> Result<String, String> {
    let nodes = client
        .nodes(Some(prefix))
        .await
        .map_err(|e| format!("Error querying node info: {e}"))?;
    match nodes.as_slice() {
        [] => Err(format!("No node(s) with prefix {prefix:?} found")),
        [one] => Ok(one.id.clone()),
        many => match many.iter().find(|n| n.id == prefix) {
            Some(exact) => Ok(exact.id.clone()),
            None => Err(format!(
                "Prefix matched multiple nodes\n\n{}",
                node_list(many, verbose, id_length(verbose))
            )),
        },
    }
}

pub(super) async fn show(client: &Client, id: &str, a: &Args) -> Result<String, String> {
    let node = client
        .node(id)
        .await
        .map_err(|e| format!("Error querying node info: {e}"))?;
    let allocs = if a.short {
        Vec::new()
    } else {
        client
            .node_allocations(id)
            .await
            .map_err(|e| format!("Error querying node allocations: {e}"))?
    };
    Ok(render(&node, &allocs, a.short, a.verbose, &Clock::system()))
}

/// Nomad's node list table.
pub fn node_list(nodes: &[NodeListStub], verbose: bool, len: usize) -> String {
    let mut rows = vec![if verbose {
        "ID|Node Pool|DC|Name|Class|Address|Version|Drain|Eligibility|Status".to_string()
    } else {
        "ID|Node Pool|DC|Name|Class|Drain|Eligibility|Status".to_string()
    }];
    for n in nodes {
        let extra = if verbose {
            format!("{}|{}|", n.address, n.version)
        } else {
            String::new()
        };
        rows.push(format!(
            "{}|{}|{}|{}|{}|{extra}{}|{}|{}",
            limit(&n.id, len),
            n.node_pool,
            n.datacenter,
            n.name,
            n.node_class,
            n.drain,
            status_str(&n.scheduling_eligibility),
            status_str(&n.status)
        ));
    }
    format_list(&rows)
}

/// The text of `node status NODE`.
pub fn render(
    n: &Node,
    allocs: &[Allocation],
    short: bool,
    verbose: bool,
    clock: &Clock,
) -> String {
    let len = id_length(verbose);
    let names = |it: Vec<&String>| {
        it.into_iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",")
    };
    let drivers = names(
        n.drivers
            .iter()
            .filter(|(_, d)| d.detected && d.healthy)
            .map(|(k, _)| k)
            .collect(),
    );
    let basic = [
        format!("ID|{}", limit(&n.id, len)),
        format!("Name|{}", n.name),
        format!("Node Pool|{}", n.node_pool),
        format!("Class|{}", n.node_class),
        format!("DC|{}", n.datacenter),
        format!("Drain|{}", n.drain_strategy.is_some() || n.drain),
        format!("Eligibility|{}", status_str(&n.scheduling_eligibility)),
        format!("Status|{}", status_str(&n.status)),
        format!("Host Volumes|{}", names(n.host_volumes.keys().collect())),
        format!("Host Networks|{}", names(n.host_networks.keys().collect())),
        format!("Drivers|{drivers}"),
    ];
    let mut out = format_kv(&basic);
    if short {
        return out;
    }
    let mut rows = vec!["Time|Subsystem|Message".to_string()];
    for e in n.events.iter().rev() {
        rows.push(format!(
            "{}|{}|{}",
            clock.format_rfc3339(&e.timestamp),
            e.subsystem,
            e.message
        ));
    }
    out.push_str(&format!("\n\nNode Events\n{}", format_list(&rows)));
    let stubs: Vec<AllocListStub> = allocs.iter().map(|a| a.stub(false, false)).collect();
    out.push_str(&format!(
        "\n\nAllocations\n{}",
        alloc_table(&stubs, verbose, len, clock)
    ));
    out
}

//! `drover server members [-detailed]`: the servers of the cluster and which one leads
//! (Nomad's `command/server_members.go`).

use super::api_client;
use std::process::ExitCode;

use super::fail;
use crate::api::ApiArgs;
use crate::format::format_list;
use drover_types::api::AgentMember;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Add the protocol versions and all tags.
    #[arg(long, alias = "verbose")]
    detailed: bool,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let members = match client.members().await {
        Ok(m) => m,
        Err(e) => return Ok(fail(format!("Error querying servers: {e}"))),
    };
    // A missing leader is shown as no leader, not as an error (as Nomad does).
    let leader = client.leader().await.unwrap_or_default();
    println!("{}", render(&members.members, &leader, a.detailed));
    Ok(ExitCode::SUCCESS)
}

/// The members table; `leader` is `/v1/status/leader`'s `ip:port` (RPC port).
pub fn render(members: &[AgentMember], leader: &str, detailed: bool) -> String {
    let mut sorted: Vec<&AgentMember> = members.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut rows = vec![if detailed {
        "Name|Address|Port|Status|Leader|Protocol|Raft Version|Build|Datacenter|Region|Tags"
            .to_string()
    } else {
        "Name|Address|Port|Status|Leader|Raft Version|Build|Datacenter|Region".to_string()
    }];
    for m in sorted {
        let tag = |k: &str| m.tags.get(k).cloned().unwrap_or_default();
        let rpc = format!("{}:{}", m.addr, tag("port"));
        let is_leader = !leader.is_empty() && rpc == leader;
        if detailed {
            let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rows.push(format!(
                "{}|{}|{}|{}|{is_leader}|{}|{}|{}|{}|{}|{}",
                m.name,
                m.addr,
                m.port,
                m.status,
                m.protocol_cur,
                tag("raft_vsn"),
                tag("build"),
                tag("dc"),
                tag("region"),
                tags.join(",")
            ));
        } else {
            rows.push(format!(
                "{}|{}|{}|{}|{is_leader}|{}|{}|{}|{}",
                m.name,
                m.addr,
                m.port,
                m.status,
                tag("raft_vsn"),
                tag("build"),
                tag("dc"),
                tag("region")
            ));
        }
    }
    format_list(&rows)
}

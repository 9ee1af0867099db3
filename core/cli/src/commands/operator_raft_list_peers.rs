//! `drover operator raft list-peers`: the raft configuration, one row per server
//! (Nomad's `command/operator_raft_list.go`).

use super::api_client;
use std::process::ExitCode;

use crate::api::ApiArgs;
use crate::format::format_list;
use drover_types::api::RaftConfiguration;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Accepted for Nomad compatibility: any server may answer.
    #[arg(long)]
    stale: bool,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let _ = a.stale;
    let client = or_exit!(api_client(&a.api));
    match client.raft_configuration().await {
        Ok(cfg) => {
            println!("{}", render(&cfg));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Failed to retrieve raft configuration: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `Node|ID|Address|State|Voter|RaftProtocol`.
pub fn render(cfg: &RaftConfiguration) -> String {
    let mut rows = vec!["Node|ID|Address|State|Voter|RaftProtocol".to_string()];
    for s in &cfg.servers {
        let state = if s.leader { "leader" } else { "follower" };
        rows.push(format!(
            "{}|{}|{}|{state}|{}|{}",
            s.node, s.id, s.address, s.voter, s.raft_protocol
        ));
    }
    format_list(&rows)
}

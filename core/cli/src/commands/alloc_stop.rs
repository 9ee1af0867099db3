//! `drover alloc stop [-detach] [-verbose] ALLOC`: stop an allocation
//! (`/v1/allocation/:id/stop`; the scheduler places a replacement) and follow the
//! resulting evaluation like `job run` (Nomad's `command/alloc_stop.go`).

use super::api_client;
use std::process::ExitCode;

use super::alloc_status::resolve;
use super::fail;
use crate::api::ApiArgs;
use crate::format::id_length;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Print the evaluation ID and return instead of monitoring.
    #[arg(long)]
    detach: bool,
    /// Full IDs.
    #[arg(long)]
    verbose: bool,
    /// Allocation ID or unique prefix.
    #[arg(value_name = "ALLOC")]
    alloc: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let id = or_exit!(resolve(&client, &a.alloc, a.verbose).await.map_err(fail));
    let resp = match client.alloc_stop(&id).await {
        Ok(r) => r,
        Err(e) => return Ok(fail(format!("Error stopping allocation: {e}"))),
    };
    if a.detach {
        println!("{}", resp.eval_id);
        return Ok(ExitCode::SUCCESS);
    }
    let code = crate::monitor::monitor(&client, &resp.eval_id, id_length(a.verbose)).await;
    Ok(ExitCode::from(code))
}

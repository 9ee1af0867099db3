//! `drover alloc signal [-s SIGNAL] ALLOC [TASK]`: send a signal to one task or to
//! every task of an allocation, through its client
//! (`/v1/client/allocation/:id/signal`, Nomad's `command/alloc_signal.go`); without
//! `-s` the client sends `SIGKILL`.

use super::api_client;
use std::process::ExitCode;

use drover_types::api::client::AllocSignalRequest;

use super::alloc_status::{check_task, lookup};
use super::fail;
use crate::api::ApiArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Signal name, e.g. SIGHUP (default SIGKILL).
    #[arg(short = 's', value_name = "SIGNAL")]
    signal: Option<String>,
    /// The task, when not given as the second argument.
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    /// Full IDs in errors.
    #[arg(long)]
    verbose: bool,
    /// Allocation ID or unique prefix.
    #[arg(value_name = "ALLOC")]
    alloc: String,
    /// Task name; without it, every task gets the signal.
    #[arg(value_name = "TASK")]
    task_arg: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let alloc = or_exit!(lookup(&client, &a.alloc, a.verbose).await.map_err(fail));
    let task = a.task_arg.or(a.task);
    if let Some(t) = &task
        && let Err(e) = check_task(&alloc, t)
    {
        return Ok(fail(e));
    }
    let req = AllocSignalRequest {
        task: task.unwrap_or_default(),
        signal: a.signal.unwrap_or_default(),
    };
    Ok(match client.alloc_signal(&alloc.id, &req).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("Error signalling allocation: {e}")),
    })
}

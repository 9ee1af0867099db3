//! `drover alloc restart [-all-tasks] ALLOC [TASK]`: restart one task, every running
//! task, or (`-all-tasks`) every task of an allocation in place, through its client
//! (`/v1/client/allocation/:id/restart`, Nomad's `command/alloc_restart.go`).

use super::api_client;
use std::process::ExitCode;

use drover_types::api::client::AllocRestartRequest;

use super::alloc_status::{check_task, lookup};
use super::fail;
use crate::api::ApiArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Restart every task, prestart and poststart ones included.
    #[arg(long)]
    all_tasks: bool,
    /// The task, when not given as the second argument.
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    /// Full IDs in errors.
    #[arg(long)]
    verbose: bool,
    /// Allocation ID or unique prefix.
    #[arg(value_name = "ALLOC")]
    alloc: String,
    /// Task name; without it, every running task restarts.
    #[arg(value_name = "TASK")]
    task_arg: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let task = a.task_arg.or(a.task);
    if task.is_some() && a.all_tasks {
        return Ok(fail(
            "The -all-tasks option cannot be used when a task name is given",
        ));
    }
    let client = or_exit!(api_client(&a.api));
    let alloc = or_exit!(lookup(&client, &a.alloc, a.verbose).await.map_err(fail));
    if let Some(t) = &task
        && let Err(e) = check_task(&alloc, t)
    {
        return Ok(fail(e));
    }
    let req = AllocRestartRequest {
        task_name: task.unwrap_or_default(),
        all_tasks: a.all_tasks,
    };
    Ok(match client.alloc_restart(&alloc.id, &req).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("Failed to restart allocation:\n\n{e}")),
    })
}

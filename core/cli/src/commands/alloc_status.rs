//! `drover alloc status [-verbose] [-json] ALLOC`: one allocation's placement, status
//! and, per task, its state, restart counts and recent events (Nomad's
//! `command/alloc_status.go`). Also the allocation-ID prefix lookup the other `alloc`
//! commands share.

use super::api_client;
use std::process::ExitCode;

use drover_types::{Allocation, TaskState};

use super::fail;
use crate::api::{ApiArgs, Client};
use crate::format::allocs::{alloc_table, status_str};
use crate::format::{Clock, format_kv, format_list, id_length, limit};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub(super) api: ApiArgs,
    /// Full IDs and absolute times.
    #[arg(long)]
    pub(super) verbose: bool,
    /// Print the allocation as JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Allocation ID or unique prefix (at least two characters).
    #[arg(value_name = "ALLOC")]
    pub(super) alloc: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let alloc = or_exit!(lookup(&client, &a.alloc, a.verbose).await.map_err(fail));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&alloc)?);
    } else {
        println!("{}", render(&alloc, a.verbose, &Clock::system()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The full ID of the one allocation `prefix` names; Nomad's texts when none or
/// several do (the latter with their table).
pub(super) async fn resolve(
    client: &Client,
    prefix: &str,
    verbose: bool,
) -> Result<String, String> {
    let prefix = prefix.trim();
    if prefix.chars().count() < 2 {
        return Err("Identifier must contain at least two characters.".into());
    }
    let allocs = client
        .allocations(prefix)
        .await
        .map_err(|e| format!("Error querying allocation: {e}"))?;
    match allocs.as_slice() {
        [] => Err(format!(
            "No allocation(s) with prefix or id {prefix:?} found"
        )),
        [one] => Ok(one.id.clone()),
        many => match many.iter().find(|a| a.id == prefix) {
            Some(exact) => Ok(exact.id.clone()),
            None => Err(format!(
                "Prefix matched multiple allocations\n\n{}",
                alloc_table(many, true, id_length(verbose), &Clock::system())
            )),
        },
    }
}

/// [`resolve`], then the allocation itself.
pub(super) async fn lookup(
    client: &Client,
    prefix: &str,
    verbose: bool,
) -> Result<Allocation, String> {
    let id = resolve(client, prefix, verbose).await?;
    client
        .allocation(&id)
        .await
        .map_err(|e| format!("Error querying allocation: {e}"))
}

/// The text of `alloc status`.
pub fn render(a: &Allocation, verbose: bool, clock: &Clock) -> String {
    let len = id_length(verbose);
    let time = |nanos: i64| {
        if verbose {
            clock.format_nanos(nanos)
        } else {
            clock.ago(nanos)
        }
    };
    let job_version = a.job.as_ref().and_then(|j| j.version).unwrap_or_default();
    let mut basic = vec![
        format!("ID|{}", a.id),
        format!("Eval ID|{}", limit(&a.eval_id, len)),
        format!("Name|{}", a.name),
        format!("Node ID|{}", limit(&a.node_id, len)),
        format!("Node Name|{}", a.node_name),
        format!("Job ID|{}", a.job_id),
        format!("Job Version|{job_version}"),
        format!("Client Status|{}", a.client_status.as_str()),
        format!("Client Description|{}", a.client_description),
        format!("Desired Status|{}", status_str(&a.desired_status)),
        format!("Desired Description|{}", a.desired_description),
        format!("Created|{}", time(a.create_time)),
        format!("Modified|{}", time(a.modify_time)),
    ];
    if !a.deployment_id.is_empty() {
        basic.push(format!("Deployment ID|{}", limit(&a.deployment_id, len)));
    }
    if !a.next_allocation.is_empty() {
        basic.push(format!(
            "Replacement Alloc ID|{}",
            limit(&a.next_allocation, len)
        ));
    }
    let mut out = format_kv(&basic);
    for (name, state) in &a.task_states {
        out.push_str(&format!(
            "\n\nTask {name:?} is {:?}\n{}",
            status_str(&state.state),
            task_status(state, clock)
        ));
    }
    out
}

/// `Task Events:` and `Recent Events:`, newest event first.
fn task_status(s: &TaskState, clock: &Clock) -> String {
    let when = |t: &str| match clock.format_rfc3339(t) {
        f if f.is_empty() => "N/A".to_string(),
        f => f,
    };
    let basic = [
        format!("Started At|{}", when(&s.started_at)),
        format!("Finished At|{}", when(&s.finished_at)),
        format!("Total Restarts|{}", s.restarts),
        format!("Last Restart|{}", when(&s.last_restart)),
    ];
    let mut rows = vec!["Time|Type|Description".to_string()];
    for e in s.events.iter().rev() {
        let msg = if e.display_message.is_empty() {
            &e.message
        } else {
            &e.display_message
        };
        rows.push(format!("{}|{}|{msg}", clock.format_nanos(e.time), e.kind));
    }
    format!(
        "Task Events:\n{}\n\nRecent Events:\n{}",
        format_kv(&basic),
        format_list(&rows)
    )
}

/// The task names of the allocation's group (from its job, else its task states),
/// sorted.
pub(super) fn task_names(alloc: &Allocation) -> Vec<String> {
    let mut tasks: Vec<String> = match alloc
        .job
        .as_deref()
        .and_then(|j| j.group(&alloc.task_group))
    {
        Some(g) => g.tasks.iter().map(|t| t.name.clone()).collect(),
        None => alloc.task_states.keys().cloned().collect(),
    };
    tasks.sort();
    tasks
}

/// `Ok` when `task` is one of the allocation's tasks (or its tasks are unknown).
pub(super) fn check_task(alloc: &Allocation, task: &str) -> Result<(), String> {
    let tasks = task_names(alloc);
    if tasks.is_empty() || tasks.iter().any(|t| t == task) {
        return Ok(());
    }
    Err(format!(
        "Could not find task named {task:?} in allocation {:?}; its tasks: {}",
        limit(&alloc.id, crate::format::SHORT_ID),
        tasks.join(", ")
    ))
}

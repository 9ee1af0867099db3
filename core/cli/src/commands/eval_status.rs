//! `drover eval status [-verbose] [-monitor] EVAL`: one evaluation, with its failed
//! placements explained from the AllocMetric (Nomad's `command/eval_status.go`).

use super::api_client;
use std::process::ExitCode;

use drover_types::{EvalStatus, Evaluation};

use super::fail;
use crate::api::{ApiArgs, Client};
use crate::format::metrics::failed_placements;
use crate::format::{Clock, format_kv, format_list, id_length, limit};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub(super) api: ApiArgs,
    /// Full IDs, absolute times and the linked evaluations.
    #[arg(long)]
    pub(super) verbose: bool,
    /// Follow the evaluation like `job run` does.
    #[arg(long)]
    pub(super) monitor: bool,
    /// Evaluation ID or unique prefix.
    #[arg(value_name = "EVAL")]
    pub(super) eval: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let len = id_length(a.verbose);
    let id = or_exit!(resolve(&client, &a.eval, len).await.map_err(fail));
    if a.monitor {
        return Ok(ExitCode::from(
            crate::monitor::monitor(&client, &id, len).await,
        ));
    }
    match client.evaluation(&id).await {
        Ok(eval) => {
            println!("{}", render(&eval, a.verbose, &Clock::system()));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(fail(format!("Error querying evaluation: {e}"))),
    }
}

/// The one evaluation a prefix names.
pub(super) async fn resolve(client: &Client, prefix: &str, len: usize) -> Result<String, String> {
    if prefix.len() == 1 {
        return Err("Identifier must contain at least two characters.".into());
    }
    let evals = client
        .evaluations(prefix)
        .await
        .map_err(|e| format!("Error querying evaluation: {e}"))?;
    match evals.as_slice() {
        [] => Err(format!(
            "No evaluation(s) with prefix or id {prefix:?} found"
        )),
        [one] => Ok(one.id.clone()),
        many => match many.iter().find(|e| e.id == prefix) {
            Some(exact) => Ok(exact.id.clone()),
            None => {
                let mut rows = vec!["ID|Priority|Triggered By|Status|Placement Failures".into()];
                rows.extend(many.iter().map(|e| {
                    format!(
                        "{}|{}|{}|{}|{}",
                        limit(&e.id, len),
                        e.priority,
                        e.triggered_by,
                        e.status.as_str(),
                        failure_status(e)
                    )
                }));
                Err(format!(
                    "Prefix matched multiple evaluations\n\n{}",
                    format_list(&rows)
                ))
            }
        },
    }
}

/// Nomad's `evalFailureStatus` text.
fn failure_status(e: &Evaluation) -> String {
    if e.status == EvalStatus::Blocked {
        "N/A - In Progress".into()
    } else {
        (!e.failed_tg_allocs.is_empty()).to_string()
    }
}

/// The text of `eval status EVAL`.
pub fn render(e: &Evaluation, verbose: bool, clock: &Clock) -> String {
    let len = id_length(verbose);
    let time = |n: i64| {
        if verbose {
            clock.format_nanos(n)
        } else {
            clock.ago(n)
        }
    };
    let status_desc = if e.status_description.is_empty() {
        e.status.as_str().to_string()
    } else {
        e.status_description.clone()
    };
    let mut basic = vec![
        format!("ID|{}", limit(&e.id, len)),
        format!("Create Time|{}", time(e.create_time)),
        format!("Modify Time|{}", time(e.modify_time)),
        format!("Status|{}", e.status.as_str()),
        format!("Status Description|{status_desc}"),
        format!("Type|{}", e.kind),
        format!("TriggeredBy|{}", e.triggered_by),
    ];
    let trigger = match e.triggered_by.as_str() {
        "job-register" | "job-deregister" | "periodic-job" | "rolling-update"
        | "deployment-watcher" | "alloc-failure" | "job-scaling" => Some(("Job ID", &e.job_id)),
        "node-update" | "node-drain" => Some(("Node ID", &e.node_id)),
        "max-plan-attempts" => Some(("Previous Eval", &e.previous_eval)),
        _ => None,
    };
    if let Some((noun, subject)) = trigger.filter(|(_, s)| !s.is_empty()) {
        basic.push(format!("{noun}|{subject}"));
    }
    basic.push(format!("Namespace|{}", e.namespace));
    basic.push(format!("Priority|{}", e.priority));
    basic.push(format!("Placement Failures|{}", failure_status(e)));
    if !e.wait_until.is_empty() {
        let w = clock.format_rfc3339(&e.wait_until);
        if !w.is_empty() {
            basic.push(format!("Wait Until|{w}"));
        }
    }
    if verbose {
        basic.push(format!("Previous Eval|{}", limit(&e.previous_eval, len)));
        basic.push(format!("Next Eval|{}", limit(&e.next_eval, len)));
        basic.push(format!("Blocked Eval|{}", limit(&e.blocked_eval, len)));
    }
    let mut out = format_kv(&basic);
    if !e.failed_tg_allocs.is_empty() {
        out.push_str("\n\nFailed Placements\n");
        out.push_str(&failed_placements(&e.failed_tg_allocs).join("\n"));
        if !e.blocked_eval.is_empty() {
            out.push_str(&format!(
                "\nEvaluation \"{}\" waiting for additional capacity to place remainder",
                limit(&e.blocked_eval, len)
            ));
        }
    }
    out.trim_end().to_string()
}

//! `drover job status [-verbose] [-short] [-evals] [-all-allocs] [JOB]`: the job list,
//! or one job's header, summary, placement failures and allocations
//! (Nomad's `command/job_status.go`).

use super::api_client;
use std::process::ExitCode;

use drover_types::{AllocListStub, EvalStatus, Evaluation, Job, JobSummary};

use super::fail;
use crate::api::{ApiArgs, Client};
use crate::format::allocs::{alloc_table, job_list, status_string};
use crate::format::metrics::{format_alloc_metrics, quote};
use crate::format::{Clock, format_kv, format_list, id_length, limit};
use drover_types::api::JobListStub;

/// Task groups whose failures are shown before deferring to `eval status`.
const MAX_FAILED_TGS: usize = 5;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub(super) api: ApiArgs,
    /// Full IDs, the evaluations and absolute times.
    #[arg(long)]
    pub(super) verbose: bool,
    /// Only the job's header block.
    #[arg(long)]
    pub(super) short: bool,
    /// Also list the job's evaluations.
    #[arg(long)]
    pub(super) evals: bool,
    /// Include allocations of older job versions.
    #[arg(long = "all-allocs")]
    pub(super) all_allocs: bool,
    /// Job ID or unique prefix; without it, list all jobs.
    #[arg(value_name = "JOB")]
    pub(super) job: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let Some(prefix) = a.job.as_deref() else {
        return Ok(list(&client).await);
    };
    let id = or_exit!(resolve(&client, prefix).await.map_err(fail));
    Ok(match show(&client, &id, &a).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    })
}

/// The list of all jobs, "No running jobs" when there are none.
pub(super) async fn list(client: &Client) -> ExitCode {
    match client.jobs(None).await {
        Ok(jobs) if jobs.is_empty() => println!("No running jobs"),
        Ok(jobs) => println!(
            "{}",
            job_list(&jobs, client.namespace() == "*", &Clock::system())
        ),
        Err(e) => return fail(format!("Error querying jobs: {e}")),
    }
    ExitCode::SUCCESS
}

/// Nomad's `JobIDByPrefix`: the one job a prefix names.
pub(super) async fn resolve(client: &Client, prefix: &str) -> Result<String, String> {
    let prefix = prefix.trim();
    let jobs = client
        .jobs(Some(prefix))
        .await
        .map_err(|e| format!("Error querying job prefix {}: {e}", quote(prefix)))?;
    match jobs.as_slice() {
        [] => Err(format!(
            "No job(s) with prefix or ID {} found",
            quote(prefix)
        )),
        [one] => Ok(one.id.clone()),
        many => match many.iter().find(|j| j.id == prefix) {
            Some(exact) => Ok(exact.id.clone()),
            None => Err(format!(
                "Prefix {} matched multiple jobs\n\n{}",
                quote(prefix),
                job_list(many, false, &Clock::system())
            )),
        },
    }
}

/// Everything `job status JOB` shows, fetched then rendered.
pub(super) async fn show(client: &Client, id: &str, a: &Args) -> Result<String, String> {
    let job = client
        .job(id)
        .await
        .map_err(|e| format!("Error querying job: {e}"))?;
    let mut view = JobView {
        job,
        ..JobView::default()
    };
    if !a.short {
        view.summary = Some(
            client
                .job_summary(id)
                .await
                .map_err(|e| format!("Error querying job summary: {e}"))?,
        );
        if view.job.is_periodic() || view.job.is_parameterized() {
            let prefix = if view.job.is_periodic() {
                format!("{id}/periodic-")
            } else {
                format!("{id}/dispatch-")
            };
            view.children = client
                .jobs(Some(&prefix))
                .await
                .map_err(|e| format!("Error querying job: {e}"))?;
        } else {
            view.allocs = client
                .job_allocations(id, a.all_allocs)
                .await
                .map_err(|e| format!("Error querying job allocations: {e}"))?;
            view.evals = client
                .job_evaluations(id)
                .await
                .map_err(|e| format!("Error querying job evaluations: {e}"))?;
        }
    }
    Ok(render(&view, a.short, a.verbose, a.evals, &Clock::system()))
}

/// What `job status JOB` renders.
#[derive(Debug, Default)]
pub struct JobView {
    pub job: Job,
    pub summary: Option<JobSummary>,
    pub evals: Vec<Evaluation>,
    pub allocs: Vec<AllocListStub>,
    /// Launched children of a periodic or parameterized job.
    pub children: Vec<JobListStub>,
}

/// The text of `job status JOB`.
pub fn render(v: &JobView, short: bool, verbose: bool, show_evals: bool, clock: &Clock) -> String {
    let j = &v.job;
    let (periodic, parameterized) = (j.is_periodic(), j.is_parameterized());
    let len = id_length(verbose);
    let mut basic = vec![
        format!("ID|{}", j.id()),
        format!("Name|{}", j.name.as_deref().unwrap_or(j.id())),
        format!(
            "Submit Date|{}",
            clock.format_nanos(j.submit_time.unwrap_or(0))
        ),
        format!("Type|{}", j.job_type.as_deref().unwrap_or("service")),
        format!("Priority|{}", j.priority.unwrap_or(50)),
        format!("Datacenters|{}", j.datacenters.join(",")),
        format!("Namespace|{}", j.namespace()),
        format!("Node Pool|{}", j.node_pool.as_deref().unwrap_or("")),
        format!(
            "Status|{}",
            status_string(j.status.as_deref().unwrap_or(""), j.stop.unwrap_or(false))
        ),
        format!("Periodic|{periodic}"),
        format!("Parameterized|{parameterized}"),
    ];
    if !j.dispatch_idempotency_token.is_empty() {
        basic.push(format!(
            "Idempotency Token|{}",
            j.dispatch_idempotency_token
        ));
    }
    let mut out = format_kv(&basic);
    if short {
        return out;
    }
    if let Some(s) = &v.summary {
        if !periodic && !parameterized {
            let mut rows =
                vec!["Task Group|Queued|Starting|Running|Failed|Complete|Lost|Unknown".to_string()];
            for (tg, c) in &s.summary {
                rows.push(format!(
                    "{tg}|{}|{}|{}|{}|{}|{}|{}",
                    c.queued, c.starting, c.running, c.failed, c.complete, c.lost, c.unknown
                ));
            }
            section(&mut out, "Summary", format_list(&rows));
        }
        if let Some(c) = &s.children
            && (parameterized || periodic || c.pending + c.running + c.dead > 0)
        {
            let title = if parameterized {
                "Parameterized Job Summary"
            } else {
                "Children Job Summary"
            };
            let rows = [
                "Pending|Running|Dead".to_string(),
                format!("{}|{}|{}", c.pending, c.running, c.dead),
            ];
            section(&mut out, title, format_list(&rows));
        }
    }
    if periodic || parameterized {
        let kids: Vec<&JobListStub> = v
            .children
            .iter()
            .filter(|c| c.parent_id == j.id())
            .collect();
        let (title, none) = if periodic && !parameterized {
            (
                "Previously Launched Jobs",
                "No instances of periodic job found",
            )
        } else {
            (
                "Dispatched Jobs",
                "No dispatched instances of parameterized job found",
            )
        };
        if kids.is_empty() {
            out.push_str(&format!("\n\n{none}"));
        } else {
            let mut rows = vec!["ID|Status".to_string()];
            rows.extend(kids.iter().map(|c| format!("{}|{}", c.id, c.status)));
            out.push_str(&format!("\n\n{title}\n{}", format_list(&rows)));
        }
        return out;
    }
    let mut rows = vec!["ID|Priority|Triggered By|Status|Placement Failures".to_string()];
    let mut latest_failed: Option<&Evaluation> = None;
    let mut blocked = false;
    for e in &v.evals {
        let failures = if e.status == EvalStatus::Blocked {
            "N/A - In Progress".to_string()
        } else {
            (!e.failed_tg_allocs.is_empty()).to_string()
        };
        rows.push(format!(
            "{}|{}|{}|{}|{failures}",
            limit(&e.id, len),
            e.priority,
            e.triggered_by,
            e.status.as_str()
        ));
        blocked |= e.status == EvalStatus::Blocked;
        if !e.failed_tg_allocs.is_empty()
            && latest_failed.is_none_or(|l| l.create_index < e.create_index)
        {
            latest_failed = Some(e);
        }
    }
    if verbose || show_evals {
        section(&mut out, "Evaluations", format_list(&rows));
    }
    if let (true, Some(failed)) = (blocked, latest_failed) {
        let mut text = Vec::new();
        let n = failed.failed_tg_allocs.len();
        for (i, (tg, m)) in failed
            .failed_tg_allocs
            .iter()
            .enumerate()
            .take(MAX_FAILED_TGS)
        {
            text.push(format!("Task Group {}:", quote(tg)));
            text.push(format_alloc_metrics(m, "  "));
            if i + 1 != n {
                text.push(String::new());
            }
        }
        if n > MAX_FAILED_TGS {
            text.push(format!(
                "\nPlacement failures truncated. To see remainder run:\ndrover eval status {}",
                failed.id
            ));
        }
        section(&mut out, "Placement Failure", text.join("\n"));
    }
    section(
        &mut out,
        "Allocations",
        alloc_table(&v.allocs, verbose, len, clock),
    );
    out
}

/// A blank line, a title line, then the body.
fn section(out: &mut String, title: &str, body: String) {
    out.push_str(&format!("\n\n{title}\n{body}"));
}

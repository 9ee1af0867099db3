//! `drover job plan [-diff=false] [-verbose] [-var …] FILE`: a scheduler dry run
//! (`POST /v1/job/:id/plan`): the diff against the running job, what the scheduler
//! would do, why placements would fail, and the `-check-index` to run it with.
//! Exit codes as Nomad: 0 nothing created or destroyed, 1 changes, 255 error.

use super::api_client;
use std::process::ExitCode;

use drover_types::Job;

use super::job_source::JobFileArgs;
use crate::api::ApiArgs;
use crate::format::diff::format_job_diff;
use crate::format::metrics::{failed_group_header, format_alloc_metrics};
use crate::format::time::parse_rfc3339;
use crate::format::{Clock, format_list};
use drover_types::api::JobPlanResponse;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Show the diff between the running job and this one (default true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    diff: bool,
    /// Expand added and deleted groups and tasks in the diff.
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    job: JobFileArgs,
}

/// `job plan`'s exit code for errors.
const ERROR: u8 = 255;

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (job, _) = match a.job.load() {
        Ok(x) => x,
        Err(e) => return Ok(fail(&e)),
    };
    let mut client = or_exit!(api_client(&a.api));
    let flag_namespace = client
        .namespace_is_set()
        .then(|| client.namespace().to_string());
    if let Some(r) = job.region.as_deref().filter(|r| !r.is_empty()) {
        client.set_region(r);
    }
    if let Some(ns) = job.namespace.as_deref().filter(|n| !n.is_empty()) {
        client.set_namespace(ns);
    }
    let resp = match client.plan(&job).await {
        Ok(r) => r,
        Err(e) => return Ok(fail(&format!("Error during plan: {e}"))),
    };
    let mut run_args = a.job.run_args();
    if let Some(ns) = flag_namespace {
        run_args.push_str(&format!("-namespace={ns:?} "));
    }
    let path = a.job.file.display().to_string();
    print!(
        "{}",
        render(&job, &resp, a.diff, a.verbose, &Clock::system())
    );
    println!(
        "{}",
        job_modify_index_help(resp.job_modify_index, &run_args, &path)
    );
    Ok(ExitCode::from(exit_code(&resp)))
}

/// The plan output up to (not including) the job modify index help.
pub fn render(
    job: &Job,
    resp: &JobPlanResponse,
    diff: bool,
    verbose: bool,
    clock: &Clock,
) -> String {
    let mut out = String::new();
    if diff && let Some(d) = &resp.diff {
        out.push_str(format_job_diff(d, verbose).trim());
        out.push_str("\n\n");
    }
    out.push_str("Scheduler dry-run:\n");
    out.push_str(&dry_run(job, resp, clock));
    out.push_str("\n\n");
    if !resp.warnings.is_empty() {
        out.push_str(&format!("Job Warnings:\n{}\n\n", resp.warnings));
    }
    if let Some(ann) = resp
        .annotations
        .as_ref()
        .filter(|a| !a.preempted_allocs.is_empty())
    {
        let mut rows = vec!["Alloc ID|Job ID|Task Group".to_string()];
        for p in &ann.preempted_allocs {
            let field = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            rows.push(format!(
                "{}|{}|{}",
                field("ID"),
                field("JobID"),
                field("TaskGroup")
            ));
        }
        out.push_str(&format!("Preemptions:\n\n{}\n", format_list(&rows)));
    }
    out
}

/// Nomad's `formatDryRun`.
fn dry_run(job: &Job, resp: &JobPlanResponse, clock: &Clock) -> String {
    let rolling = resp
        .created_evals
        .iter()
        .rfind(|e| e.triggered_by == "rolling-update");
    let mut out = String::new();
    if resp.failed_tg_allocs.is_empty() {
        out.push_str("- All tasks successfully allocated.\n");
    } else {
        if job.job_type.as_deref() == Some("system") {
            out.push_str("- WARNING: Failed to place allocations on all nodes.\n");
        } else {
            out.push_str("- WARNING: Failed to place all allocations.\n");
        }
        for (tg, m) in &resp.failed_tg_allocs {
            out.push_str(&format!("  {}\n", failed_group_header(tg, m)));
            out.push_str(&format!("{}\n\n", format_alloc_metrics(m, "    ")));
        }
        if rolling.is_none() {
            out.pop();
        }
    }
    if let Some(r) = rolling {
        out.push_str(&format!(
            "- Rolling update, next evaluation will be in {}.\n",
            r.wait
        ));
    }
    let next = Some(resp.next_periodic_launch.as_str())
        .filter(|s| !s.is_empty())
        .and_then(parse_rfc3339);
    if let (Some(next), false) = (next, job.is_parameterized()) {
        out.push_str(&format!(
            "- If submitted now, next periodic launch would be at {} ({} from now).\n",
            clock.format_nanos(next),
            drover_types::Duration((next - clock.now) / 1_000_000_000 * 1_000_000_000)
        ));
    }
    out.trim_end_matches('\n').to_string()
}

/// The closing hint with the index to pass to `job run -check-index`.
pub fn job_modify_index_help(index: u64, run_args: &str, path: &str) -> String {
    format!(
        "Job Modify Index: {index}\n\
         To submit the job with version verification run:\n\n\
         drover job run -check-index {index} {run_args}{path}\n\n\
         When running the job with the check-index flag, the job will only be run if the\n\
         job modify index given matches the server-side version. If the index has\n\
         changed, another user has modified the job and the plan's results are\n\
         potentially invalid."
    )
}

/// Nomad's `getExitCode`: 1 when allocations would be created or destroyed.
pub fn exit_code(resp: &JobPlanResponse) -> u8 {
    if resp.diff.as_ref().is_some_and(|d| d.kind == "None") {
        return 0;
    }
    let changes = resp.annotations.as_ref().is_some_and(|a| {
        a.desired_tg_updates
            .values()
            .any(|d| d.stop + d.place + d.migrate + d.destructive_update + d.canary > 0)
    });
    u8::from(changes)
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(ERROR)
}

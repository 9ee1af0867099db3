//! `drover job run [-detach] [-check-index N] [-var …] FILE`: parse the job locally,
//! register it (`POST /v1/jobs`) and follow the evaluation like `nomad job run`.
//! Exit codes as Nomad: 0 placed, 2 placement failures, 1 any error.

use super::api_client;
use std::process::ExitCode;

use drover_types::JobRegisterRequest;

use super::fail;
use super::job_source::JobFileArgs;
use crate::api::ApiArgs;
use crate::format::id_length;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Return after registering, printing the evaluation ID, instead of monitoring.
    #[arg(long)]
    detach: bool,
    /// Show full IDs.
    #[arg(long)]
    verbose: bool,
    /// Register only if the job's modify index is still this (0: the job must not
    /// exist), as printed by `job plan`.
    #[arg(long = "check-index", value_name = "INDEX")]
    check_index: Option<u64>,
    #[command(flatten)]
    job: JobFileArgs,
}

/// The server's text when `-check-index` does not match.
const ENFORCE_INDEX_PREFIX: &str = "Enforcing job modify index";

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (job, submission) = match a.job.load() {
        Ok(x) => x,
        Err(e) => return Ok(fail(&e)),
    };
    let mut client = or_exit!(api_client(&a.api));
    // The job's own region and namespace win over the flags, as in Nomad.
    if let Some(r) = job.region.as_deref().filter(|r| !r.is_empty()) {
        client.set_region(r);
    }
    if let Some(ns) = job.namespace.as_deref().filter(|n| !n.is_empty()) {
        client.set_namespace(ns);
    }
    let (periodic, parameterized) = (job.is_periodic(), job.is_parameterized());
    let req = JobRegisterRequest {
        job: Some(job),
        submission: Some(submission),
        enforce_index: a.check_index.is_some(),
        job_modify_index: a.check_index.unwrap_or(0),
        ..JobRegisterRequest::default()
    };
    let resp = match client.register(&req).await {
        Ok(r) => r,
        Err(e) => {
            let text = e.to_string();
            if let Some(start) = text.find(ENFORCE_INDEX_PREFIX) {
                eprintln!("{}", text[start..].trim_end_matches(')'));
                eprintln!("Job not updated");
                return Ok(ExitCode::FAILURE);
            }
            return Ok(fail(format!("Error submitting job: {e}")));
        }
    };
    if !resp.warnings.is_empty() {
        println!("Job Warnings:\n{}\n", resp.warnings);
    }
    if a.detach || periodic || parameterized {
        println!("Job registration successful");
        if !periodic && !parameterized {
            println!("Evaluation ID: {}", resp.eval_id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let code = crate::monitor::monitor(&client, &resp.eval_id, id_length(a.verbose)).await;
    Ok(ExitCode::from(code))
}

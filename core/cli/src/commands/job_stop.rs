//! `drover job stop [-purge] [-detach] [-verbose] JOB`: deregister a job
//! (`DELETE /v1/job/:id`) and follow the resulting evaluation like `job run`;
//! `-detach` prints only the evaluation ID (Nomad's `command/job_stop.go`).

use super::api_client;
use std::process::ExitCode;

use super::fail;
use crate::api::ApiArgs;
use crate::format::id_length;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Remove the job from the state entirely instead of marking it stopped.
    #[arg(long)]
    purge: bool,
    /// Print the evaluation ID and return instead of monitoring.
    #[arg(long)]
    detach: bool,
    /// Show full IDs.
    #[arg(long)]
    verbose: bool,
    /// Do not ask for confirmation (accepted for Nomad compatibility; drover never asks).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Job ID or unique prefix.
    #[arg(value_name = "JOB")]
    job: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let _ = a.yes;
    let client = or_exit!(api_client(&a.api));
    let id = or_exit!(
        super::job_status::resolve(&client, &a.job)
            .await
            .map_err(fail)
    );
    let resp = match client.deregister(&id, a.purge).await {
        Ok(r) => r,
        Err(e) => return Ok(fail(format!("Error deregistering job: {e}"))),
    };
    // Stopping a periodic or parameterized job creates no evaluation.
    if resp.eval_id.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if a.detach {
        println!("{}", resp.eval_id);
        return Ok(ExitCode::SUCCESS);
    }
    let code = crate::monitor::monitor(&client, &resp.eval_id, id_length(a.verbose)).await;
    Ok(ExitCode::from(code))
}

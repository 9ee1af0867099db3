//! `drover job inspect [-var NAME=VALUE]... [-var-file FILE]... FILE`: print the
//! canonical job in Nomad's API JSON, `{"Job": {…}}`, ready to POST to `/v1/jobs`.

use std::process::ExitCode;

use super::fail;
use super::job_source::JobFileArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    job: JobFileArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let inputs = or_exit!(a.job.inputs().map_err(fail));
    match drover_jobspec::parse_file(&a.job.file, &inputs) {
        Ok(job) => {
            let out = serde_json::to_string_pretty(&serde_json::json!({ "Job": job }))?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => Ok(fail(diags)),
    }
}

//! `drover job validate [-var NAME=VALUE]... [-var-file FILE]... FILE`: parse,
//! canonicalize and validate a job file (HCL2 or JSON); exit 0 with "Job validation
//! successful", or 1 with every error located.

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
        Ok(_) => {
            println!("Job validation successful");
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!("Job validation failed: {} error(s)", diags.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

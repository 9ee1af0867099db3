//! `drover job inspect FILE [-var k=v]... [-var-file F]...`: print the canonical job in
//! Nomad's API JSON, `{"Job": {…}}`, ready to POST to `/v1/jobs`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `[-var NAME=VALUE]... [-var-file FILE]... FILE`, Nomad's spelling (one dash;
    /// `--var`, `-var=NAME=VALUE` work too). -var wins over -var-file, which wins over
    /// NOMAD_VAR_* in the environment.
    #[arg(
        required = true,
        num_args = 1..,
        allow_hyphen_values = true,
        trailing_var_arg = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (file, inputs) = match super::job_validate::job_args(&a.args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match drover_jobspec::parse_file(&file, &inputs) {
        Ok(job) => {
            let out = serde_json::to_string_pretty(&serde_json::json!({ "Job": job }))?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            eprintln!("{diags}");
            Ok(ExitCode::FAILURE)
        }
    }
}

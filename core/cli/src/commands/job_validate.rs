//! `drover job validate FILE`: parse, canonicalize and validate a job file (HCL2 or
//! JSON); exit 0 with "Job validation successful", or 1 with every error located.

use std::path::PathBuf;
use std::process::ExitCode;

use drover_jobspec::VarInputs;

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
    let (file, inputs) = match job_args(&a.args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match drover_jobspec::parse_file(&file, &inputs) {
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

/// The job file, and the variable inputs: `-var`s, `-var-file`s and this process's
/// `NOMAD_VAR_*` environment.
pub(crate) fn job_args(args: &[String]) -> Result<(PathBuf, VarInputs), String> {
    let mut inputs = VarInputs::from_process_env();
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let flag = arg.trim_start_matches('-');
        let dashed = arg.starts_with('-') && arg.len() > 1;
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if dashed => (n, Some(v.to_string())),
            _ => (flag, None),
        };
        match (dashed, name) {
            (true, "var" | "var-file") => {
                let value = match inline.or_else(|| it.next().cloned()) {
                    Some(v) => v,
                    None => return Err(format!("{arg}: missing value")),
                };
                if name == "var" {
                    let Some((k, v)) = value.split_once('=') else {
                        return Err(format!("-var {value:?}: expected NAME=VALUE"));
                    };
                    inputs.cli.push((k.trim().to_string(), v.to_string()));
                } else {
                    inputs.files.push(PathBuf::from(value));
                }
            }
            (true, other) => {
                return Err(format!("unknown flag -{other}: expected -var or -var-file"));
            }
            (false, _) if file.is_none() => file = Some(PathBuf::from(arg)),
            (false, _) => return Err(format!("unexpected argument {arg:?}: give one job file")),
        }
    }
    let file = file.ok_or("missing the job file")?;
    Ok((file, inputs))
}

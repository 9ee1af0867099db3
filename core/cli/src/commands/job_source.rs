//! The job-file arguments `job run` and `job plan` share (Nomad's `JobGetter`): the
//! file, `-var NAME=VALUE` and `-var-file FILE`, parsed locally into the API job and
//! the `Submission` (source and variables) the server stores with it.

use std::path::PathBuf;

use drover_jobspec::VarInputs;
use drover_types::Job;
use serde_json::{Value, json};

/// `[-var NAME=VALUE]... [-var-file FILE]... FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct JobFileArgs {
    /// A job variable, NAME=VALUE; wins over -var-file and NOMAD_VAR_* (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A file of job variable values (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// The job file (HCL2 or JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

impl JobFileArgs {
    /// The variable inputs: the `-var`s, the `-var-file`s and this process's
    /// `NOMAD_VAR_*` environment.
    pub fn inputs(&self) -> Result<VarInputs, String> {
        let mut inputs = VarInputs::from_process_env();
        for v in &self.vars {
            let Some((k, val)) = v.split_once('=') else {
                return Err(format!("-var {v:?}: expected NAME=VALUE"));
            };
            inputs.cli.push((k.trim().to_string(), val.to_string()));
        }
        inputs.files = self.var_files.clone();
        Ok(inputs)
    }

    /// Parse the file; the error reads like Nomad's "Error getting job struct: …".
    pub fn load(&self) -> Result<(Job, Value), String> {
        let inputs = self
            .inputs()
            .map_err(|e| format!("Error getting job struct: {e}"))?;
        let path = self.file.display().to_string();
        let source = std::fs::read_to_string(&self.file)
            .map_err(|e| format!("Error getting job struct: cannot read {path}: {e}"))?;
        let job = drover_jobspec::parse_file(&self.file, &inputs).map_err(|diags| {
            format!("Error getting job struct: Error parsing job file from {path}:\n{diags}")
        })?;
        let is_json = source.trim_start().starts_with('{');
        let mut var_text = String::new();
        for f in &self.var_files {
            if let Ok(t) = std::fs::read_to_string(f) {
                var_text.push_str(&t);
                var_text.push('\n');
            }
        }
        let flags: serde_json::Map<String, Value> = inputs
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("NOMAD_VAR_")?.to_string(), json!(v))))
            .chain(inputs.cli.iter().map(|(k, v)| (k.clone(), json!(v))))
            .collect();
        let submission = json!({
            "Source": source,
            "Format": if is_json { "json" } else { "hcl2" },
            "VariableFlags": flags,
            "Variables": var_text,
        });
        Ok((job, submission))
    }

    /// `-var="a=b" -var-file="f" ` as `job plan` suggests for the follow-up `job run`.
    pub fn run_args(&self) -> String {
        let mut s = String::new();
        for v in &self.vars {
            s.push_str(&format!("-var={v:?} "));
        }
        for f in &self.var_files {
            s.push_str(&format!("-var-file={:?} ", f.display().to_string()));
        }
        s
    }
}

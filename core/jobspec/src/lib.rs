//! Nomad job files (HCL2 and JSON) into a validated [`Job`]. Pure: no I/O but reading the
//! given files (the job file, `-var-file`s, and what `file()` names).
//!
//! * HCL2 ([`parse_hcl`]): hcl-rs parses; Nomad's jobspec2 semantics are here
//!   ([`hcl2`]: variables, locals, functions, `dynamic`, run-time references kept
//!   literally), then a table-driven decoder produces Nomad's API JSON and
//!   `drover_types` deserializes it. A file of plain values (no variables, functions or
//!   expressions) skips hcl-rs and evaluation: [`hcl2`]'s fast reader builds the same
//!   evaluated tree directly.
//! * JSON ([`parse_json`]): Nomad's API form, `{"Job": {…}}` or the bare job.
//! * Both end with [`Job::canonicalize`] and [`Job::validate`]; each broken rule is mapped
//!   back to the file, line and column it came from.
//!
//! Every error in a file is reported ([`Diagnostics`]), each as
//! `file:line:col: job "a" > group "g" > task "t" > resources.cpu: message` plus the line.

mod decode;
pub mod hcl2;
mod json;

use std::path::{Path, PathBuf};

use drover_hcl::{Diagnostic, Diagnostics, Source};
use drover_types::Job;

pub use json::parse_json;

/// Values for the job's `variable`s, lowest precedence first: `env` (`NOMAD_VAR_<name>`
/// entries; others are ignored) < `files` (HCL, or JSON by extension, in order) <
/// `texts` < `cli` (`-var name=value`, in order).
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    pub cli: Vec<(String, String)>,
    pub files: Vec<PathBuf>,
    /// Var files given as text, `(name, text)`: JSON when `name` ends in
    /// `.json`, else HCL; for callers that hold the text rather than a file,
    /// like the `/v1/jobs/parse` endpoint (its `Variables`).
    pub texts: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
}

impl VarInputs {
    /// `NOMAD_VAR_*` from this process's environment, nothing else.
    pub fn from_process_env() -> VarInputs {
        VarInputs {
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with(hcl2::VAR_ENV_PREFIX))
                .collect(),
            ..VarInputs::default()
        }
    }
}

/// Parse, canonicalize and validate an HCL2 job file. `file_name` names the file in
/// diagnostics; `file()` and friends resolve relative to its directory.
pub fn parse_hcl(file_name: &str, text: &str, vars: &VarInputs) -> Result<Job, Diagnostics> {
    parse_hcl_with(file_name, text, vars, true)
}

/// Like [`parse_hcl`] for job text from a remote caller: the functions that read
/// files (`file`, `filebase64`, `fileexists`, `abspath`, `pathexpand`, …) are not
/// defined, so a call to one is an "unknown function" error (Nomad's
/// `AllowFS: false` on `/v1/jobs/parse`).
pub fn parse_hcl_without_fs(
    file_name: &str,
    text: &str,
    vars: &VarInputs,
) -> Result<Job, Diagnostics> {
    parse_hcl_with(file_name, text, vars, false)
}

fn parse_hcl_with(
    file_name: &str,
    text: &str,
    vars: &VarInputs,
    allow_fs: bool,
) -> Result<Job, Diagnostics> {
    let src = Source::new(file_name, text);
    let base = Path::new(file_name).parent().map(Path::to_path_buf);
    let _base = hcl2::funcs::BaseDir::set(base);
    let (block, diags) = hcl2::evaluate(&src, vars, allow_fs)?;
    let mut cx = decode::engine::Ctx { src: &src, diags };
    let map = decode::job(&mut cx, &block);
    if !cx.diags.is_empty() {
        let mut d = cx.diags;
        d.sort();
        return Err(d);
    }
    let mut job: Job = match serde_json::from_value(serde_json::Value::Object(map)) {
        Ok(j) => j,
        Err(e) => {
            return Err(src
                .at_offset(block.at, "", format!("invalid job: {e}"))
                .into());
        }
    };
    job.canonicalize();
    validate(&job, |path| decode::locate::offset(&block, path), &src)?;
    Ok(job)
}

/// Run `Job::validate` and turn each error into a located diagnostic.
pub(crate) fn validate(
    job: &Job,
    offset_of: impl Fn(&[drover_types::error::PathSegment]) -> usize,
    src: &Source,
) -> Result<(), Diagnostics> {
    let Err(errors) = job.validate() else {
        return Ok(());
    };
    let mut out = Diagnostics::new();
    for e in errors {
        let rendered = render_path(&e.path, &e.field_path());
        out.push(src.at_offset(offset_of(&e.path), &rendered, e.message));
    }
    out.sort();
    Err(out)
}

fn render_path(path: &[drover_types::error::PathSegment], fields: &str) -> String {
    use drover_types::error::PathSegment as S;
    let mut parts: Vec<String> = path
        .iter()
        .filter_map(|s| match s {
            S::Job(n) => Some(format!("job {n:?}")),
            S::Group(n) => Some(format!("group {n:?}")),
            S::Task(n) => Some(format!("task {n:?}")),
            _ => None,
        })
        .collect();
    if !fields.is_empty() {
        parts.push(fields.to_string());
    }
    parts.join(" > ")
}

/// Parse a job file, HCL or JSON: JSON when the name ends in `.json` or the first
/// non-blank character is `{` (Nomad's rule).
pub fn parse_file(path: &Path, vars: &VarInputs) -> Result<Job, Diagnostics> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file_level(&name, format!("cannot read job file: {e}")))?;
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if is_json {
        parse_json(&name, &text)
    } else {
        parse_hcl(&name, &text, vars)
    }
}

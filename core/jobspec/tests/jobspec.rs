//! Integration tests of `drover-jobspec`: the users' seed files, the fixture corpus with
//! golden JSON, error positions, variables, the functions, the JSON round trip and a bounded fuzz run.

#[path = "jobspec/errors.rs"]
mod errors;
#[path = "jobspec/funcs.rs"]
mod funcs;
#[path = "jobspec/fuzz.rs"]
mod fuzz;
#[path = "jobspec/golden.rs"]
mod golden;
#[path = "jobspec/json_case.rs"]
mod json_case;
#[path = "jobspec/roundtrip.rs"]
mod roundtrip;
#[path = "jobspec/seed.rs"]
mod seed;
#[path = "jobspec/vars.rs"]
mod vars;

use std::path::{Path, PathBuf};

use drover_jobspec::VarInputs;
use drover_types::Job;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seed")
        .join(name)
}

/// Parse a file that must be valid; the panic message shows every diagnostic.
pub fn parse_ok(path: &Path, vars: &VarInputs) -> Job {
    drover_jobspec::parse_file(path, vars).unwrap_or_else(|d| panic!("{}:\n{d}", path.display()))
}

/// Parse inline HCL that must fail; returns the diagnostics.
pub fn parse_err(text: &str) -> drover_hcl::Diagnostics {
    match drover_jobspec::parse_hcl("job.hcl", text, &VarInputs::default()) {
        Ok(job) => panic!("expected errors, got a job: {job:?}"),
        Err(d) => d,
    }
}

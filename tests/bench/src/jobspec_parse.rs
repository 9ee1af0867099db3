//! `jobspec-parse`: parse + canonicalize + validate a ~200-line HCL2 job file
//! (`core/jobspec/tests/fixtures/full.hcl`, every block a single-region job uses) in a
//! loop on one thread; baseline: `serde_json` of the same job's API JSON into
//! `drover_types::Job`, in the same run.
//!
//! `full.hcl` holds only literals and run-time references, so it takes the parser's
//! fast path for plain files. The same file with a `variable` block in front (the
//! same job) needs the full HCL2 evaluation; its rate is printed as a second figure.

use std::hint::black_box;
use std::time::{Duration, Instant};

use drover_jobspec::VarInputs;
use drover_types::Job;

const JOB: &str = include_str!("../../../core/jobspec/tests/fixtures/full.hcl");

/// Runs `f` repeatedly for about `budget`; returns operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up, then measure in batches so the clock is read rarely.
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

pub fn run(seconds: f64) -> anyhow::Result<()> {
    let vars = VarInputs::default();
    let job = drover_jobspec::parse_hcl("full.hcl", JOB, &vars)
        .map_err(|d| anyhow::anyhow!("the bench job does not parse:\n{d}"))?;
    let json = serde_json::to_string(&job)?;
    let budget = Duration::from_secs_f64(seconds);

    let hcl = rate(budget, || {
        let j = drover_jobspec::parse_hcl("full.hcl", black_box(JOB), &vars);
        black_box(j.is_ok());
    });
    let with_variable = format!("variable \"unused\" {{\n  default = 1\n}}\n{JOB}");
    let evaluated = rate(budget, || {
        let j = drover_jobspec::parse_hcl("full.hcl", black_box(&with_variable), &vars);
        black_box(j.is_ok());
    });
    let baseline = rate(budget, || {
        let j: Result<Job, _> = serde_json::from_str(black_box(&json));
        black_box(j.is_ok());
    });
    println!(
        "jobspec-parse: {} lines of HCL2, {} bytes of JSON",
        JOB.lines().count(),
        json.len()
    );
    println!("  HCL2 parse + canonicalize + validate: {hcl:.0} jobs/s");
    println!("  the same with a variable block:       {evaluated:.0} jobs/s (full evaluation)");
    println!("  serde_json into drover_types::Job:    {baseline:.0} jobs/s");
    println!(
        "RESULT jobspec-parse rate={hcl:.0}jobs/s baseline={baseline:.0}jobs/s ratio={:.3}",
        hcl / baseline
    );
    println!(
        "RESULT jobspec-parse-evaluated rate={evaluated:.0}jobs/s baseline={baseline:.0}jobs/s ratio={:.3}",
        evaluated / baseline
    );
    Ok(())
}

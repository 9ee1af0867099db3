//! Golden tests of every renderer: each `tests/golden/<case>.json` holds API responses
//! as Nomad's API sends them plus the renderer to use; `<case>.txt` is the expected
//! text. `DROVER_GOLDEN_REWRITE=1 cargo test -p drover golden` rewrites the `.txt`
//! files (review the diff before committing).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::commands::{eval_status, job_plan, job_status, node_status};
use crate::commands::{operator_raft_list_peers, server_members};
use crate::format::Clock;
use crate::format::allocs::job_list;
use crate::monitor::{EvalState, Line, outcome, render};
use drover_types::api::{
    JobListStub, JobPlanResponse, NodeListStub, RaftConfiguration, ServerMembers,
};

#[derive(Deserialize)]
struct Case {
    render: String,
    /// Unix nanoseconds "now" for ages.
    now: i64,
    #[serde(default)]
    verbose: bool,
    #[serde(default)]
    short: bool,
    #[serde(default = "yes")]
    diff: bool,
    input: Value,
}

fn yes() -> bool {
    true
}

fn field<T: DeserializeOwned>(v: &Value, key: &str) -> T {
    let x = v.get(key).cloned().unwrap_or(Value::Null);
    serde_json::from_value(x).unwrap_or_else(|e| panic!("input.{key}: {e}"))
}

fn whole<T: DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("input: {e}"))
}

fn render_case(c: &Case) -> String {
    let clock = Clock::fixed_utc(c.now);
    let i = &c.input;
    match c.render.as_str() {
        "job_list" => job_list(&whole::<Vec<JobListStub>>(i), false, &clock),
        "job_status" => {
            let view = job_status::JobView {
                job: field(i, "Job"),
                summary: field(i, "Summary"),
                evals: field::<Option<_>>(i, "Evaluations").unwrap_or_default(),
                allocs: field::<Option<_>>(i, "Allocations").unwrap_or_default(),
                children: field::<Option<_>>(i, "Children").unwrap_or_default(),
            };
            job_status::render(&view, c.short, c.verbose, false, &clock)
        }
        "eval_status" => eval_status::render(&whole(i), c.verbose, &clock),
        "job_plan" => {
            let plan: JobPlanResponse = field(i, "Plan");
            format!(
                "{}{}\n[exit code {}]",
                job_plan::render(&field(i, "Job"), &plan, c.diff, c.verbose, &clock),
                job_plan::job_modify_index_help(plan.job_modify_index, "", "job.hcl"),
                job_plan::exit_code(&plan)
            )
        }
        "node_list" => {
            let len = crate::format::id_length(c.verbose);
            node_status::node_list(&whole::<Vec<NodeListStub>>(i), c.verbose, len)
        }
        "node_status" => node_status::render(
            &field(i, "Node"),
            &field::<Vec<_>>(i, "Allocations"),
            c.short,
            c.verbose,
            &clock,
        ),
        "server_members" => {
            let m: ServerMembers = field(i, "Members");
            server_members::render(&m.members, &field::<String>(i, "Leader"), c.verbose)
        }
        "raft_peers" => operator_raft_list_peers::render(&whole::<RaftConfiguration>(i)),
        "monitor" => monitor_case(i, c.verbose, &clock),
        other => panic!("unknown renderer {other:?}"),
    }
}

/// `input.Polls`: what each poll of the eval and its allocations returned.
fn monitor_case(i: &Value, verbose: bool, clock: &Clock) -> String {
    let len = crate::format::id_length(verbose);
    let polls: Vec<Value> = field(i, "Polls");
    let mut state = EvalState::pending();
    let mut out = Vec::new();
    let mut failed = false;
    for (n, p) in polls.iter().enumerate() {
        let eval: drover_types::Evaluation = field(p, "Evaluation");
        let allocs: Vec<drover_types::AllocListStub> = field(p, "Allocations");
        if n == 0 {
            let head = format!(
                "Monitoring evaluation \"{}\"",
                crate::format::limit(&eval.id, len)
            );
            out.push(render(&Line::Info(head), clock));
        }
        let next = EvalState::of(&eval, &allocs);
        for l in state.changes(&next, len) {
            out.push(render(&Line::Output(l), clock));
        }
        state = next;
        if eval.status.is_terminal() {
            let (lines, f) = outcome(&eval, len);
            failed = f;
            out.extend(lines.iter().map(|l| render(l, clock)));
        }
    }
    out.push(format!("[exit code {}]", if failed { 2 } else { 0 }));
    out.join("\n")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn golden_renderings() {
    let rewrite = std::env::var_os("DROVER_GOLDEN_REWRITE").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the golden cases, found {cases:?}"
    );
    let mut mismatches = Vec::new();
    for path in cases {
        let text = std::fs::read_to_string(&path).expect("read case");
        let case: Case =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = render_case(&case) + "\n";
        let want_path = path.with_extension("txt");
        if rewrite {
            std::fs::write(&want_path, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&want_path).unwrap_or_default();
        if got != want {
            mismatches.push(format!("--- {}\n+++ rendered\n{got}", want_path.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches (DROVER_GOLDEN_REWRITE=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

//! Smoke runs of each benchmark with a few iterations, so the benches keep
//! working: each must end with a well-formed RESULT line. No timing is
//! asserted here; the figures come from release runs.

use std::process::Command;

fn run_bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_drover-bench"))
        .args(args)
        .output()
        .expect("drover-bench runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The last line, checked against
/// `RESULT <name> <metric>=<v><unit> baseline=<v><unit> ratio=<r>`.
fn result_line(text: &str, name: &str) -> Vec<String> {
    let last = text.lines().last().unwrap_or_default();
    let fields: Vec<String> = last.split_whitespace().map(str::to_string).collect();
    assert_eq!(fields.len(), 5, "bad RESULT line {last:?}");
    assert_eq!(fields[0], "RESULT");
    assert_eq!(fields[1], name);
    assert!(fields[3].starts_with("baseline="), "{last}");
    let ratio: f64 = fields[4]
        .strip_prefix("ratio=")
        .and_then(|r| r.parse().ok())
        .expect("ratio is a number");
    assert!(ratio.is_finite() && ratio > 0.0, "{last}");
    fields
}

#[test]
fn plugin_rpc_prints_its_result() {
    let text = run_bench(&["plugin-rpc", "--iterations", "50"]);
    let fields = result_line(&text, "plugin-rpc");
    assert!(
        fields[2].starts_with("p50=") && fields[2].ends_with("us"),
        "{text}"
    );
}

#[test]
fn raw_exec_start_prints_its_result() {
    let text = run_bench(&["raw-exec-start", "--iterations", "5"]);
    let fields = result_line(&text, "raw-exec-start");
    assert!(
        fields[2].starts_with("p50=") && fields[2].ends_with("ms"),
        "{text}"
    );
}

#[test]
fn server_register_prints_its_result() {
    let text = run_bench(&[
        "server-register",
        "--nodes",
        "5",
        "--jobs",
        "40",
        "--clients",
        "4",
    ]);
    assert!(
        text.contains("registrations: POST http://127.0.0.1:"),
        "{text}"
    );
    let fields = result_line(&text, "server-register");
    assert!(
        fields[2].starts_with("rate=") && fields[2].ends_with("jobs/s"),
        "{text}"
    );
}

#[test]
fn submit_to_running_prints_its_result() {
    let text = run_bench(&["submit-to-running", "--jobs", "5"]);
    assert!(text.contains("idle RSS: agent "), "{text}");
    let fields = result_line(&text, "submit-to-running");
    assert!(
        fields[2].starts_with("p50=") && fields[2].ends_with("ms"),
        "{text}"
    );
}
